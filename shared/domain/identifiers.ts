/**
 * Validation and canonical forms of the identifiers that partner extracts carry: NHS number,
 * Unique Pupil Number, National Insurance number and postcode.
 *
 * Every validator returns a discriminated result whose failure `reason` is a stable code that
 * never contains the offending value, so it can go into logs and rejection reports as is.
 */

export type IdentifierResult<Reason extends string> =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: Reason };

/** A seeded source of uniform numbers in [0, 1), such as a PRNG's `next`. */
export type RandomSource = () => number;

// ---------------------------------------------------------------------------------------------
// NHS number
// ---------------------------------------------------------------------------------------------

export type NhsNumberReason =
  'nhs-number-missing' | 'nhs-number-format' | 'nhs-number-check-digit' | 'nhs-number-placeholder';

/**
 * What people write between the groups of an NHS or NI number ("943 476 5919", "QQ-12-34-56-C").
 * One set for both: a case system that prints one with hyphens prints the other so too.
 */
const IDENTIFIER_SEPARATORS = /[\s-]/g;
const TEN_DIGITS = /^[0-9]{10}$/;

/**
 * Modulus-11 check digit over the first nine digits (weights 10..2), or -1 when the remainder
 * yields 10: such a nine-digit stem is never issued, so no tenth digit makes it valid.
 */
function nhsCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (digits.charCodeAt(i) - 48) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return -1;
  return check;
}

/**
 * Validates an NHS number, accepting spaces and hyphens as separators ("943 476 5919",
 * "943-476-5919"); the canonical form is the ten bare digits.
 *
 * Ten identical digits (0000000000, 1111111111, ...) all pass the modulus-11 check — the weights
 * sum to 54 ≡ -1 (mod 11), so the check digit of ddddddddd is d — yet they are the placeholders
 * that feeds put in an empty NHS number field. Linking on them would join unrelated people, so
 * they are rejected with their own reason, `nhs-number-placeholder`.
 */
export function validateNhsNumber(input: string): IdentifierResult<NhsNumberReason> {
  const compact = input.replace(IDENTIFIER_SEPARATORS, '');
  if (compact.length === 0) return { ok: false, reason: 'nhs-number-missing' };
  if (!TEN_DIGITS.test(compact)) return { ok: false, reason: 'nhs-number-format' };
  if (nhsCheckDigit(compact) !== compact.charCodeAt(9) - 48) {
    return { ok: false, reason: 'nhs-number-check-digit' };
  }
  if (isAllSameCharacter(compact)) return { ok: false, reason: 'nhs-number-placeholder' };
  return { ok: true, value: compact };
}

function isAllSameCharacter(s: string): boolean {
  const first = s.charCodeAt(0);
  for (let i = 1; i < s.length; i++) if (s.charCodeAt(i) !== first) return false;
  return true;
}

export interface GenerateNhsNumberOptions {
  /**
   * Draw from 999 000 0000–999 999 9999, the range NHS England reserves for testing, so
   * synthetic records can never carry a real person's number. The range holds roughly 900,000
   * valid numbers, so large synthetic sets will repeat some; callers needing uniqueness dedupe.
   */
  readonly testRange?: boolean;
}

/** A valid NHS number (canonical ten digits) drawn from `rng`. */
export function generateNhsNumber(rng: RandomSource, options: GenerateNhsNumberOptions = {}): string {
  for (;;) {
    let stem = options.testRange === true ? '999' : '';
    while (stem.length < 9) stem += String(randomInt(rng, 10));
    const check = nhsCheckDigit(stem);
    if (check < 0) continue;
    const candidate = stem + String(check);
    if (!isAllSameCharacter(candidate)) return candidate;
  }
}

// ---------------------------------------------------------------------------------------------
// Unique Pupil Number (DfE)
// ---------------------------------------------------------------------------------------------

export type UpnReason = 'upn-missing' | 'upn-format' | 'upn-check-letter';

/**
 * The DfE check-letter alphabet: A–Z without I, O and S. Index = value, both for the check
 * letter (sum mod 23) and for the letter that ends a temporary UPN.
 */
const UPN_LETTERS = 'ABCDEFGHJKLMNPQRTUVWXYZ';

/**
 * Check letter, 3-digit LA number, 4-digit establishment number, 2-digit year, then either a
 * 3-digit serial (permanent) or a 2-digit serial and a letter (temporary).
 */
const UPN_SHAPE = /^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$/;
const WHITESPACE = /\s/g;

function upnLetterValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  return UPN_LETTERS.indexOf(String.fromCharCode(code));
}

/**
 * DfE algorithm ("Unique Pupil Numbers: guidance", UPN_Guide_1.2): characters 2..13 times
 * weights 2..13, summed, mod 23, mapped through {@link UPN_LETTERS}. `body` is characters 2..13.
 */
function upnCheckLetter(body: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += upnLetterValue(body.charCodeAt(i)) * (i + 2);
  return UPN_LETTERS.charAt(sum % 23);
}

/**
 * Validates a UPN, permanent or temporary. Whitespace is removed and letters upper-cased; the
 * canonical form is the 13 characters. The LA number is not checked against the list of
 * authorities: that list changes with reorganisations, and the check letter already catches
 * mistyped digits.
 */
export function validateUpn(input: string): IdentifierResult<UpnReason> {
  const compact = input.replace(WHITESPACE, '').toUpperCase();
  if (compact.length === 0) return { ok: false, reason: 'upn-missing' };
  if (!UPN_SHAPE.test(compact)) return { ok: false, reason: 'upn-format' };
  if (upnCheckLetter(compact.slice(1)) !== compact.charAt(0)) {
    return { ok: false, reason: 'upn-check-letter' };
  }
  return { ok: true, value: compact };
}

/** True when a valid canonical UPN is a temporary one (ends in a letter). */
export function isTemporaryUpn(canonical: string): boolean {
  const last = canonical.charCodeAt(canonical.length - 1);
  return last >= 65 && last <= 90;
}

/**
 * Why a valid UPN is no evidence of who anyone is, or undefined for one that is.
 *
 * `upn-temporary`: a school issues a temporary UPN while a pupil's permanent one is unknown, and
 * the DfE reissues its numbers (Common Basic Data Set): the same temporary UPN may name another
 * child at another school, or next year.
 *
 * `upn-placeholder`: twelve identical digits after the check letter (A000000000000,
 * F999999999999) pass the check, as ten identical NHS digits do, and are what a system puts in a
 * UPN field it must fill; no authority is numbered 000 or 999. Not refused as the NHS ones are:
 * whether such a row should load is the DPO's to say; it loads and is linked on nothing.
 */
export function upnNotMatched(canonical: string): 'upn-temporary' | 'upn-placeholder' | undefined {
  if (isTemporaryUpn(canonical)) return 'upn-temporary';
  if (isAllSameCharacter(canonical.slice(1))) return 'upn-placeholder';
  return undefined;
}

/**
 * The UPN to match and link on: the canonical UPN itself, or null for one that is no evidence of
 * who anyone is ({@link upnNotMatched}). Every matching entry point treats one as no UPN: the
 * import's identifiers (row-preparation.ts), the engine's batches (canonicalise.ts) and a
 * lookup's query (person-query.ts).
 */
export function matchingUpn(canonical: string): string | null {
  return upnNotMatched(canonical) === undefined ? canonical : null;
}

export interface GenerateUpnOptions {
  /** Three-digit LA number to issue under, e.g. "886" for Kent. Random when omitted. */
  readonly laNumber?: string;
  /** Issue a temporary UPN (2-digit serial plus a letter). */
  readonly temporary?: boolean;
}

/** A valid UPN (canonical 13 characters) drawn from `rng`. */
export function generateUpn(rng: RandomSource, options: GenerateUpnOptions = {}): string {
  const la = options.laNumber ?? randomDigits(rng, 3);
  if (!/^[0-9]{3}$/.test(la)) throw new RangeError('generateUpn: laNumber must be three digits');
  let body = la + randomDigits(rng, 4) + randomDigits(rng, 2);
  body +=
    options.temporary === true
      ? randomDigits(rng, 2) + UPN_LETTERS.charAt(randomInt(rng, UPN_LETTERS.length))
      : randomDigits(rng, 3);
  return upnCheckLetter(body) + body;
}

// ---------------------------------------------------------------------------------------------
// National Insurance number
// ---------------------------------------------------------------------------------------------

export type NiNumberReason = 'ni-number-missing' | 'ni-number-format' | 'ni-number-prefix';

export type NiNumberSuffix = 'A' | 'B' | 'C' | 'D';

export type NiNumberResult =
  | { readonly ok: true; readonly value: string; readonly suffix: NiNumberSuffix | null }
  | { readonly ok: false; readonly reason: NiNumberReason };

const NI_SHAPE = /^([A-Z])([A-Z])([0-9]{6})([A-D]?)$/;
const NI_FIRST_LETTER_DISALLOWED = 'DFIQUV';
const NI_SECOND_LETTER_DISALLOWED = 'DFIOQUV';
/**
 * Never allocated (HMRC NIM39110), and two of HMRC's "administrative numbers", which look like
 * NINOs but are not (NIM39110: they "do not use valid prefixes") and name no one person: TN was
 * the temporary number, TN + date of birth + M/F, and an NC number is a pension scheme's dummy
 * made the same way, NC + six digits from the date of birth + m/f; PP999999P is the pension
 * schemes' placeholder. With the suffix dropped, as several feeds do, every person born on one
 * day would share one NC number and everyone without a NINO one PP number: linking on them would
 * join unrelated people, as the all-same-digit NHS placeholders would.
 *
 * The other administrative prefixes are accepted. OO (tax credits) and FY (Attendance Allowance)
 * already break the letter rules; CR, MW, PY and PZ are references HMRC gave one account each
 * (investigations, migrant workers 1980–87, tax-only accounts), so they join no two people, and
 * refusing them would refuse the whole row that holds one.
 */
const NI_UNALLOCATED_PREFIXES: ReadonlySet<string> = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ', 'NC', 'PP']);

function isAllocatableNiPrefix(first: string, second: string): boolean {
  return (
    !NI_FIRST_LETTER_DISALLOWED.includes(first) &&
    !NI_SECOND_LETTER_DISALLOWED.includes(second) &&
    !NI_UNALLOCATED_PREFIXES.has(first + second)
  );
}

/**
 * Validates a National Insurance number: two prefix letters, six digits, and a suffix A–D.
 * Spaces and hyphens are removed, as in an NHS number ("QQ 12 34 56 C", "QQ-12-34-56-C"), and
 * letters upper-cased.
 *
 * The suffix may be missing: several feeds drop it, and it does not distinguish people (the
 * prefix and digits are unique on their own). So the canonical `value` — the form to compare
 * and pseudonymise — is the eight characters WITHOUT the suffix, which lets a record with the
 * suffix link to one without. The suffix, when present, is returned separately.
 */
export function validateNiNumber(input: string): NiNumberResult {
  const compact = input.replace(IDENTIFIER_SEPARATORS, '').toUpperCase();
  if (compact.length === 0) return { ok: false, reason: 'ni-number-missing' };
  const m = NI_SHAPE.exec(compact);
  if (m === null) return { ok: false, reason: 'ni-number-format' };
  const [, first = '', second = '', digits = '', suffix = ''] = m;
  if (!isAllocatableNiPrefix(first, second)) return { ok: false, reason: 'ni-number-prefix' };
  return {
    ok: true,
    value: first + second + digits,
    suffix: suffix === '' ? null : (suffix as NiNumberSuffix),
  };
}

const NI_FIRST_LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => !NI_FIRST_LETTER_DISALLOWED.includes(c));
const NI_SECOND_LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => !NI_SECOND_LETTER_DISALLOWED.includes(c));

/**
 * A valid NI number as a feed would carry it: nine characters, suffix included (e.g.
 * "JG103759A"). Validating it yields the eight-character canonical value.
 */
export function generateNiNumber(rng: RandomSource): string {
  for (;;) {
    const first = NI_FIRST_LETTERS[randomInt(rng, NI_FIRST_LETTERS.length)] ?? 'A';
    const second = NI_SECOND_LETTERS[randomInt(rng, NI_SECOND_LETTERS.length)] ?? 'A';
    if (!isAllocatableNiPrefix(first, second)) continue;
    return first + second + randomDigits(rng, 6) + 'ABCD'.charAt(randomInt(rng, 4));
  }
}

// ---------------------------------------------------------------------------------------------
// Postcode
// ---------------------------------------------------------------------------------------------

export type PostcodeReason = 'postcode-missing' | 'postcode-format';

/**
 * The standard UK pattern with its positional letter rules: outward A9, A99, AA9, AA99, A9A or
 * AA9A (first letter not Q V X; second not I J Z; a letter third in A9A from ABCDEFGHJKPSTUW;
 * a letter fourth in AA9A from ABEHMNPRVWXY); inward 9AA without C I K M O V. Plus GIR 0AA.
 */
const POSTCODE_SHAPE = new RegExp(
  '^(?:GIR 0AA|' +
    '(?:[A-PR-UWYZ][0-9][0-9]?' +
    '|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?' +
    '|[A-PR-UWYZ][0-9][A-HJKPSTUW]' +
    '|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2})$',
);

/**
 * British Forces Post Office numbers, one to four digits without leading zeros ("BFPO 61", "BFPO
 * 5439"): the postcode line of a service family's address abroad, which a family moving into
 * council housing brings with them (the Armed Forces Covenant). Canonical as "BFPO" and the
 * number, one space between. The BF1 postcodes BFPO gives the same addresses are of the UK layout
 * and pass {@link POSTCODE_SHAPE}; no table here turns one form into the other.
 */
const BFPO = /^BFPO([1-9][0-9]{0,3})$/;

/**
 * The UK overseas territories whose one postcode is of the UK layout (Royal Mail's form: four
 * letters, then 1ZZ), each a whole territory's: Falklands, South Georgia, Ascension, St Helena,
 * Tristan da Cunha, British Indian Ocean Territory, British Antarctic Territory, Pitcairn, Turks
 * and Caicos. A closed list, not a pattern: four letters and 1ZZ is no postcode otherwise.
 * Gibraltar's GX11 1AA already is one (POSTCODE_SHAPE). The territories whose codes are of
 * another layout (Cayman KY1-1001, Anguilla AI-2640, Bermuda, Montserrat, the Virgin Islands)
 * are refused, as any other country's are.
 */
const OVERSEAS_TERRITORY_POSTCODES: ReadonlySet<string> = new Set([
  'FIQQ 1ZZ',
  'SIQQ 1ZZ',
  'ASCN 1ZZ',
  'STHL 1ZZ',
  'TDCU 1ZZ',
  'BBND 1ZZ',
  'BIQQ 1ZZ',
  'PCRN 1ZZ',
  'TKCA 1ZZ',
]);

/**
 * The NHS pseudo-postcodes (NHS Data Dictionary, Postcode of Usual Address), which NHS and social
 * care systems record where a person has no postcode: ZZ99 3VZ no fixed abode, ZZ99 3WZ address
 * not known, and ZZ99 3CZ England/UK, ZZ99 3GZ Wales, ZZ99 1WZ Scotland, ZZ99 2WZ Northern
 * Ireland, each "not otherwise specified". Refusing them refused the row of every homeless person
 * an extract holds, the people the ISA's indicators and Housing First are about.
 *
 * An overseas visitor's is the pseudo-postcode of their country: the dictionary gives its shape,
 * ZZ99, a space, then a digit, a letter and Z (ZZ99 6CZ is India; the NHS Postcode Directory
 * lists about 130). The six above are of that shape too, so it is the shape that is accepted,
 * not a list: ZZ is no postcode area otherwise, so nothing of the shape is a real postcode, and
 * lintel holds no copy of the directory. Refused as `postcode-format` before (a first list held
 * only the six), the row of everyone living abroad was rejected, and a small file of them whole.
 *
 * A pseudo-postcode is kept and shown as the source wrote it, but it places no one: everyone of
 * no fixed abode shares ZZ99 3VZ, everyone living in India ZZ99 6CZ, so two John Smiths holding
 * one are no more one person than any two John Smiths. It is never matched, blocked or searched
 * on ({@link isPseudoPostcode}).
 */
const NHS_PSEUDO_POSTCODE = /^ZZ99 [0-9][A-Z]Z$/;

/**
 * Whether a canonical postcode is an NHS pseudo-postcode ({@link NHS_PSEUDO_POSTCODE}): a value
 * to show, never to match on. Every matching entry point treats one as no postcode: the import's
 * matching column (storage-plan.ts), the engine's batches (canonicalise.ts, record.ts) and a
 * lookup's query (person-query.ts); the blocking keys below are null for one.
 */
export function isPseudoPostcode(canonical: string): boolean {
  return NHS_PSEUDO_POSTCODE.test(canonical);
}

/**
 * Validates a postcode and returns it canonical: upper case, all whitespace removed, then one
 * space before the three-character inward code ("sw1a1aa" -> "SW1A 1AA"). One hyphen may stand
 * where the space goes ("SW1A-1AA", as some systems write it), nowhere else. Letters are never
 * swapped for look-alike digits (O/0, I/1): that would invent a different address.
 *
 * Accepted besides the UK layout ({@link POSTCODE_SHAPE}): BFPO numbers ("BFPO 1234", see
 * {@link BFPO}), the overseas territories' codes of the UK layout ("FIQQ 1ZZ", see
 * {@link OVERSEAS_TERRITORY_POSTCODES}) and the NHS pseudo-postcodes ("ZZ99 3VZ", see
 * {@link NHS_PSEUDO_POSTCODE}; valid to keep, never to match on). Everything else is refused
 * (`postcode-format`). The longest canonical form is nine characters ("BFPO 5439"; migration
 * 0031 widens the columns).
 */
export function validatePostcode(input: string): IdentifierResult<PostcodeReason> {
  const upper = input.toUpperCase();
  const hyphen = upper.indexOf('-');
  if (hyphen !== -1 && upper.indexOf('-', hyphen + 1) !== -1) return { ok: false, reason: 'postcode-format' };
  const compact = upper.replace(WHITESPACE, '').replace('-', '');
  if (compact.length === 0) return { ok: false, reason: 'postcode-missing' };
  const canonical = canonicalPostcode(compact);
  if (canonical === null) return { ok: false, reason: 'postcode-format' };
  // The hyphen, if any, stood where the space now does: between the two parts, not inside one.
  if (hyphen !== -1 && upper.slice(0, hyphen).replace(WHITESPACE, '') !== canonical.slice(0, canonical.indexOf(' '))) {
    return { ok: false, reason: 'postcode-format' };
  }
  return { ok: true, value: canonical };
}

/** The canonical form of a postcode written without spaces, or null when it is none. */
function canonicalPostcode(compact: string): string | null {
  const bfpo = BFPO.exec(compact);
  if (bfpo !== null) return `BFPO ${bfpo[1]!}`;
  if (compact.length < 5 || compact.length > 7) return null;
  const canonical = `${compact.slice(0, -3)} ${compact.slice(-3)}`;
  return POSTCODE_SHAPE.test(canonical) ||
    OVERSEAS_TERRITORY_POSTCODES.has(canonical) ||
    NHS_PSEUDO_POSTCODE.test(canonical)
    ? canonical
    : null;
}

/** Whether a canonical postcode is a BFPO number. */
function isBfpo(canonical: string): boolean {
  return canonical.startsWith('BFPO ');
}

/** The BF postcode area, which BFPO gives its numbers in the UK layout ("BF1 3AA"), and nothing else. */
const FORCES_POSTCODE_AREA = /^BF[0-9]/;

/**
 * Whether a canonical postcode is a forces one: a BFPO number ("BFPO 61") or a BF1 postcode. It
 * names a posting (a unit, a base, a ship), which hundreds of unrelated service people and their
 * families share, and every one of them moves on: two John Smiths at BFPO 61 are no more one
 * person than any two John Smiths, as two at ZZ99 3VZ are not. Kept and shown as the source wrote
 * it, never matched or searched on ({@link matchingPostcode}).
 */
export function isForcesPostcode(canonical: string): boolean {
  return isBfpo(canonical) || FORCES_POSTCODE_AREA.test(canonical);
}

/**
 * The postcode to match and block on: the canonical postcode itself, or null for one that places
 * no one, a pseudo-postcode ({@link isPseudoPostcode}), which says where nobody lives, or a forces
 * postcode ({@link isForcesPostcode}), which many unrelated people share.
 */
export function matchingPostcode(canonical: string): string | null {
  return NHS_PSEUDO_POSTCODE.test(canonical) || isForcesPostcode(canonical) ? null : canonical;
}

/**
 * The last two words of an address, or the last one: where a UK address ends in its postcode
 * (one hyphen may stand for the space), or a forces address in its BFPO number.
 */
const ADDRESS_TAIL = /(?:^|[\s,])([A-Za-z0-9]{2,4}\s*-?\s*[0-9][A-Za-z]{2}|BFPO\s*[0-9]{1,4})[\s,.]*$/i;

/**
 * The postcode an address ends with ("12 Elm Road, Kettering NN16 8AB" -> "NN16 8AB"), canonical;
 * null when it ends with none. Only the end is read: a postcode-like word inside a street name
 * is not taken for one.
 */
export function postcodeAtEndOf(address: string): string | null {
  const tail = ADDRESS_TAIL.exec(address);
  if (tail === null) return null;
  const result = validatePostcode(tail[1]!);
  return result.ok ? result.value : null;
}

/*
 * The blocking keys below are coarser groupings of a postcode, each null for an invalid one and
 * for a pseudo-postcode: ZZ99 3VZ's sector would put every person of no fixed abode in one block,
 * and its "district" ZZ99 every pseudo-postcode's holder. A BFPO number names a posting (a unit,
 * a ship, an embassy), not a place, and its digits group nothing: each key of one is the whole
 * BFPO number, so two BFPO numbers never share a sector or district (read as "BFPO" and the
 * digits, every service family abroad would share one). No record's matching postcode is a forces
 * one ({@link matchingPostcode}), so these keys of one group no records. An overseas territory's code is its own
 * outward code and district: its last letter is no sub-district's.
 */

/** Outward code ("SW1A 1AA" -> "SW1A"), or null when the input is not a valid postcode. */
export function postcodeOutward(input: string): string | null {
  const result = validatePostcode(input);
  if (!result.ok || isPseudoPostcode(result.value)) return null;
  if (isBfpo(result.value)) return result.value;
  return result.value.slice(0, result.value.indexOf(' '));
}

/** Sector, the outward code and the inward digit ("SW1A 1AA" -> "SW1A 1"), or null. */
export function postcodeSector(input: string): string | null {
  const result = validatePostcode(input);
  if (!result.ok || isPseudoPostcode(result.value)) return null;
  if (isBfpo(result.value)) return result.value;
  return result.value.slice(0, -2);
}

/**
 * District: the outward code without the sub-district letter of A9A / AA9A forms
 * ("SW1A 1AA" -> "SW1", "ME1 1AA" -> "ME1"), so it is a coarser blocking key than the outward
 * code wherever sub-districts exist. Null when the input is not a valid postcode.
 */
export function postcodeDistrict(input: string): string | null {
  const outward = postcodeOutward(input);
  if (outward === null) return null;
  // A sub-district letter follows a digit (A9A, AA9A); GIR and the territories' codes end in
  // letters that follow letters.
  const last = outward.charCodeAt(outward.length - 1);
  const beforeLast = outward.charCodeAt(outward.length - 2);
  const subDistrict = last >= 65 && last <= 90 && beforeLast >= 48 && beforeLast <= 57;
  return subDistrict ? outward.slice(0, -1) : outward;
}

/** Area, the leading letters ("SW1A 1AA" -> "SW"), or null when not a valid postcode. */
export function postcodeArea(input: string): string | null {
  const outward = postcodeOutward(input);
  if (outward === null) return null;
  if (isBfpo(outward)) return outward;
  const m = /^[A-Z]+/.exec(outward);
  return m === null ? null : m[0];
}

// ---------------------------------------------------------------------------------------------
// Identifiers inside free text
// ---------------------------------------------------------------------------------------------

/**
 * A separator an identifier may be written with inside a reference: any the evidence reference's
 * own characters allow (`943.476.5919`, `JG-10-37-59-A` are still the identifiers; found by a
 * review), at most one between two groups.
 */
const SEP = '[ ._:/-]?';
/** Where an NHS number could stand: ten digits, bare or as 3-3-4 with separators, no digit either side. */
const NHS_IN_TEXT = new RegExp(`(?<![0-9])[0-9]{3}${SEP}[0-9]{3}${SEP}[0-9]{4}(?![0-9])`, 'g');
/**
 * Where a UPN could stand: a letter, eleven digits, a digit or letter, no digit either side.
 * Written whole, it may run on from a word ("upnB801200005001"); written with separators, its
 * letter must start a word ("upn:B.8012.0000.5001"). Otherwise a word's last letter and the
 * digits of a date and serial after it, separators skipped, read as one whenever that letter was
 * their check letter, one reference in 23 ("form-20260129-0029" as M202601290029): an officer
 * was refused an ordinary reference (found by a defect hunt). The check letter alone cannot tell
 * the two apart; nobody writes a UPN's digits apart yet its letter joined to a word.
 */
const UPN_IN_TEXT = new RegExp(
  `(?<![0-9])[A-Za-z][0-9]{11}[0-9A-Za-z](?![0-9])|(?<![0-9A-Za-z])[A-Za-z](?:${SEP}[0-9]){11}${SEP}[0-9A-Za-z](?![0-9])`,
  'g',
);
/**
 * Where an NI number could stand: two letters and six digits, in pairs or not (a suffix adds
 * nothing), no digit before them, nor a longer number running on after them, separated or not.
 * Otherwise a reference filed by its date read as one, the last two letters of a word and the
 * first six digits of the date ("form-2026-11-30" as RM202611), and an officer was refused an
 * ordinary reference (found by a defect hunt).
 */
const NI_IN_TEXT = new RegExp(`(?<![0-9])[A-Za-z]{2}(?:${SEP}[0-9]{2}){3}(?!${SEP}[0-9])`, 'g');
const SEPARATORS = /[ ._:/-]/g;

/**
 * Whether `text` holds a valid NHS number, UPN or NI number, alone or within it ("NHS:943…",
 * "REF-JG103759A"). For fields that must not carry one — a reference kept for good, say — where
 * an identifier would be personal data no erasure reaches. Only values the validators accept
 * count (check digit, check letter, allocatable prefix), so an ordinary reference number is
 * refused only if it is, by chance, also a valid identifier.
 */
export function containsNationalIdentifier(text: string): boolean {
  const any = (pattern: RegExp, valid: (candidate: string) => boolean) =>
    [...text.matchAll(pattern)].some((match) => valid(match[0].replace(SEPARATORS, '')));
  return (
    any(NHS_IN_TEXT, (c) => validateNhsNumber(c).ok) ||
    any(UPN_IN_TEXT, (c) => validateUpn(c).ok) ||
    any(NI_IN_TEXT, (c) => validateNiNumber(c).ok)
  );
}

/**
 * Whether `text` holds `value` (a system id as a caller sent it, case aside) standing on its own:
 * no letter or digit either side, so "HO-1" is not found in "photo-12". A value with fewer than
 * four letters and digits is never found: too short to tell from an ordinary reference's parts.
 */
export function containsIdValue(text: string, value: string): boolean {
  const id = value.trim().toLowerCase();
  if (id.replace(/[^0-9a-z]/g, '').length < 4) return false;
  const haystack = text.toLowerCase();
  for (let at = haystack.indexOf(id); at !== -1; at = haystack.indexOf(id, at + 1)) {
    const before = haystack[at - 1];
    const after = haystack[at + id.length];
    if (!(before && /[0-9a-z]/.test(before)) && !(after && /[0-9a-z]/.test(after))) return true;
  }
  return false;
}

/**
 * Whether `text` holds the date `isoDate` (YYYY-MM-DD), year first or day first, its parts bare or
 * with one separator between them (`1985-01-02`, `19850102`, `02/01/1985`), no digit either side.
 */
export function containsDate(text: string, isoDate: string): boolean {
  const [year, month, day] = isoDate.split('-');
  const yearFirst = `${year}${SEP}${month}${SEP}${day}`;
  const dayFirst = `${day}${SEP}${month}${SEP}${year}`;
  return new RegExp(`(?<![0-9])(?:${yearFirst}|${dayFirst})(?![0-9])`).test(text);
}

/**
 * Whether `text` holds the postcode `canonical` (`DY1 4AA`, as validatePostcode gives it), case
 * aside, its two parts bare or with one separator between them, no letter or digit either side.
 */
export function containsPostcode(text: string, canonical: string): boolean {
  const [outward, inward] = canonical.split(' ');
  return new RegExp(`(?<![0-9A-Za-z])${outward}${SEP}${inward}(?![0-9A-Za-z])`, 'i').test(text);
}

// ---------------------------------------------------------------------------------------------

/** An integer in [0, n), robust to a source that (wrongly) returns exactly 1. */
function randomInt(rng: RandomSource, n: number): number {
  const i = Math.floor(rng() * n);
  return i >= n ? n - 1 : i < 0 ? 0 : i;
}

function randomDigits(rng: RandomSource, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(randomInt(rng, 10));
  return out;
}
