/**
 * Blocking for the probabilistic tier: only pairs that agree on at least one blocking key are
 * compared. Several passes with different keys let a pair with an error in one field still meet
 * through another; a block larger than `maxBlockPairs` is skipped in that pass (the other
 * passes still cover its records), which keeps the work near-linear in the number of records.
 */

import { canonicalGivenName, dateVariants, familyNameKey } from '../domain/normalise.js';
import { DOB, FAMILY, GIVEN, LOCATION } from './comparison.js';
import type { ComparisonColumns } from './comparison.js';
import { soundex } from './soundex.js';

export interface BlockingPassSummary {
  readonly pass: string;
  /** New pairs this pass contributed (pairs already found by an earlier pass are not counted). */
  readonly pairs: number;
  readonly skippedBlocks: number;
}

export interface CandidatePairs {
  readonly count: number;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Index into {@link BLOCKING_PASSES} of the pass that produced each pair. */
  readonly pass: Uint8Array;
  readonly passes: readonly BlockingPassSummary[];
}

export interface BlockingOptions {
  /** Blocks with more left x right pairs than this are skipped in that pass (default 2,500). */
  readonly maxBlockPairs?: number;
  /** Records to block; all when omitted. */
  readonly leftRecords?: Int32Array;
  readonly rightRecords?: Int32Array;
  /**
   * Keep a pair only from the first pass that finds it (default true). Off for training, where
   * each pass must see every pair that agrees on its key.
   */
  readonly dedupeAcrossPasses?: boolean;
}

export interface BlockingPass {
  readonly name: string;
  /**
   * Comparison fields the key conditions on: within a block they agree more often than by
   * chance even for non-matches, so m cannot be estimated for them from this pass's pairs.
   */
  readonly blockedFields: readonly number[];
  /** Keys of record i of the left side; none when a field it needs is missing. */
  readonly leftKeys: (c: ComparisonColumns, i: number) => readonly string[];
  readonly rightKeys: (c: ComparisonColumns, i: number) => readonly string[];
}

const NONE: readonly string[] = [];

const year = (dob: string): string => (dob === '' ? '' : dob.slice(0, 4));
const yearMonth = (dob: string): string => (dob === '' ? '' : dob.slice(0, 7));
const dayMonth = (dob: string): string => (dob === '' ? '' : dob.slice(5));

const canonicalGivenCache = new Map<string, string>();
/** The canonical form of the first given name (BILL -> WILLIAM), memoised. */
function canonicalGiven(name: string): string {
  let c = canonicalGivenCache.get(name);
  if (c === undefined) {
    c = canonicalGivenName(name.split(' ')[0] ?? '');
    if (canonicalGivenCache.size < 100_000) canonicalGivenCache.set(name, c);
  }
  return c;
}

const soundexCache = new Map<string, string>();
function soundexOf(name: string): string {
  let c = soundexCache.get(name);
  if (c === undefined) {
    c = soundex(name);
    if (soundexCache.size < 200_000) soundexCache.set(name, c);
  }
  return c;
}

const tokenCache = new Map<string, readonly string[]>();
/**
 * The parts of a family name ("SMITH JONES" -> SMITH, JONES): a hyphenated or double-barrelled
 * name in one source often appears as one of its parts in another.
 *
 * A name with a space after a leading O, D, Mc or Mac is filed under the parts of its
 * {@link familyNameKey} too ("O BRIEN" -> OBRIEN, BRIEN; "MC DONALD SMITH" -> MCDONALD, SMITH,
 * DONALD), so that it meets "OBrien" and "O'Brien" in the passes that block on the family name,
 * as they meet each other, and still meets "Brien" where it did. The prefix is not filed alone:
 * it is no name by itself ("O" and "D" were already too short to be filed), and under MC "Mc
 * Donald" met every other spaced Mc but never "McDonald".
 */
function familyParts(name: string): readonly string[] {
  if (name.indexOf(' ') < 0) return name === '' ? NONE : [name];
  let parts = tokenCache.get(name);
  if (parts === undefined) {
    const key = familyNameKey(name);
    const named = name.split(' ');
    // The first part of the name is the prefix the key joined to the second.
    if (key !== name) named[0] = '';
    parts = [...new Set([...key.split(' '), ...named])].filter((p) => p.length > 1);
    if (tokenCache.size < 100_000) tokenCache.set(name, parts);
  }
  return parts;
}

function join(a: string, b: string): string {
  return a === '' || b === '' ? '' : `${a}|${b}`;
}

function keys(...candidates: string[]): readonly string[] {
  const out: string[] = [];
  for (const k of candidates) if (k !== '' && !out.includes(k)) out.push(k);
  return out;
}

/** Keys of each family-name part combined with `suffix`. */
function perFamilyPart(family: string, suffix: string, map: (part: string) => string = (p) => p): readonly string[] {
  if (suffix === '') return NONE;
  const parts = familyParts(family);
  if (parts.length === 1) return keys(join(map(parts[0] as string), suffix));
  return keys(...parts.map((p) => join(map(p), suffix)));
}

const sectorFamilyInitial = (c: ComparisonColumns, i: number): readonly string[] =>
  perFamilyPart(c.family[i] as string, c.sector[i] as string, (p) => p.charAt(0));
const familySoundexYear = (c: ComparisonColumns, i: number): readonly string[] =>
  perFamilyPart(c.family[i] as string, year(c.dob[i] as string), soundexOf);
const givenYear = (c: ComparisonColumns, i: number): readonly string[] =>
  keys(join(canonicalGiven(c.given[i] as string), year(c.dob[i] as string)));
/** Order-free pair of name codes, so that a record with its names swapped still meets itself. */
const nameSoundexPair = (c: ComparisonColumns, i: number): readonly string[] => {
  const g = soundexOf(canonicalGiven(c.given[i] as string));
  if (g === '') return NONE;
  return keys(
    ...familyParts(c.family[i] as string).map((p) => {
      const f = soundexOf(p);
      return f === '' ? '' : g < f ? `${g}|${f}` : `${f}|${g}`;
    }),
  );
};
const postcodeGivenInitial = (c: ComparisonColumns, i: number): readonly string[] =>
  keys(join(c.postcode[i] as string, (c.given[i] as string).charAt(0)));
const eitherNameDayMonth = (c: ComparisonColumns, i: number): readonly string[] => {
  const dm = dayMonth(c.dob[i] as string);
  if (dm === '') return NONE;
  return keys(
    join(canonicalGiven(c.given[i] as string), dm),
    ...familyParts(c.family[i] as string).map((p) => join(p, dm)),
  );
};
const givenSoundexYearMonth = (c: ComparisonColumns, i: number): readonly string[] =>
  keys(join(soundexOf(c.given[i] as string), yearMonth(c.dob[i] as string)));

/**
 * The passes, each aimed at errors the others miss:
 * - date of birth (left also under its day–month transposition): name changes, typos, moves;
 * - postcode sector + initial of (each part of) the family name: date errors at one address;
 * - Soundex of the family name + year of birth: misspelt surnames with a move;
 * - canonical given name (BILL -> WILLIAM) + year of birth: a new surname and a move;
 * - the Soundex codes of given and family name as an unordered pair: names entered the wrong
 *   way round, or a missing date with a move;
 * - full postcode + initial of the given name: a new surname and a wrong date, same address;
 * - either name + day and month of birth: a wrong year, swapped names;
 * - Soundex of the given name + year and month of birth: misspelt names, wrong day, a move.
 */
export const BLOCKING_PASSES: readonly BlockingPass[] = [
  {
    name: 'dob',
    blockedFields: [DOB],
    leftKeys: (c, i) => dateVariants(c.dob[i] as string),
    rightKeys: (c, i) => keys(c.dob[i] as string),
  },
  {
    name: 'sector+family-initial',
    blockedFields: [LOCATION, FAMILY],
    leftKeys: sectorFamilyInitial,
    rightKeys: sectorFamilyInitial,
  },
  {
    name: 'family-soundex+birth-year',
    blockedFields: [FAMILY, DOB],
    leftKeys: familySoundexYear,
    rightKeys: familySoundexYear,
  },
  {
    name: 'given-name+birth-year',
    blockedFields: [GIVEN, DOB],
    leftKeys: givenYear,
    rightKeys: givenYear,
  },
  {
    name: 'name-soundex-pair',
    blockedFields: [GIVEN, FAMILY],
    leftKeys: nameSoundexPair,
    rightKeys: nameSoundexPair,
  },
  {
    name: 'postcode+given-initial',
    blockedFields: [LOCATION, GIVEN],
    leftKeys: postcodeGivenInitial,
    rightKeys: postcodeGivenInitial,
  },
  {
    name: 'name+birth-day-month',
    blockedFields: [GIVEN, FAMILY, DOB],
    leftKeys: eitherNameDayMonth,
    rightKeys: eitherNameDayMonth,
  },
  {
    name: 'given-soundex+birth-year-month',
    blockedFields: [GIVEN, DOB],
    leftKeys: givenSoundexYearMonth,
    rightKeys: givenSoundexYearMonth,
  },
];

function allRecords(size: number): Int32Array {
  const all = new Int32Array(size);
  for (let i = 0; i < size; i++) all[i] = i;
  return all;
}

class PairBuffer {
  left: Int32Array = new Int32Array(1 << 16);
  right: Int32Array = new Int32Array(1 << 16);
  pass: Uint8Array = new Uint8Array(1 << 16);
  count = 0;
  push(i: number, j: number, pass: number): void {
    if (this.count === this.left.length) {
      const left = new Int32Array(this.count * 2);
      const right = new Int32Array(this.count * 2);
      const passes = new Uint8Array(this.count * 2);
      left.set(this.left);
      right.set(this.right);
      passes.set(this.pass);
      this.left = left;
      this.right = right;
      this.pass = passes;
    }
    this.left[this.count] = i;
    this.right[this.count] = j;
    this.pass[this.count] = pass;
    this.count++;
  }
}

function blocksOf(
  records: Int32Array,
  keysOf: (c: ComparisonColumns, i: number) => readonly string[],
  columns: ComparisonColumns,
): Map<string, number[]> {
  const blocks = new Map<string, number[]>();
  for (const i of records) {
    for (const key of keysOf(columns, i)) {
      const block = blocks.get(key);
      if (block === undefined) blocks.set(key, [i]);
      else if (block[block.length - 1] !== i) block.push(i);
    }
  }
  return blocks;
}

/** Candidate pairs (left index, right index) from all passes. */
export function blockCandidates(
  left: ComparisonColumns,
  leftSize: number,
  right: ComparisonColumns,
  rightSize: number,
  options: BlockingOptions = {},
): CandidatePairs {
  const maxBlockPairs = options.maxBlockPairs ?? 2_500;
  const leftRecords = options.leftRecords ?? allRecords(leftSize);
  const rightRecords = options.rightRecords ?? allRecords(rightSize);
  const dedupeAcrossPasses = options.dedupeAcrossPasses ?? true;
  const raw = new PairBuffer();
  const skipped: number[] = [];

  BLOCKING_PASSES.forEach((pass, passIndex) => {
    const leftBlocks = blocksOf(leftRecords, pass.leftKeys, left);
    const rightBlocks = blocksOf(rightRecords, pass.rightKeys, right);
    let skippedBlocks = 0;
    for (const [key, rightBlock] of rightBlocks) {
      const leftBlock = leftBlocks.get(key);
      if (leftBlock === undefined) continue;
      if (leftBlock.length * rightBlock.length > maxBlockPairs) {
        skippedBlocks++;
        continue;
      }
      for (const j of rightBlock) for (const i of leftBlock) raw.push(i, j, passIndex);
    }
    skipped.push(skippedBlocks);
  });

  // Pairs repeat (one pair can share several keys, and several passes): sort a packed
  // (pair, pass) key and keep the first of each pair — or of each pair and pass, for training.
  const packed = new Float64Array(raw.count);
  const passCount = BLOCKING_PASSES.length;
  for (let k = 0; k < raw.count; k++) {
    packed[k] = ((raw.left[k] as number) * rightSize + (raw.right[k] as number)) * passCount + (raw.pass[k] as number);
  }
  packed.sort();
  const out = new PairBuffer();
  let previous = -1;
  for (let k = 0; k < packed.length; k++) {
    const key = packed[k] as number;
    const pair = Math.floor(key / passCount);
    const identity = dedupeAcrossPasses ? pair : key;
    if (identity === previous) continue;
    previous = identity;
    const i = Math.floor(pair / rightSize);
    out.push(i, pair - i * rightSize, key - pair * passCount);
  }
  const pairsPerPass = BLOCKING_PASSES.map(() => 0);
  for (let k = 0; k < out.count; k++) {
    const pass = out.pass[k] as number;
    pairsPerPass[pass] = (pairsPerPass[pass] ?? 0) + 1;
  }
  return {
    count: out.count,
    left: out.left.subarray(0, out.count),
    right: out.right.subarray(0, out.count),
    pass: out.pass.subarray(0, out.count),
    passes: BLOCKING_PASSES.map((pass, k) => ({
      pass: pass.name,
      pairs: pairsPerPass[k] ?? 0,
      skippedBlocks: skipped[k] ?? 0,
    })),
  };
}
