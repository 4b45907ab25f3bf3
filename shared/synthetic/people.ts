/**
 * A seeded synthetic population of UK people living in households: names with realistic
 * frequency skew, dates of birth, addresses with valid-format postcodes shared by neighbours,
 * and the identifiers partners hold (NHS number, UPN for the school-age, NI number from 16,
 * social-care and education system ids for those known to those services).
 *
 * Families make it realistic where linkage is hard: couples and children share a surname and
 * a postcode, twins share a date of birth, a son may carry his father's given name, a married
 * woman may be recorded under her former surname. The population is held column by column
 * (typed arrays and shared table strings), so a million people cost tens of megabytes and a
 * second or two.
 */

import { generateNhsNumber, generateNiNumber, generateUpn } from '../domain/identifiers.js';
import type { RandomSource } from '../domain/identifiers.js';
import { COMMON_FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, TAIL_FAMILY_NAME_PARTS } from './name-tables.js';
import type { GivenNameEntry } from './name-tables.js';
import { INWARD_LETTERS, POSTCODE_AREAS, STREET_STEMS, STREET_TYPES, SUB_DISTRICT_OUTWARDS } from './place-tables.js';
import { SeededRandom, WeightedSampler } from './random.js';

export const MALE = 0;
export const FEMALE = 1;

export interface PostcodeDirectory {
  readonly postcode: readonly string[];
  /** Postcode district ("ME14"; "EC1" for "EC1A 1BB"), for moves within a district. */
  readonly district: readonly string[];
  readonly street: readonly string[];
  /** Street with an abbreviated type ("CHURCH RD"), as some feeds key it. */
  readonly streetAbbreviated: readonly string[];
  readonly town: readonly string[];
  /** Postcode indices per district. */
  readonly byDistrict: ReadonlyMap<string, readonly number[]>;
}

export interface Population {
  readonly seed: number | string;
  readonly size: number;
  /** Ages are taken on this date (ISO); fixed so that a seed always gives the same people. */
  readonly referenceDate: string;
  readonly sex: Uint8Array;
  /** Legal given name, upper case. */
  readonly givenName: readonly string[];
  /** Informal forms of each person's given name (shared arrays from the name table). */
  readonly nicknames: readonly (readonly string[])[];
  /** Legal family name as a partner would type it (may hold an apostrophe or a space). */
  readonly familyName: readonly string[];
  /** A surname the person was previously known by (maiden name), or "". */
  readonly formerFamilyName: readonly string[];
  /** Date of birth in days since 1970-01-01. */
  readonly dobDay: Int32Array;
  readonly household: Int32Array;
  /** Per household: index into `postcodes` and house number. */
  readonly householdPostcode: Int32Array;
  readonly householdNumber: Int32Array;
  readonly postcodes: PostcodeDirectory;
  /** Identifiers, "" where the person has none. */
  readonly nhsNumber: readonly string[];
  readonly upn: readonly string[];
  readonly niNumber: readonly string[];
  readonly socialCareId: readonly string[];
  readonly educationId: readonly string[];
}

export interface PopulationOptions {
  readonly seed: number | string;
  readonly size: number;
  /** Default 2025-01-01. */
  readonly referenceDate?: string;
}

const DAY_MS = 86_400_000;

const dayCache = new Map<string, number>();

export function dayOfIsoDate(iso: string): number {
  let day = dayCache.get(iso);
  if (day === undefined) {
    day = Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
    if (dayCache.size < 1_000) dayCache.set(iso, day);
  }
  return day;
}

/**
 * Year, month and day of a day number (days since 1970-01-01) by Hinnant's civil-from-days,
 * packed as yyyymmdd: integer arithmetic only, because populations convert millions of dates.
 */
export function civilOfDay(day: number): number {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 10_000 + m * 100 + d;
}

/** Day numbers from 1800 to 2199 cover every synthetic date; each string is built once. */
const ISO_CACHE_OFFSET = 62_000;
const isoCache: (string | undefined)[] = [];

/** ISO date of a day number (days since 1970-01-01). */
export function isoDateOfDay(day: number): string {
  const slot = day + ISO_CACHE_OFFSET;
  const cached = slot >= 0 && slot < 2 * ISO_CACHE_OFFSET ? isoCache[slot] : undefined;
  if (cached !== undefined) return cached;
  const c = civilOfDay(day);
  const iso = `${String(Math.floor(c / 10_000)).padStart(4, '0')}-${String(Math.floor(c / 100) % 100).padStart(2, '0')}-${String(c % 100).padStart(2, '0')}`;
  if (slot >= 0 && slot < 2 * ISO_CACHE_OFFSET) isoCache[slot] = iso;
  return iso;
}

/** Stable person id of population index i, as the truth tables name people. */
export function personId(index: number): string {
  return `P${index}`;
}

/** Age in whole years of person i on the population's reference date. */
export function ageOf(population: Population, index: number): number {
  return ageInYears(population.dobDay[index] ?? 0, dayOfIsoDate(population.referenceDate));
}

function ageInYears(dobDay: number, onDay: number): number {
  const dob = civilOfDay(dobDay);
  const on = civilOfDay(onDay);
  return Math.floor(on / 10_000) - Math.floor(dob / 10_000) - (on % 10_000 < dob % 10_000 ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Tables prepared once
// ---------------------------------------------------------------------------------------------

interface FamilyNameTable {
  readonly names: readonly string[];
  readonly sampler: WeightedSampler;
}

let familyNameTable: FamilyNameTable | undefined;

/**
 * The common names with their weights, then the tail of stem+ending compounds sharing the
 * remaining three quarters of the population, decaying with the rank of their parts.
 */
export function familyNames(): FamilyNameTable {
  if (familyNameTable !== undefined) return familyNameTable;
  const names: string[] = [];
  const weights: number[] = [];
  const seen = new Set<string>();
  let commonTotal = 0;
  for (const [name, weight] of COMMON_FAMILY_NAMES) {
    names.push(name);
    weights.push(weight);
    seen.add(name);
    commonTotal += weight;
  }
  const tailNames: string[] = [];
  const tailWeights: number[] = [];
  let tailTotal = 0;
  TAIL_FAMILY_NAME_PARTS.stems.forEach((stem, s) => {
    TAIL_FAMILY_NAME_PARTS.endings.forEach((ending, e) => {
      const name = stem + ending;
      if (seen.has(name)) return;
      seen.add(name);
      const weight = 1 / (1 + 0.04 * s) / (1 + 0.08 * e);
      tailNames.push(name);
      tailWeights.push(weight);
      tailTotal += weight;
    });
  });
  // The common table is weighted per 100,000 people; the tail takes what it leaves.
  const tailShare = 100_000 - commonTotal;
  tailNames.forEach((name, k) => {
    names.push(name);
    weights.push(((tailWeights[k] ?? 0) / tailTotal) * tailShare);
  });
  familyNameTable = { names, sampler: new WeightedSampler(weights) };
  return familyNameTable;
}

const maleSampler = new WeightedSampler(MALE_GIVEN_NAMES.map((n) => n.weight));
const femaleSampler = new WeightedSampler(FEMALE_GIVEN_NAMES.map((n) => n.weight));

function drawGiven(rng: SeededRandom, sex: number): GivenNameEntry {
  return sex === MALE
    ? (MALE_GIVEN_NAMES[maleSampler.draw(rng)] as GivenNameEntry)
    : (FEMALE_GIVEN_NAMES[femaleSampler.draw(rng)] as GivenNameEntry);
}

/** About fourteen households share a postcode unit, as in real delivery points per postcode. */
const HOUSEHOLDS_PER_POSTCODE = 14;

function buildPostcodes(rng: SeededRandom, count: number): PostcodeDirectory {
  const outwards: { outward: string; district: string; town: string }[] = [];
  const weights: number[] = [];
  for (const area of POSTCODE_AREAS) {
    for (const d of area.districts) {
      outwards.push({ outward: `${area.area}${d}`, district: `${area.area}${d}`, town: area.town });
      weights.push(area.weight / area.districts.length);
    }
  }
  for (const [outward, town, weight] of SUB_DISTRICT_OUTWARDS) {
    outwards.push({ outward, district: outward.slice(0, -1), town });
    weights.push(weight);
  }
  const sampler = new WeightedSampler(weights);
  const postcode: string[] = [];
  const district: string[] = [];
  const street: string[] = [];
  const streetAbbreviated: string[] = [];
  const town: string[] = [];
  const byDistrict = new Map<string, number[]>();
  const seen = new Set<string>();
  while (postcode.length < count) {
    const o = outwards[sampler.draw(rng)] as { outward: string; district: string; town: string };
    const pc = `${o.outward} ${rng.int(10)}${INWARD_LETTERS.charAt(rng.int(INWARD_LETTERS.length))}${INWARD_LETTERS.charAt(rng.int(INWARD_LETTERS.length))}`;
    if (seen.has(pc)) continue;
    seen.add(pc);
    const index = postcode.length;
    postcode.push(pc);
    district.push(o.district);
    const stem = rng.pick(STREET_STEMS);
    const [type, abbreviation] = rng.pick(STREET_TYPES);
    street.push(`${stem} ${type}`);
    streetAbbreviated.push(`${stem} ${abbreviation}`);
    town.push(o.town);
    let list = byDistrict.get(o.district);
    if (list === undefined) byDistrict.set(o.district, (list = []));
    list.push(index);
  }
  return { postcode, district, street, streetAbbreviated, town, byDistrict };
}

/**
 * Feeds generateNhsNumber the digits of a scrambled counter, so every draw is a fresh stem and
 * the numbers are unique without a set of those issued. Stems start with 9: NHS England's test
 * numbers start 999 and no range starting 9 is issued to patients, so no synthetic record
 * carries a real person's number. (The 999 test range alone holds too few for a million.)
 */
class UniqueNhsNumbers {
  #counter: number;
  #digits = '';
  #position = 0;
  readonly #source: RandomSource = () => {
    if (this.#position >= this.#digits.length) {
      // 48271 is coprime to 10^8, so the counter maps one-to-one onto eight-digit tails.
      const tail = (this.#counter++ * 48271 + 12345) % 100_000_000;
      this.#digits = `9${String(tail).padStart(8, '0')}`;
      this.#position = 0;
    }
    const digit = this.#digits.charCodeAt(this.#position++) - 48;
    return (digit + 0.5) / 10;
  };

  constructor(start: number) {
    this.#counter = start;
  }

  next(): string {
    return generateNhsNumber(this.#source);
  }
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/** Kent's LA number for most pupils; the rest moved in from neighbouring authorities. */
const UPN_LA_NUMBERS = ['886', '886', '886', '886', '887', '305', '210', '211'];

export function generatePopulation(options: PopulationOptions): Population {
  const size = options.size;
  if (!Number.isInteger(size) || size < 1) throw new RangeError('generatePopulation: size must be a positive integer');
  const referenceDate = options.referenceDate ?? '2025-01-01';
  const today = dayOfIsoDate(referenceDate);
  const rng = new SeededRandom(options.seed);
  const idRng = rng.fork('identifiers');
  const family = familyNames();

  const sex = new Uint8Array(size);
  const givenName = new Array<string>(size);
  const nicknames = new Array<readonly string[]>(size);
  const familyName = new Array<string>(size);
  const formerFamilyName = new Array<string>(size).fill('');
  const dobDay = new Int32Array(size);
  const household = new Int32Array(size);
  const maxHouseholds = size;
  const householdPostcodeAll = new Int32Array(maxHouseholds);
  const householdNumberAll = new Int32Array(maxHouseholds);

  const postcodes = buildPostcodes(rng.fork('postcodes'), Math.ceil(size / 2.3 / HOUSEHOLDS_PER_POSTCODE) + 1);
  const nextNumber = new Int32Array(postcodes.postcode.length);

  let n = 0;
  let households = 0;
  const YEAR = 365.2425;

  const addPerson = (s: number, given: GivenNameEntry, surname: string, dob: number, h: number): number => {
    const i = n++;
    sex[i] = s;
    givenName[i] = given.name;
    nicknames[i] = given.nicknames;
    familyName[i] = surname;
    dobDay[i] = dob;
    household[i] = h;
    return i;
  };
  const dobForAge = (years: number): number => today - Math.floor(years * YEAR) - rng.int(365) - 1;

  while (n < size) {
    const h = households++;
    const pc = rng.int(postcodes.postcode.length);
    householdPostcodeAll[h] = pc;
    householdNumberAll[h] = 1 + 2 * (nextNumber[pc] as number) + rng.int(2);
    nextNumber[pc] = (nextNumber[pc] as number) + 1;

    const kind = rng.next();
    const surname = family.names[family.sampler.draw(rng)] as string;
    // Adult ages: working-age heavy, thinning into old age.
    const firstAge = 18 + Math.floor(Math.min(rng.next(), rng.next() * 1.3) * 74);
    if (kind < 0.3) {
      const s = rng.chance(0.5) ? MALE : FEMALE;
      addPerson(s, drawGiven(rng, s), surname, dobForAge(firstAge), h);
      continue;
    }
    const single = kind >= 0.85;
    let father: GivenNameEntry | null = null;
    let motherAge = firstAge;
    let householdSurname = surname;
    if (single) {
      // Single parents: mostly mothers.
      const s = rng.chance(0.85) ? FEMALE : MALE;
      const given = drawGiven(rng, s);
      if (s === MALE) father = given;
      motherAge = 20 + rng.int(30);
      addPerson(s, given, surname, dobForAge(motherAge), h);
    } else {
      father = drawGiven(rng, MALE);
      addPerson(MALE, father, surname, dobForAge(firstAge), h);
      motherAge = Math.max(18, firstAge + Math.round((rng.next() - 0.7) * 8));
      if (n >= size) break;
      const maiden = family.names[family.sampler.draw(rng)] as string;
      const taken = rng.next();
      // Most married women here share the household surname; some kept their own.
      const own = taken < 0.75 ? surname : maiden;
      const m = addPerson(FEMALE, drawGiven(rng, FEMALE), own, dobForAge(motherAge), h);
      if (taken < 0.75 && maiden !== surname) formerFamilyName[m] = maiden;
      if (own !== surname && rng.chance(0.3)) householdSurname = own;
    }
    if (kind < 0.55) continue;
    const children = 1 + Math.min(rng.int(3), rng.int(4));
    let namedAfterFather = false;
    for (let c = 0; c < children && n < size; c++) {
      const maxAge = Math.min(17, motherAge - 18);
      if (maxAge < 0) break;
      const age = rng.int(maxAge + 1);
      const s = rng.chance(0.51) ? MALE : FEMALE;
      let given = drawGiven(rng, s);
      if (s === MALE && father !== null && !namedAfterFather && rng.chance(0.03)) {
        given = father;
        namedAfterFather = true;
      }
      const dob = dobForAge(age);
      addPerson(s, given, householdSurname, dob, h);
      if (n < size && rng.chance(0.016)) {
        const ts = rng.chance(0.5) ? s : 1 - s;
        addPerson(ts, drawGiven(rng, ts), householdSurname, dob, h);
      }
    }
  }

  // Identifiers, in a separate stream so that changing their rules leaves the people as they are.
  const nhsNumber = new Array<string>(size);
  const upn = new Array<string>(size);
  const niNumber = new Array<string>(size);
  const socialCareId = new Array<string>(size);
  const educationId = new Array<string>(size);
  const nhs = new UniqueNhsNumbers(idRng.int(1_000_000));
  const upnSeen = new Set<string>();
  const niSeen = new Set<string>();
  const idSource = idRng.source;
  const socialCareStart = idRng.int(1_000_000);
  const educationStart = idRng.int(1_000_000);
  let socialCareCount = 0;
  let educationCount = 0;
  for (let i = 0; i < size; i++) {
    const age = ageInYears(dobDay[i] as number, today);
    nhsNumber[i] = idRng.chance(0.97) ? nhs.next() : '';
    let u = '';
    if (age >= 3 && age <= 24) {
      const la = UPN_LA_NUMBERS[idRng.int(UPN_LA_NUMBERS.length)] as string;
      do u = generateUpn(idSource, { laNumber: la });
      while (upnSeen.has(u));
      upnSeen.add(u);
    }
    upn[i] = u;
    let ni = '';
    if (age >= 16 && idRng.chance(0.98)) {
      do ni = generateNiNumber(idSource);
      while (niSeen.has(ni.slice(0, 8)));
      niSeen.add(ni.slice(0, 8));
    }
    niNumber[i] = ni;
    const knownToSocialCare = idRng.chance(age < 18 ? 0.08 : age < 65 ? 0.04 : 0.15);
    // Mosaic-style person ids: seven digits, scrambled so they do not sort by population order.
    socialCareId[i] = knownToSocialCare
      ? String(1_000_000 + (((socialCareStart + socialCareCount++) * 7919) % 9_000_000))
      : '';
    educationId[i] =
      age >= 2 && age <= 24 && idRng.chance(0.9)
        ? String(10_000_000 + (((educationStart + educationCount++) * 104_729) % 90_000_000))
        : '';
  }

  return {
    seed: options.seed,
    size,
    referenceDate,
    sex,
    givenName,
    nicknames,
    familyName,
    formerFamilyName,
    dobDay,
    household,
    householdPostcode: householdPostcodeAll.slice(0, households),
    householdNumber: householdNumberAll.slice(0, households),
    postcodes,
    nhsNumber,
    upn,
    niNumber,
    socialCareId,
    educationId,
  };
}
