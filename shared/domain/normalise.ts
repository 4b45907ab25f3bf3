/**
 * Normalisation of names and dates for matching, so that two partners' spellings of the same
 * person compare equal when only case, accents, punctuation or date layout differ.
 */

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/**
 * Apostrophe look-alikes are removed before compatibility decomposition, because NFKD turns the
 * acute accent (U+00B4) into a space and a combining mark, which would split "O´BRIEN"; Greek
 * varia and oxia (U+1FEF, U+1FFD) are the grave and acute accent's canonical equivalents, so one
 * spelling of a name is not split where the other is not. They are removed again after it: NFKD
 * turns ŉ (U+0149) into an apostrophe and n, and that apostrophe would otherwise be removed only
 * when the normalised name was normalised again (firstThree does).
 */
const APOSTROPHES = "'\u2018\u2019\u201B\u0060\u00B4\u1FEF\u1FFD\u02BB\u02BC\u2032\uFF07";
/**
 * Middle dots that join the letters of one word: the Catalan punt volat between two l's
 * ("Gal·la", which a keyboard without the dot gives as "Galla"), the Greek ano teleia U+0387 (the
 * middle dot's canonical equivalent) and the look-alikes typed for it, the hyphenation point
 * U+2027 and the modifier letter U+02D1. Removed as apostrophes are, before NFKD and after it (Ŀ
 * and ŀ, the older Catalan spelling, decompose to L and the dot), so "Gal·la" is "GALLA" as
 * "Galla" is, not the two tokens "GAL LA". Not the katakana middle dot U+30FB (nor its half-width
 * form): it separates the words of a name written in katakana (ジョン・スミス, John Smith), so
 * it stays a space, as other punctuation does.
 */
const MIDDLE_DOTS = '\u00B7\u0387\u2027\u02D1';
/** What is removed without leaving a space: apostrophes and middle dots. */
const JOINING_PUNCTUATION = new RegExp(`[${APOSTROPHES}${MIDDLE_DOTS}]`, 'g');
const HYPHENS = /[-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\uFE63\uFF0D]/g;
/** Soft hyphen, zero-width space and joiner, BOM: invisible, so they separate nothing. */
const INVISIBLE = /\p{Cf}/gu;
/**
 * Marks on letters of the scripts whose marks are accents or optional vowel points: Latin,
 * Greek and Cyrillic accents, Arabic harakat, Hebrew niqqud, which one feed writes and another
 * leaves out. Elsewhere a mark is part of the letter, and is kept: a Devanagari vowel sign
 * (राम is Ram, रमा Rama) or the voicing of a Japanese kana (ゴ is go, コ ko) (found by a review).
 */
const OPTIONAL_MARKS = /([\p{sc=Latin}\p{sc=Greek}\p{sc=Cyrillic}\p{sc=Arabic}\p{sc=Hebrew}])\p{M}+/gu;
/** A mark with no letter before it (the name starts with one, or one follows a space). */
const LOOSE_MARKS = /(^|[^\p{L}\p{M}])\p{M}+/gu;
/** Letters that NFKD leaves whole, mapped to what an English-speaking keyer would type. */
const UNDECOMPOSED_LETTERS = /[ØŁĐÐÆŒÞẞĦŦ]/g;
const UNDECOMPOSED_REPLACEMENT: Readonly<Record<string, string>> = {
  Ø: 'O',
  Ł: 'L',
  Đ: 'D',
  Ð: 'D',
  Æ: 'AE',
  Œ: 'OE',
  Þ: 'TH',
  ẞ: 'SS',
  Ħ: 'H',
  Ŧ: 'T',
};
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{M}\p{N}]+/gu;
/**
 * ASCII letters and digits in single-space-separated words: every step below but upper-casing
 * leaves these unchanged, and most names in partner extracts look like this ("Keith Jones").
 */
const PLAIN_ASCII = /^[A-Za-z0-9]+(?: [A-Za-z0-9]+)*$/;

/**
 * Canonical form of a name for comparison:
 * - compatibility-decomposed (NFKD), accents dropped ("Zoë Brontë" -> "ZOE BRONTE"; see
 *   OPTIONAL_MARKS for which marks are accents), composed again (NFC),
 *   upper-cased, and letters without a decomposition transliterated (Ø -> O, Æ -> AE, ß -> SS);
 * - apostrophes removed, so "O'Brien", "O’Brien" and "OBrien" all become "OBRIEN" — feeds
 *   disagree on whether to keep the apostrophe, less often on whether a space is there ("O Brien"
 *   stays "O BRIEN": family names are compared by {@link familyNameKey}, which joins it); middle
 *   dots too ("Gal·la" and "Galla" both become "GALLA"; see MIDDLE_DOTS);
 * - hyphens (any dash variant) become spaces, so "Smith-Jones" is the two tokens
 *   "SMITH JONES" and matches a feed that dropped the hyphen for a space;
 * - any other punctuation or symbol becomes a space; whitespace is collapsed and trimmed.
 *
 * Letters of every script are kept (a name in Arabic script is not reduced to ""), as are
 * digits. The function is idempotent.
 */
export function normaliseName(input: string): string {
  if (PLAIN_ASCII.test(input)) return input.toUpperCase();
  return input
    .replace(JOINING_PUNCTUATION, '')
    .replace(HYPHENS, ' ')
    .replace(INVISIBLE, '')
    .normalize('NFKD')
    .replace(JOINING_PUNCTUATION, '')
    .toUpperCase()
    .replace(OPTIONAL_MARKS, '$1')
    .replace(LOOSE_MARKS, '$1')
    .replace(UNDECOMPOSED_LETTERS, (c) => UNDECOMPOSED_REPLACEMENT[c] ?? c)
    .replace(NOT_LETTER_OR_DIGIT, ' ')
    .trim()
    .normalize('NFC');
}

/** The normalised name split into its space-separated tokens; [] for a blank name. */
export function nameTokens(input: string): string[] {
  const normal = normaliseName(input);
  return normal === '' ? [] : normal.split(' ');
}

// ---------------------------------------------------------------------------------------------
// Family-name prefixes
// ---------------------------------------------------------------------------------------------

/**
 * Prefixes of a family name that one feed writes joined to the rest and another with a space
 * after: the Irish O and the elided D, whose apostrophe {@link normaliseName} removes ("O'Brien"
 * and "OBrien" are "OBRIEN", "O Brien" is "O BRIEN"; "D'Souza", "D Souza"), and the Gaelic Mc and
 * Mac ("McDonald", "Mc Donald"). None of them is a name by itself, so a space after one is the
 * same name keyed another way, as a dropped apostrophe is. Prefixes that are words of their own
 * are not here: "Van Dyke" and "Vandyke", "Le Roux" and "Leroux", "De Souza" and "Desouza" are
 * each spelt both ways by different families, and the date of birth and first three letters
 * beside the family name in a key would not tell a reviewer's "these are two people" apart from
 * a keying difference. Nor is any other one-letter first word: in a family name it is as likely
 * a stray initial as a prefix.
 */
export const JOINED_PREFIXES: readonly string[] = ['O', 'D', 'MC', 'MAC'];

/**
 * The form two normalised family names are compared by: the name with the space after a leading
 * {@link JOINED_PREFIXES} prefix removed ("O BRIEN" -> "OBRIEN", "MC DONALD SMITH" ->
 * "MCDONALD SMITH"); any other name unchanged. Not what is stored: family_name keeps the
 * normalised name as the feed wrote it (decision and pair keys are made from it), and lookups
 * and linking rules compare this form instead. Idempotent.
 */
export function familyNameKey(normal: string): string {
  const space = normal.indexOf(' ');
  // Prefixes are one to three letters: most names are ruled out without a slice.
  if (space < 1 || space > 3) return normal;
  const first = normal.slice(0, space);
  return JOINED_PREFIXES.includes(first) ? first + normal.slice(space + 1) : normal;
}

/**
 * Every normalised family name whose {@link familyNameKey} is that of `normal`: the key itself,
 * and the key with a space after a prefix it starts with ("OBRIEN" -> OBRIEN, O BRIEN;
 * "MACE" -> MACE, MAC E). At most two (a name starts with at most one of the prefixes), so a
 * search of the stored names by it is at most two index seeks.
 */
export function familyNameSpellings(normal: string): string[] {
  const key = familyNameKey(normal);
  const spellings = [key];
  for (const prefix of JOINED_PREFIXES) {
    // The rest must not start with a space: that name's key would be the name itself.
    if (key.length > prefix.length && key.startsWith(prefix) && key.charCodeAt(prefix.length) !== 32) {
      spellings.push(`${prefix} ${key.slice(prefix.length)}`);
    }
  }
  return spellings;
}

/**
 * {@link familyNameKey} of each name of a column, for a join over millions of records: the column
 * itself when no name changes, which is most batches' every name.
 */
export function familyNameKeyColumn(names: readonly string[]): readonly string[] {
  let keys: string[] | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const key = familyNameKey(name);
    if (key !== name) (keys ??= names.slice())[i] = key;
  }
  return keys ?? names;
}

const LETTER = /\p{L}/u;

/**
 * First three letters of the normalised legal first name, the key the social care / education
 * agreement concatenates with date of birth or postcode and last name. Spaces are skipped, so
 * "Jo-Anne", "Jo Anne" and "JoAnne" all give "JOA". Shorter names give what they have; a name
 * without letters gives "".
 */
export function firstThree(input: string): string {
  let out = '';
  let count = 0;
  // Letters only, marks left out (a Devanagari vowel sign): the key is three characters wide in
  // the store, and the date of birth and last name beside it keep their marks.
  for (const ch of normaliseName(input)) {
    if (!LETTER.test(ch)) continue;
    out += ch;
    if (++count === 3) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Placeholder given names
// ---------------------------------------------------------------------------------------------

/**
 * What systems write in a given-name field for a person whose name they do not have (normalised):
 * "Unknown", "Not known", "TBC", and a newborn's registration before naming — "Baby", "Infant",
 * "Male", "Female", "Baby Boy", "Twin 2", or "Baby of Jane" — each followed by the family name.
 * Two babies born one day to one family name (twins; two unrelated Smiths) are both "Baby Smith":
 * compared as a given name, "BAB" would make them one person, and each one's officer would see
 * the other's records. The cost: a real given name "Baby" (one in use in Kerala) is no matching
 * evidence either, and such a person is found by identifiers, not by names.
 */
const PLACEHOLDER_GIVEN_NAME = new RegExp(
  '^(?:UNKNOWN|NOT KNOWN|N ?K|NOT GIVEN|NOT STATED|NOT RECORDED|UNNAMED|NO NAME|NONE|TBC|TBA|TO BE CONFIRMED' +
    // A newborn's before naming, with a sex and a birth order (Baby Boy, Twin 2, Infant Female B) or none.
    '|(?:BABY|INFANT|NEWBORN|UNBORN|TWIN|TRIPLET|MALE|FEMALE|BOY|GIRL)(?: (?:BABY|INFANT|TWIN|MALE|FEMALE|BOY|GIRL|ONE|TWO|THREE|[0-9]|[A-D]))*' +
    // "Baby of Jane": named by the mother.
    '|(?:BABY|INFANT|NEWBORN|TWIN|CHILD|SON|DAUGHTER) OF(?: .*)?)$',
);

/** Whether a normalised given name is one a system writes for "not known" ({@link PLACEHOLDER_GIVEN_NAME}). */
export function isPlaceholderGivenName(normal: string): boolean {
  return PLACEHOLDER_GIVEN_NAME.test(normal);
}

/**
 * The given name to match on: the normalised name itself, or "" for a placeholder
 * ({@link isPlaceholderGivenName}), which names no one. Every matching entry point treats one as
 * no given name: the import's matching columns (storage-plan.ts), the engine's batches
 * (canonicalise.ts, record.ts) and a lookup's query (person-query.ts).
 */
export function matchingGivenName(normal: string): string {
  return isPlaceholderGivenName(normal) ? '' : normal;
}

// ---------------------------------------------------------------------------------------------
// Given-name variants
// ---------------------------------------------------------------------------------------------

/**
 * Common UK given names with their nicknames and alternative spellings, canonical name first.
 * A nickname may belong to more than one group (ALEX: Alexander and Alexandra); its canonical
 * name is taken from the first group it appears in, and {@link givenNamesEquivalent} considers
 * every group.
 */
const GIVEN_NAME_GROUPS: readonly (readonly string[])[] = [
  ['WILLIAM', 'BILL', 'BILLY', 'BILLIE', 'WILL', 'WILLIE', 'WILLY'],
  ['ROBERT', 'BOB', 'BOBBY', 'ROB', 'ROBBIE', 'ROBBY', 'BERT'],
  ['ELIZABETH', 'LIZ', 'LIZZIE', 'LIZZY', 'BETH', 'BETTY', 'BETSY', 'BESS', 'BESSIE', 'ELIZA', 'LIBBY', 'ELISABETH'],
  ['MARGARET', 'PEGGY', 'MAGGIE', 'MEG', 'MARGE', 'MADGE'],
  ['JAMES', 'JIM', 'JIMMY', 'JIMMIE', 'JAMIE'],
  [
    'CATHERINE',
    'KATE',
    'KATIE',
    'KATY',
    'CATH',
    'CATHY',
    'KATHY',
    'CAT',
    'KATHERINE',
    'KATHRYN',
    'CATHRYN',
    'KATHARINE',
    'KAY',
    'KITTY',
  ],
  ['MICHAEL', 'MIKE', 'MIKEY', 'MICK', 'MICKY', 'MICKEY'],
  ['THOMAS', 'TOM', 'TOMMY', 'TOMMIE'],
  ['DAVID', 'DAVE', 'DAVEY', 'DAVY', 'DAI'],
  ['CHRISTOPHER', 'CHRIS', 'KIT', 'TOPHER'],
  ['CHRISTINE', 'CHRIS', 'CHRISSIE', 'CHRISTINA', 'TINA'],
  ['SAMUEL', 'SAM', 'SAMMY'],
  ['SAMANTHA', 'SAM', 'SAMMY', 'SAMMIE'],
  ['ALEXANDER', 'ALEX', 'ALEC', 'ALEXANDRE', 'SANDY', 'XANDER'],
  ['ALEXANDRA', 'ALEX', 'LEXI', 'LEXIE', 'ALEXA'],
  ['JENNIFER', 'JENNY', 'JEN', 'JENNI', 'JENNIE'],
  ['DANIEL', 'DAN', 'DANNY'],
  ['JOSEPH', 'JOE', 'JOEY'],
  ['BENJAMIN', 'BEN', 'BENNY', 'BENJI'],
  ['NICHOLAS', 'NICK', 'NICKY', 'NICOLAS'],
  ['NICOLA', 'NICKY', 'NIKKI', 'NICOLE'],
  ['HENRY', 'HARRY', 'HAL', 'HANK'],
  ['HAROLD', 'HARRY', 'HAL'],
  ['JOHN', 'JACK', 'JOHNNY', 'JOHNNIE', 'JON'],
  ['JONATHAN', 'JON', 'JONNY', 'JONATHON'],
  ['SUSAN', 'SUE', 'SUSIE', 'SUZY', 'SUZIE', 'SUZANNE', 'SUSANNE'],
  ['DEBORAH', 'DEBBIE', 'DEBBY', 'DEB', 'DEBRA'],
  ['REBECCA', 'BECKY', 'BECCA', 'BEKKI', 'BEX'],
  ['AMANDA', 'MANDY'],
  ['VICTORIA', 'VICKY', 'VICKI', 'VIKKI', 'TORI'],
  ['EDWARD', 'ED', 'EDDIE', 'EDDY', 'TED', 'TEDDY', 'NED'],
  ['THEODORE', 'THEO', 'TED', 'TEDDY'],
  ['ANTHONY', 'TONY', 'ANT', 'ANTONY'],
  ['RICHARD', 'RICK', 'RICKY', 'RICH', 'RICHIE', 'DICK'],
  ['STEPHEN', 'STEVE', 'STEVIE', 'STEVEN'],
  ['PETER', 'PETE'],
  ['ANDREW', 'ANDY', 'DREW'],
  ['MATTHEW', 'MATT', 'MATTY'],
  ['PATRICK', 'PAT', 'PADDY'],
  ['PATRICIA', 'PAT', 'PATSY', 'TRISH', 'TRICIA'],
  ['FREDERICK', 'FRED', 'FREDDIE', 'FREDDY', 'FREDERIC'],
  ['ALFRED', 'ALF', 'ALFIE'],
  ['ALBERT', 'BERT', 'BERTIE', 'AL'],
  ['ARTHUR', 'ART', 'ARTIE'],
  ['CHARLES', 'CHARLIE', 'CHAS', 'CHUCK'],
  ['CHARLOTTE', 'CHARLIE', 'LOTTIE', 'LOTTE'],
  ['GERALD', 'GERRY', 'JERRY'],
  ['LAWRENCE', 'LARRY', 'LAURIE', 'LAURENCE'],
  ['LEONARD', 'LEN', 'LENNY', 'LENNIE'],
  ['RAYMOND', 'RAY'],
  ['RONALD', 'RON', 'RONNIE'],
  ['DONALD', 'DON', 'DONNIE'],
  ['DOUGLAS', 'DOUG', 'DOUGIE'],
  ['GREGORY', 'GREG'],
  ['TIMOTHY', 'TIM', 'TIMMY'],
  ['PHILIP', 'PHIL', 'PHILLIP'],
  ['NATHANIEL', 'NATHAN', 'NATE', 'NAT'],
  ['NATALIE', 'NAT', 'NATTIE', 'NATALIA'],
  ['KENNETH', 'KEN', 'KENNY'],
  ['TERENCE', 'TERRY', 'TERRANCE', 'TERRENCE'],
  ['THERESA', 'TERESA', 'TESS', 'TESSA', 'TERRI'],
  ['MARY', 'MOLLY', 'POLLY', 'MAE'],
  ['ANNE', 'ANN', 'ANNIE', 'ANNA'],
  ['HELEN', 'NELL', 'NELLIE', 'HELENA'],
  ['ELEANOR', 'ELLIE', 'NELL', 'ELEANORE', 'ELINOR'],
  ['DOROTHY', 'DOT', 'DOTTIE', 'DOLLY'],
  ['JACQUELINE', 'JACKIE', 'JACQUI', 'JACKY'],
  ['JOANNE', 'JO', 'JOANNA', 'JOANN'],
  ['JOSEPHINE', 'JO', 'JOSIE'],
  ['GEORGINA', 'GEORGIE', 'GINA'],
  ['FRANCES', 'FRAN', 'FRANNIE'],
  ['FRANCIS', 'FRANK', 'FRANKIE'],
  ['ABIGAIL', 'ABBY', 'ABBIE', 'ABI'],
  ['GABRIELLE', 'GABBY', 'GABRIELLA'],
  ['OLIVIA', 'LIV', 'LIVVY'],
  ['OLIVER', 'OLLIE', 'OLLY'],
  ['ISABEL', 'ISABELLE', 'ISABELLA', 'ISOBEL', 'IZZY', 'IZZIE', 'ISSY', 'BELLA'],
  ['ZACHARY', 'ZACH', 'ZAC', 'ZAK', 'ZACK'],
  ['JOSHUA', 'JOSH'],
  ['MAXIMILIAN', 'MAX'],
  ['PAMELA', 'PAM'],
  ['BARBARA', 'BARB', 'BABS'],
  ['CAROLINE', 'CARO', 'CARRIE', 'CAROLYN'],
  ['GILLIAN', 'GILL', 'JILL', 'GILLY'],
  ['VALERIE', 'VAL'],
  ['WINIFRED', 'WINNIE'],
  ['KIMBERLEY', 'KIM', 'KIMBERLY'],
  ['MUHAMMAD', 'MOHAMMED', 'MOHAMMAD', 'MOHAMED', 'MUHAMMED', 'MOHAMAD', 'MOHD'],
];

/** Normalised name -> indices of the groups it belongs to, in table order. */
const GIVEN_NAME_INDEX: ReadonlyMap<string, readonly number[]> = (() => {
  const index = new Map<string, number[]>();
  GIVEN_NAME_GROUPS.forEach((group, i) => {
    for (const name of group) {
      const groups = index.get(name);
      if (groups === undefined) index.set(name, [i]);
      else if (!groups.includes(i)) groups.push(i);
    }
  });
  return index;
})();

/**
 * The canonical form of one given name: "Bill" -> "WILLIAM", "Katie" -> "CATHERINE". Names not
 * in the table come back normalised ("Zoë" -> "ZOE"). Pass a single name, not a full name.
 */
export function canonicalGivenName(name: string): string {
  const normal = normaliseName(name);
  const groups = GIVEN_NAME_INDEX.get(normal);
  const first = groups?.[0];
  if (first === undefined) return normal;
  return GIVEN_NAME_GROUPS[first]?.[0] ?? normal;
}

/**
 * True when two given names are the same after normalisation or share a nickname group,
 * including the less common reading of an ambiguous nickname ("Alex" ~ "Alexandra").
 */
export function givenNamesEquivalent(a: string, b: string): boolean {
  const na = normaliseName(a);
  const nb = normaliseName(b);
  if (na === nb) return na !== '';
  const ga = GIVEN_NAME_INDEX.get(na);
  const gb = GIVEN_NAME_INDEX.get(nb);
  if (ga === undefined || gb === undefined) return false;
  for (const g of ga) if (gb.includes(g)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

export type DateReason = 'date-missing' | 'date-format' | 'date-calendar';

export type DateResult =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: DateReason };

const ISO_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
/** Day first, as UK feeds write it; one separator used consistently. */
const DAY_FIRST_DATE = /^([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})$/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function isoOf(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * Parses a date written as ISO `YYYY-MM-DD` or day first as `DD/MM/YYYY` or `D/M/YYYY` (also
 * with `-` or `.` as the separator), and returns it as ISO `YYYY-MM-DD`. The date must exist in
 * the proleptic Gregorian calendar: 31/02/2001 and 29/02/1900 are `date-calendar` failures.
 * Two-digit years and month-first layouts are refused rather than guessed at.
 */
export function normaliseDate(input: string): DateResult {
  const s = input.trim();
  if (s === '') return { ok: false, reason: 'date-missing' };
  let year: number;
  let month: number;
  let day: number;
  const iso = ISO_DATE.exec(s);
  if (iso !== null) {
    year = Number(iso[1]);
    month = Number(iso[2]);
    day = Number(iso[3]);
  } else {
    const dayFirst = DAY_FIRST_DATE.exec(s);
    if (dayFirst === null) return { ok: false, reason: 'date-format' };
    day = Number(dayFirst[1]);
    month = Number(dayFirst[3]);
    year = Number(dayFirst[4]);
  }
  if (!isCalendarDate(year, month, day)) return { ok: false, reason: 'date-calendar' };
  return { ok: true, value: isoOf(year, month, day) };
}

/**
 * A date with a midnight time after it, as SQL exports write a date column (`1980-02-03
 * 00:00:00`, `1980-02-03T00:00:00.000Z`, SQL Server's `1980-02-03 00:00:00.0000000`) and a CSV
 * saved from Excel writes a date-time one (`03/02/1980 00:00`): to the minute, second or a
 * fraction of zeros, `Z`, a zero offset or no zone. A zero offset as SQL Server's datetimeoffset
 * writes it (`+00:00`, after a space as text), as `+0000`, or as PostgreSQL's timestamptz in a
 * UTC session does (`+00`): midnight UTC is within the same UK day, summer or winter. Only
 * midnight at offset zero: which day another time (or midnight in another zone) falls on in the
 * UK is not known, so `13:45` and `+01:00` stay `date-format`, as does `T` after a day-first
 * date, which no exporter writes.
 */
const DATE_AT_MIDNIGHT =
  /^([0-9]{4}-[0-9]{2}-[0-9]{2}(?=[T ])|[0-9]{1,2}([/.-])[0-9]{1,2}\2[0-9]{4}(?= ))[T ]00:00(?::00(?:\.0{1,9})?)?(?:Z| ?[+-]00(?::?00)?)?$/;

/**
 * {@link normaliseDate} for an extract's date column, which also reads a date written with a
 * midnight time ({@link DATE_AT_MIDNIGHT}). A date alone is at most ten characters and goes
 * straight to normaliseDate: the rows of an extract that writes dates alone pay one length test.
 * API lookups and the as-of date keep to normaliseDate (the as-of date reads its own times).
 */
export function normaliseDateCell(input: string): DateResult {
  if (input.length > 10) {
    const m = DATE_AT_MIDNIGHT.exec(input.trim());
    if (m !== null) return normaliseDate(m[1]!);
  }
  return normaliseDate(input);
}

/**
 * Why a date of birth that is a real date cannot be one: `date-of-birth-placeholder`, a date
 * systems write for "not known"; `date-of-birth-future`, after the day the extract was taken;
 * `date-of-birth-too-early`, more than {@link OLDEST_AGE_YEARS} years before it.
 */
export type DateOfBirthReason = 'date-of-birth-placeholder' | 'date-of-birth-future' | 'date-of-birth-too-early';

/**
 * Dates that systems write where the date of birth is not known: .NET's minimum date
 * (0001-01-01), what SQL Server makes of an empty string cast to a date and Excel's first day
 * (1900-01-01), an older systems' default (1800-01-01) and the "never" of 9999-12-31. Refused like the
 * all-same-digit NHS placeholders (identifiers.ts, validateNhsNumber), not loaded and merely left
 * unlinked: each is shared by everyone whose date was not known, so linking by date of birth and
 * names would join different people who share it, and an officer shown it would read it as the
 * person's. The agreements make the date of birth required, and a placeholder stands in for an
 * empty cell, which would be refused too (`missing-value`).
 */
const DATE_OF_BIRTH_PLACEHOLDERS: ReadonlySet<string> = new Set([
  '0001-01-01',
  '1800-01-01',
  '1900-01-01',
  '9999-12-31',
]);

/** Whether an ISO date is one a system writes for "not known" ({@link DATE_OF_BIRTH_PLACEHOLDERS}). */
function isPlaceholderDateOfBirth(isoDate: string): boolean {
  return DATE_OF_BIRTH_PLACEHOLDERS.has(isoDate);
}

/** No one verified has lived longer than 122 years: an older date of birth is a typo or a placeholder. */
export const OLDEST_AGE_YEARS = 125;

/** The dates of birth an extract taken on one day may hold, inclusive, as ISO dates. */
export interface DateOfBirthBounds {
  readonly earliest: string;
  readonly latest: string;
}

/**
 * The bounds for an extract taken on `asOf` (ISO): from {@link OLDEST_AGE_YEARS} years before it
 * to the day itself. Taken from the extract's own date rather than the clock, so that the same
 * file loads the same rows whenever it is read (again). Worked out once a file: the check of
 * each row ({@link dateOfBirthProblem}) compares strings, which ISO dates order as days.
 */
export function dateOfBirthBounds(asOf: string): DateOfBirthBounds {
  const year = Math.max(0, Number(asOf.slice(0, 4)) - OLDEST_AGE_YEARS);
  return { earliest: `${String(year).padStart(4, '0')}${asOf.slice(4)}`, latest: asOf };
}

/**
 * Why an ISO date (as {@link normaliseDate} gives it) cannot be the date of birth of someone in
 * an extract with these bounds, or undefined when it can be. The one rule for every format: a
 * CSV's text and a workbook's date cell reach it as the same ISO date.
 */
export function dateOfBirthProblem(isoDate: string, bounds: DateOfBirthBounds): DateOfBirthReason | undefined {
  if (isPlaceholderDateOfBirth(isoDate)) return 'date-of-birth-placeholder';
  if (isoDate > bounds.latest) return 'date-of-birth-future';
  if (isoDate < bounds.earliest) return 'date-of-birth-too-early';
  return undefined;
}

interface DateParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

function isoParts(isoDate: string): DateParts | null {
  const m = ISO_DATE.exec(isoDate);
  if (m === null) return null;
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/**
 * True when two different ISO dates are the same date with day and month swapped, the classic
 * US/UK keying error (2001-03-04 vs 2001-04-03).
 */
export function isDayMonthTransposition(a: string, b: string): boolean {
  if (a === b) return false;
  const pa = isoParts(a);
  const pb = isoParts(b);
  if (pa === null || pb === null) return false;
  return pa.year === pb.year && pa.month === pb.day && pa.day === pb.month;
}

/**
 * Number of character positions at which two ISO dates differ (the separators always agree,
 * so this counts digits): 1 for a single mistyped digit, 2 for most transpositions. Strings of
 * unequal length additionally count each missing position as a difference.
 */
export function digitDifferences(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  let differences = Math.abs(a.length - b.length);
  for (let i = 0; i < shorter; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) differences++;
  return differences;
}

/**
 * The date itself and, when it is a different real date, its day-month transposition: the
 * values a blocking pass should also look under so a swapped date of birth still meets its
 * partner record. Returns [] for a value that is not an ISO date.
 */
export function dateVariants(isoDate: string): string[] {
  const p = isoParts(isoDate);
  if (p === null || !isCalendarDate(p.year, p.month, p.day)) return [];
  const variants = [isoDate];
  if (p.day !== p.month && isCalendarDate(p.year, p.day, p.month)) {
    variants.push(isoOf(p.year, p.day, p.month));
  }
  return variants;
}
