/**
 * Comparison vectors for the probabilistic tier: each pair of records is reduced to one level
 * per field (exact, close, far, missing...), and the five levels are packed into a single
 * pattern number so that a million pairs become a histogram of a few thousand patterns, which
 * is all that Fellegi–Sunter estimation and scoring need.
 */

import { postcodeDistrict, postcodeSector } from '../domain/identifiers.js';
import { digitDifferences, familyNameKey, givenNamesEquivalent, isDayMonthTransposition } from '../domain/normalise.js';
import type { RecordBatch } from './record.js';
import { jaroWinkler } from './similarity.js';

/**
 * Postcode and address are one field, "location": a shared address nearly always means a
 * shared postcode, and counting the two as independent evidence doubles the weight of living
 * together — enough to present a person's sibling or parent as a match.
 */
export const FIELDS = ['given-name', 'family-name', 'dob', 'location'] as const;
export type ComparisonField = (typeof FIELDS)[number];

/** Level names per field, most similar first; a further level, {@link MISSING}, means "unknown". */
export const LEVELS: Readonly<Record<ComparisonField, readonly string[]>> = {
  'given-name': ['exact', 'nickname', 'jaro-winkler>=0.92', 'jaro-winkler>=0.8', 'different'],
  'family-name': ['exact', 'jaro-winkler>=0.92', 'shares-a-name', 'jaro-winkler>=0.8', 'different'],
  dob: ['exact', 'day-month-transposed', 'one-digit', 'different'],
  location: ['same-address', 'same-postcode', 'same-sector', 'same-district', 'different'],
};

export const FIELD_COUNT = FIELDS.length;
/** Every field's levels fit in 0..5; 6 is the radix of the packed pattern. */
export const MISSING = 5;
export const RADIX = 6;
export const PATTERN_COUNT = RADIX ** FIELD_COUNT;

export const GIVEN = 0;
export const FAMILY = 1;
export const DOB = 2;
export const LOCATION = 3;

/**
 * Per-record values the comparisons need, derived once per batch rather than once per pair.
 * Names are interned to ids shared by both sides, so that the level of a pair of names — the
 * costly part, a Jaro–Winkler — is computed once per distinct pair of names and then looked up:
 * a few hundred given names and a few thousand surnames recur across millions of pairs.
 */
export interface ComparisonColumns {
  readonly given: readonly string[];
  readonly family: readonly string[];
  readonly givenId: Int32Array;
  readonly familyId: Int32Array;
  readonly dob: readonly string[];
  readonly postcode: readonly string[];
  readonly sector: readonly string[];
  readonly district: readonly string[];
  readonly address: readonly string[];
  readonly names: NameLevelCache;
}

/**
 * A direct-mapped memo of name-pair levels: 2^20 slots keyed by the two name ids, a colliding
 * pair simply overwriting the slot. Lookups are two typed-array reads, which is what makes the
 * memo cheaper than the Jaro–Winkler it saves.
 */
class PairLevelMemo {
  static readonly #SIZE = 1 << 20;
  readonly #a = new Int32Array(PairLevelMemo.#SIZE).fill(-1);
  readonly #b = new Int32Array(PairLevelMemo.#SIZE);
  readonly #level = new Uint8Array(PairLevelMemo.#SIZE);

  static slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) >>> 12;
  }

  /** The memoised level, or -1. */
  get(slot: number, a: number, b: number): number {
    return this.#a[slot] === a && this.#b[slot] === b ? (this.#level[slot] as number) : -1;
  }

  set(slot: number, a: number, b: number, level: number): number {
    this.#a[slot] = a;
    this.#b[slot] = b;
    this.#level[slot] = level;
    return level;
  }
}

/** Interned names and memoised name-pair levels, shared by the two sides of a comparison. */
export class NameLevelCache {
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [];
  readonly #given = new PairLevelMemo();
  readonly #family = new PairLevelMemo();

  intern(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#names.length;
      this.#ids.set(name, id);
      this.#names.push(name);
    }
    return id;
  }

  given(a: number, b: number): number {
    const slot = PairLevelMemo.slot(a, b);
    const level = this.#given.get(slot, a, b);
    if (level >= 0) return level;
    return this.#given.set(slot, a, b, givenNameLevel(this.#names[a] as string, this.#names[b] as string));
  }

  family(a: number, b: number): number {
    const slot = PairLevelMemo.slot(a, b);
    const level = this.#family.get(slot, a, b);
    if (level >= 0) return level;
    return this.#family.set(slot, a, b, familyNameLevel(this.#names[a] as string, this.#names[b] as string));
  }
}

/** Comparison columns of both sides, names interned in one shared cache. */
export function comparisonColumns(left: RecordBatch, right: RecordBatch): [ComparisonColumns, ComparisonColumns] {
  const names = new NameLevelCache();
  return [columnsOf(left, names), columnsOf(right, names)];
}

function columnsOf(batch: RecordBatch, names: NameLevelCache): ComparisonColumns {
  const sector = new Array<string>(batch.size);
  const district = new Array<string>(batch.size);
  const givenId = new Int32Array(batch.size);
  const familyId = new Int32Array(batch.size);
  for (let i = 0; i < batch.size; i++) {
    const pc = batch.postcode[i] as string;
    // From the canonical postcode, not its characters: a BFPO number's sector is the number whole.
    sector[i] = pc === '' ? '' : (postcodeSector(pc) ?? '');
    district[i] = pc === '' ? '' : (postcodeDistrict(pc) ?? '');
    givenId[i] = names.intern(batch.givenName[i] as string);
    familyId[i] = names.intern(batch.familyName[i] as string);
  }
  return {
    given: batch.givenName,
    family: batch.familyName,
    givenId,
    familyId,
    dob: batch.dob,
    postcode: batch.postcode,
    sector,
    district,
    address: batch.address,
    names,
  };
}

export function givenNameLevel(a: string, b: string): number {
  if (a === '' || b === '') return MISSING;
  if (a === b) return 0;
  if (givenNamesEquivalent(a, b)) return 1;
  const jw = jaroWinkler(a, b);
  return jw >= 0.92 ? 2 : jw >= 0.8 ? 3 : 4;
}

/** True when one multi-part name contains a whole part of the other (SMITH JONES ~ JONES). */
function sharesNamePart(a: string, b: string): boolean {
  if (a.indexOf(' ') < 0 && b.indexOf(' ') < 0) return false;
  const partsA = a.split(' ');
  const partsB = b.split(' ');
  for (const p of partsA) if (p.length > 1 && partsB.includes(p)) return true;
  return false;
}

/**
 * Exact when the two names are one {@link familyNameKey} ("O BRIEN" and "OBRIEN", "MC DONALD"
 * and "MCDONALD"), as the linking rules and a lookup by names compare them: a space after the
 * prefix is a keying difference, as a dropped apostrophe is, and scored as a near spelling it
 * ranked a source's "O Brien" below its "OBrien" of the same person. Otherwise by the names as
 * stored, so "O BRIEN" still shares a name with "BRIEN".
 */
export function familyNameLevel(a: string, b: string): number {
  if (a === '' || b === '') return MISSING;
  if (a === b || familyNameKey(a) === familyNameKey(b)) return 0;
  const jw = jaroWinkler(a, b);
  if (jw >= 0.92) return 1;
  if (sharesNamePart(a, b)) return 2;
  return jw >= 0.8 ? 3 : 4;
}

function sameYear(a: string, b: string): boolean {
  for (let k = 0; k < 4; k++) if (a.charCodeAt(k) !== b.charCodeAt(k)) return false;
  return true;
}

function swappedDayMonthChars(a: string, b: string): boolean {
  return (
    a.charCodeAt(5) === b.charCodeAt(8) &&
    a.charCodeAt(6) === b.charCodeAt(9) &&
    a.charCodeAt(8) === b.charCodeAt(5) &&
    a.charCodeAt(9) === b.charCodeAt(6)
  );
}

export function dobLevel(a: string, b: string): number {
  if (a === '' || b === '') return MISSING;
  if (a === b) return 0;
  const differences = digitDifferences(a, b);
  if (differences === 1) return 2;
  // A transposition keeps the year and swaps the day and month digits: check the characters
  // before handing the pair to the (parsing) definition.
  if (differences <= 4 && sameYear(a, b) && swappedDayMonthChars(a, b) && isDayMonthTransposition(a, b)) return 1;
  return 3;
}

/**
 * Same address (same postcode and the same address text, or close: "12 CHURCH RD" after
 * normalisation is "12 CHURCH ROAD"), same postcode, sector, district, or different; missing
 * when either postcode is.
 */
function locationLevel(l: ComparisonColumns, i: number, r: ComparisonColumns, j: number): number {
  const a = l.postcode[i] as string;
  const b = r.postcode[j] as string;
  if (a === '' || b === '') return MISSING;
  if (a === b) {
    const addressA = l.address[i] as string;
    const addressB = r.address[j] as string;
    if (addressA !== '' && (addressA === addressB || (addressB !== '' && jaroWinkler(addressA, addressB) >= 0.95)))
      return 0;
    return 1;
  }
  if (l.sector[i] === r.sector[j]) return 2;
  return l.district[i] === r.district[j] ? 3 : 4;
}

/** Bit set in {@link compareRecords}' result when the names matched best the wrong way round. */
export const SWAPPED_NAMES = 1 << 16;

/**
 * The packed comparison pattern of record i of `l` and j of `r` (see {@link levelOf}). When
 * both names disagree but agree crosswise (given keyed as family and family as given), the
 * crosswise levels are used and {@link SWAPPED_NAMES} is set.
 */
export function compareRecords(l: ComparisonColumns, i: number, r: ComparisonColumns, j: number): number {
  const names = l.names;
  const givenL = l.givenId[i] as number;
  const familyL = l.familyId[i] as number;
  const givenR = r.givenId[j] as number;
  const familyR = r.familyId[j] as number;
  let g = names.given(givenL, givenR);
  let f = names.family(familyL, familyR);
  let swapped = 0;
  if (
    g >= 3 &&
    f >= 3 &&
    g !== MISSING &&
    f !== MISSING &&
    (l.given[i] as string).charCodeAt(0) === (r.family[j] as string).charCodeAt(0) &&
    (l.family[i] as string).charCodeAt(0) === (r.given[j] as string).charCodeAt(0)
  ) {
    const gs = names.given(givenL, familyR);
    const fs = names.family(familyL, givenR);
    if (gs + fs < g + f) {
      g = gs;
      f = fs;
      swapped = SWAPPED_NAMES;
    }
  }
  const d = dobLevel(l.dob[i] as string, r.dob[j] as string);
  const p = locationLevel(l, i, r, j);
  return (g + RADIX * (f + RADIX * (d + RADIX * p))) | swapped;
}

/** Level of `field` in a packed pattern (the swap flag ignored). */
export function levelOf(pattern: number, field: number): number {
  return Math.floor((pattern & 0xffff) / RADIX ** field) % RADIX;
}
