/**
 * Partner extracts derived from one synthetic population: each source holds some of the people,
 * keyed in its own way and with its own errors, and the truth (record -> person) is known. This
 * is what the linkage engine is measured on.
 */

import type { RawRecordColumns } from '../matching/canonicalise.js';
import { ERROR_PROFILES, RECORD_ERROR } from './error-profiles.js';
import type { ErrorProfile, ErrorProfileName } from './error-profiles.js';
import { ageOf, familyNames, generatePopulation, isoDateOfDay, personId } from './people.js';
import type { Population } from './people.js';
import { SeededRandom } from './random.js';

type SystemField = 'socialCareId' | 'educationId';

export interface SourceSpec {
  readonly sourceId: string;
  /** Share of records that hold each identifier when the person has one (before errors). */
  readonly identifiers: { readonly nhs: number; readonly upn: number; readonly ni: number };
  /** System ids the source holds, from which population field, for what share of records. */
  readonly systems: readonly { readonly system: string; readonly field: SystemField; readonly share: number }[];
  readonly dateFormat: 'iso' | 'day-first';
  /**
   * Identifiers the source's own system will not save a record without (the agreement marks the
   * field required): every record of a person who has one holds it, whatever the error
   * profile's share of missing identifiers.
   */
  readonly requiredIdentifiers?: readonly ('nhs' | 'upn' | 'ni')[];
}

export const HOUSING_REGISTER: SourceSpec = {
  sourceId: 'housing',
  identifiers: { nhs: 0.6, upn: 0.4, ni: 0.9 },
  systems: [{ system: 'mosaic', field: 'socialCareId', share: 0.5 }],
  dateFormat: 'day-first',
};

export const SOCIAL_CARE: SourceSpec = {
  sourceId: 'social-care',
  identifiers: { nhs: 0.95, upn: 0.8, ni: 0.6 },
  systems: [
    { system: 'mosaic', field: 'socialCareId', share: 1 },
    { system: 'capita-one', field: 'educationId', share: 0.3 },
  ],
  dateFormat: 'iso',
};

export const EDUCATION: SourceSpec = {
  sourceId: 'education',
  identifiers: { nhs: 0.4, upn: 1, ni: 0.2 },
  systems: [
    { system: 'capita-one', field: 'educationId', share: 1 },
    { system: 'mosaic', field: 'socialCareId', share: 0.2 },
  ],
  dateFormat: 'iso',
};

/** One source's raw records plus the truth: the population index each record describes. */
export interface SourceRecords extends RawRecordColumns {
  readonly personIndex: Int32Array;
  /** {@link RECORD_ERROR} bits per record. */
  readonly errors: Uint16Array;
}

export function resolveProfile(profile: ErrorProfileName | ErrorProfile): ErrorProfile {
  return typeof profile === 'string' ? ERROR_PROFILES[profile] : profile;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Neighbouring keys on a UK QWERTY keyboard: most substitution slips hit one of these. */
const KEY_NEIGHBOURS: Readonly<Record<string, string>> = {
  A: 'QSZ',
  B: 'VGHN',
  C: 'XDFV',
  D: 'SERFCX',
  E: 'WSDR',
  F: 'DRTGVC',
  G: 'FTYHBV',
  H: 'GYUJNB',
  I: 'UJKO',
  J: 'HUIKMN',
  K: 'JIOLM',
  L: 'KOP',
  M: 'NJK',
  N: 'BHJM',
  O: 'IKLP',
  P: 'OL',
  Q: 'WA',
  R: 'EDFT',
  S: 'AWEDXZ',
  T: 'RFGY',
  U: 'YHJI',
  V: 'CFGB',
  W: 'QASE',
  X: 'ZSDC',
  Y: 'TGHU',
  Z: 'ASX',
};

/** One keying slip: substitution (usually a neighbouring key), deletion, doubling or swap. */
function typo(rng: SeededRandom, name: string): string {
  if (name.length < 2) return name;
  const at = rng.int(name.length);
  const ch = name.charAt(at);
  const kind = rng.int(4);
  if (kind === 0) {
    const neighbours = KEY_NEIGHBOURS[ch];
    const replacement =
      neighbours !== undefined && rng.chance(0.7)
        ? neighbours.charAt(rng.int(neighbours.length))
        : LETTERS.charAt(rng.int(26));
    return name.slice(0, at) + replacement + name.slice(at + 1);
  }
  if (kind === 1 && name.length > 3) return name.slice(0, at) + name.slice(at + 1);
  if (kind === 2) return name.slice(0, at) + ch + name.slice(at);
  const k = Math.min(at, name.length - 2);
  return name.slice(0, k) + name.charAt(k + 1) + name.charAt(k) + name.slice(k + 2);
}

function titleCase(name: string): string {
  return name.toLowerCase().replace(/(^|[\s'-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
}

const DAY_MS = 86_400_000;

/** A day–month swap of the date when it makes another real date, else null. */
function transposedDay(day: number): number | null {
  const d = new Date(day * DAY_MS);
  const dd = d.getUTCDate();
  const mm = d.getUTCMonth() + 1;
  if (dd === mm || dd > 12) return null;
  return Math.floor(Date.UTC(d.getUTCFullYear(), dd - 1, mm) / DAY_MS);
}

/** The date with one digit of its ISO form changed, still a real date, or null. */
function oneDigitOff(rng: SeededRandom, day: number): number | null {
  const iso = isoDateOfDay(day);
  for (let attempt = 0; attempt < 6; attempt++) {
    const positions = [2, 3, 5, 6, 8, 9];
    const at = positions[rng.int(positions.length)] as number;
    const digit = String.fromCharCode(48 + rng.int(10));
    if (digit === iso.charAt(at)) continue;
    const candidate = iso.slice(0, at) + digit + iso.slice(at + 1);
    const parsed = Date.parse(`${candidate}T00:00:00Z`);
    if (Number.isNaN(parsed) || new Date(parsed).toISOString().slice(0, 10) !== candidate) continue;
    return Math.floor(parsed / DAY_MS);
  }
  return null;
}

const dayFirstCache = new Map<number, string>();

export function formatDate(day: number, format: SourceSpec['dateFormat']): string {
  const iso = isoDateOfDay(day);
  if (format === 'iso') return iso;
  let dayFirst = dayFirstCache.get(day);
  if (dayFirst === undefined) {
    dayFirst = `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
    dayFirstCache.set(day, dayFirst);
  }
  return dayFirst;
}

function formatPostcode(rng: SeededRandom, postcode: string): string {
  const r = rng.next();
  if (r < 0.85) return postcode;
  if (r < 0.95) return postcode.replace(' ', '');
  return postcode.toLowerCase();
}

/** A different valid-looking identifier of the same shape: one character changed. */
function mistype(rng: SeededRandom, value: string): string {
  const at = 2 + rng.int(value.length - 3);
  const c = value.charCodeAt(at);
  if (c < 48 || c > 57) return value;
  const digit = (c - 48 + 1 + rng.int(9)) % 10;
  return value.slice(0, at) + String(digit) + value.slice(at + 1);
}

/**
 * Derives one source's records for the given members (population indices), in a shuffled
 * order, applying `profile`'s errors.
 */
export function deriveSource(
  population: Population,
  spec: SourceSpec,
  members: Int32Array,
  profile: ErrorProfileName | ErrorProfile,
  seed: number | string,
): SourceRecords {
  const p = resolveProfile(profile);
  const rng = new SeededRandom(`${String(seed)}:${spec.sourceId}`);
  const size = members.length;
  // People are visited in population order, which keeps reads of the population's columns
  // sequential, and each record is written to a shuffled position, so that a source's row
  // order says nothing about who is who.
  const order = Int32Array.from(members).sort();
  const position = new Int32Array(size);
  for (let k = 0; k < size; k++) position[k] = k;
  for (let k = size - 1; k > 0; k--) {
    const m = rng.int(k + 1);
    const t = position[k] as number;
    position[k] = position[m] as number;
    position[m] = t;
  }
  const personIndex = new Int32Array(size);
  const family = familyNames();
  const pcs = population.postcodes;
  const recordId = new Array<string>(size);
  const givenName = new Array<string>(size);
  const familyName = new Array<string>(size);
  const dob = new Array<string>(size);
  const postcode = new Array<string>(size);
  const address = new Array<string>(size);
  const nhsNumber = new Array<string>(size);
  const upn = new Array<string>(size);
  const niNumber = new Array<string>(size);
  const systemColumns = spec.systems.map(() => new Array<string>(size));
  const errors = new Uint16Array(size);
  const keep = 1 - p.missingIdentifier;
  // Household members share one address string rather than each building their own.
  const addresses = new Map<number, string>();
  const householdAddress = (h: number): string => {
    let a = addresses.get(h);
    if (a === undefined) {
      a = `${population.householdNumber[h] as number} ${pcs.street[population.householdPostcode[h] as number] as string}`;
      addresses.set(h, a);
    }
    return a;
  };
  const shareOf = (kind: 'nhs' | 'upn' | 'ni'): number =>
    spec.requiredIdentifiers?.includes(kind) ? 1 : spec.identifiers[kind] * keep;
  let mistyped = false;
  const carried = (value: string, share: number, canMistype: boolean): string => {
    if (value === '' || !rng.chance(share)) return '';
    if (canMistype && rng.chance(p.mistypedIdentifier)) {
      mistyped = true;
      return mistype(rng, value);
    }
    return value;
  };

  for (let visit = 0; visit < size; visit++) {
    const i = order[visit] as number;
    const k = position[visit] as number;
    let flags = 0;
    personIndex[k] = i;

    let given = population.givenName[i] as string;
    const nicknames = population.nicknames[i] as readonly string[];
    if (nicknames.length > 0 && rng.chance(p.nickname)) {
      given = nicknames[rng.int(nicknames.length)] as string;
      flags |= RECORD_ERROR.nickname;
    }
    let surname = population.familyName[i] as string;
    const former = population.formerFamilyName[i] as string;
    if (former !== '' && rng.chance(p.formerSurname)) {
      surname = rng.chance(0.6) ? former : rng.chance(0.5) ? `${former}-${surname}` : `${surname}-${former}`;
      flags |= RECORD_ERROR.formerSurname;
    } else if (rng.chance(p.surnameChange) && ageOf(population, i) >= 18) {
      surname = family.names[family.sampler.draw(rng)] as string;
      flags |= RECORD_ERROR.surnameChange;
    }
    if (rng.chance(p.typo)) {
      given = typo(rng, given);
      flags |= RECORD_ERROR.givenTypo;
    }
    if (rng.chance(p.typo)) {
      surname = typo(rng, surname);
      flags |= RECORD_ERROR.familyTypo;
    }
    if (rng.chance(p.nameSwap)) {
      const t = given;
      given = surname;
      surname = t;
      flags |= RECORD_ERROR.nameSwap;
    }
    if (rng.chance(0.1)) {
      given = titleCase(given);
      surname = titleCase(surname);
    }
    givenName[k] = given;
    familyName[k] = surname;

    let day = population.dobDay[i] as number;
    if (rng.chance(p.dobTransposed)) {
      const t = transposedDay(day);
      if (t !== null) {
        day = t;
        flags |= RECORD_ERROR.dobTransposed;
      }
    }
    if (rng.chance(p.dobDigit)) {
      const t = oneDigitOff(rng, day);
      if (t !== null) {
        day = t;
        flags |= RECORD_ERROR.dobDigit;
      }
    }
    if (rng.chance(p.dobMissing)) {
      dob[k] = '';
      flags |= RECORD_ERROR.dobMissing;
    } else {
      dob[k] = formatDate(day, spec.dateFormat);
    }

    const h = population.household[i] as number;
    let pc = population.householdPostcode[h] as number;
    let houseNumber = population.householdNumber[h] as number;
    if (rng.chance(p.moved)) {
      const nearby = rng.chance(0.6) ? pcs.byDistrict.get(pcs.district[pc] as string) : undefined;
      pc =
        nearby !== undefined && nearby.length > 1
          ? (nearby[rng.int(nearby.length)] as number)
          : rng.int(pcs.postcode.length);
      houseNumber = 1 + rng.int(60);
      flags |= RECORD_ERROR.moved;
    }
    if (rng.chance(p.postcodeMissing)) {
      postcode[k] = '';
      flags |= RECORD_ERROR.postcodeMissing;
    } else {
      postcode[k] = formatPostcode(rng, pcs.postcode[pc] as string);
    }
    if (rng.chance(p.addressVariant)) {
      address[k] = rng.chance(0.5)
        ? `${houseNumber} ${pcs.streetAbbreviated[pc] as string}`
        : (pcs.street[pc] as string);
      flags |= RECORD_ERROR.addressVariant;
    } else if (pc === population.householdPostcode[h]) {
      address[k] = householdAddress(h);
    } else {
      address[k] = `${houseNumber} ${pcs.street[pc] as string}`;
    }

    mistyped = false;
    nhsNumber[k] = carried(population.nhsNumber[i] as string, shareOf('nhs'), true);
    upn[k] = carried(population.upn[i] as string, shareOf('upn'), true);
    niNumber[k] = carried(population.niNumber[i] as string, shareOf('ni'), true);
    for (let c = 0; c < spec.systems.length; c++) {
      const s = spec.systems[c] as SourceSpec['systems'][number];
      (systemColumns[c] as string[])[k] = carried(population[s.field][i] as string, s.share * keep, false);
    }
    errors[k] = mistyped ? flags | RECORD_ERROR.identifierMistyped : flags;
  }

  for (let k = 0; k < size; k++) recordId[k] = `${spec.sourceId}-${k + 1}`;
  const systemIds = new Map<string, readonly string[]>();
  spec.systems.forEach((s, c) => systemIds.set(s.system, systemColumns[c] as string[]));
  return {
    sourceId: spec.sourceId,
    size,
    recordId,
    givenName,
    familyName,
    dob,
    postcode,
    address,
    nhsNumber,
    upn,
    niNumber,
    systemIds,
    personIndex,
    errors,
  };
}

export interface LinkageScenarioOptions {
  readonly seed: number | string;
  readonly profile: ErrorProfileName | ErrorProfile;
  readonly leftSize: number;
  /** Default: leftSize. */
  readonly rightSize?: number;
  /** Share of the smaller source's people also in the other source (default 0.8). */
  readonly overlap?: number;
  /** People in neither source, as a share of those in either (default 0.1): namesakes, family. */
  readonly bystanders?: number;
  readonly left?: SourceSpec;
  readonly right?: SourceSpec;
}

export interface LinkageScenario {
  readonly population: Population;
  readonly left: SourceRecords;
  readonly right: SourceRecords;
  /** Number of people in both sources: the true pairs. */
  readonly sharedPeople: number;
}

/**
 * A population and two sources drawn from it (housing register and social care by default)
 * with exactly the requested sizes, the requested overlap and everyone else a bystander.
 */
export function generateLinkageScenario(options: LinkageScenarioOptions): LinkageScenario {
  const leftSize = options.leftSize;
  const rightSize = options.rightSize ?? leftSize;
  const overlap = options.overlap ?? 0.8;
  const shared = Math.round(Math.min(leftSize, rightSize) * overlap);
  const inEither = leftSize + rightSize - shared;
  const size = Math.ceil(inEither * (1 + (options.bystanders ?? 0.1)));
  const population = generatePopulation({ seed: options.seed, size });
  const rng = new SeededRandom(`${String(options.seed)}:membership`);
  const everyone = new Int32Array(size);
  for (let i = 0; i < size; i++) everyone[i] = i;
  for (let k = 0; k < inEither; k++) {
    const m = k + rng.int(size - k);
    const t = everyone[k] as number;
    everyone[k] = everyone[m] as number;
    everyone[m] = t;
  }
  const leftMembers = new Int32Array(leftSize);
  const rightMembers = new Int32Array(rightSize);
  leftMembers.set(everyone.subarray(0, leftSize));
  rightMembers.set(everyone.subarray(0, shared));
  rightMembers.set(everyone.subarray(leftSize, leftSize + rightSize - shared), shared);
  const left = deriveSource(population, options.left ?? HOUSING_REGISTER, leftMembers, options.profile, options.seed);
  const right = deriveSource(population, options.right ?? SOCIAL_CARE, rightMembers, options.profile, options.seed);
  return { population, left, right, sharedPeople: shared };
}

/** The truth as record id -> person id, e.g. to write a truth CSV. */
export function truthOf(source: SourceRecords): Map<string, string> {
  const truth = new Map<string, string>();
  for (let k = 0; k < source.size; k++)
    truth.set(source.recordId[k] as string, personId(source.personIndex[k] as number));
  return truth;
}
