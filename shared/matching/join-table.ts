/**
 * Joins two record batches on a key made of one or more string columns and returns the pairs
 * whose key is held by exactly one remaining record on each side, plus the number of keys held
 * on both sides but by several records on one (the ambiguity the agreement's rules must not
 * link). It is the core of the deterministic tiers and is built for a million by a million:
 *
 * - no per-record objects and no key strings: each key is reduced to a 64-bit fingerprint of its
 *   parts, read straight from the columns;
 * - radix-partitioned, as column stores do: records are first scattered by the top bits of
 *   their fingerprint into partitions of a few thousand, then each partition is joined in a
 *   small hash table that stays in the CPU cache. One big table would cost a main-memory miss
 *   per record, and at this size memory latency, not arithmetic, is the cost;
 * - keys are told apart by fingerprint alone while joining; every pair returned is then
 *   confirmed against the strings. A fingerprint collision (2^-64 per pair of keys) can thus
 *   only merge two keys, which makes them look ambiguous or fails confirmation: it can cost a
 *   link, never make a false one.
 */

export type KeyParts = readonly (readonly string[])[];

export interface KeyJoin {
  /** Left and right record of each pair with a key unique on both sides, confirmed equal. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly count: number;
  readonly ambiguousKeys: number;
}

const NO_RECORD = -1;
const SEVERAL_RECORDS = -2;
/** Entries per partition aimed at: a table of twice that many 16-byte slots fits in L2. */
const PARTITION_TARGET = 4096;
/**
 * Characters of each part that feed the fingerprint, its last: a 64-char HMAC needs no more than
 * this, and an identifier hashed under an earlier key version (hard-identifiers.ts) is that
 * version, 32 characters alike in every such value of a batch, before the hash. Its first
 * characters would give every one fingerprint, one key held by several records, and no link.
 */
const FINGERPRINT_CHARS = 32;

/** Reusable buffers, so that successive rules over the same batches allocate nothing. */
export class KeyJoiner {
  #fa = new Int32Array(0);
  #fb = new Int32Array(0);
  #valid = new Uint8Array(0);
  #sortedEntry = new Int32Array(0);
  #sortedA = new Int32Array(0);
  #sortedB = new Int32Array(0);
  #table = new Int32Array(0);
  #outLeft = new Int32Array(0);
  #outRight = new Int32Array(0);

  /**
   * Joins records of `left` and `right` not flagged in `skipLeft` / `skipRight` on the key
   * formed by `leftParts` / `rightParts` (records with a blank part have no key). The returned
   * arrays are views into buffers reused by the next call.
   */
  join(leftParts: KeyParts, rightParts: KeyParts, skipLeft: Uint8Array, skipRight: Uint8Array): KeyJoin {
    const nl = skipLeft.length;
    const nr = skipRight.length;
    const n = nl + nr;
    this.#ensure(n, Math.min(nl, nr));
    const fa = this.#fa;
    const fb = this.#fb;
    const valid = this.#valid;

    // 1. Fingerprints, in record order (entries 0..nl-1 left, nl.. right).
    let keyed = 0;
    for (let i = 0; i < nl; i++) keyed += fingerprintInto(leftParts, i, skipLeft[i] === 0, i, fa, fb, valid);
    for (let j = 0; j < nr; j++) keyed += fingerprintInto(rightParts, j, skipRight[j] === 0, nl + j, fa, fb, valid);

    // 2. Scatter entries by the top bits of the fingerprint (a counting sort).
    let bits = 0;
    while (keyed >> bits > PARTITION_TARGET && bits < 16) bits++;
    const partitions = 1 << bits;
    const shift = 32 - bits;
    const start = new Int32Array(partitions + 1);
    for (let e = 0; e < n; e++) {
      if (valid[e] !== 1) continue;
      const p = (bits === 0 ? 0 : (fa[e] as number) >>> shift) + 1;
      start[p] = (start[p] as number) + 1;
    }
    for (let p = 0; p < partitions; p++) start[p + 1] = (start[p + 1] as number) + (start[p] as number);
    const cursor = start.slice(0, partitions);
    const entry = this.#sortedEntry;
    const sa = this.#sortedA;
    const sb = this.#sortedB;
    for (let e = 0; e < n; e++) {
      if (valid[e] !== 1) continue;
      const a = fa[e] as number;
      const p = bits === 0 ? 0 : a >>> shift;
      const at = cursor[p] as number;
      cursor[p] = at + 1;
      entry[at] = e;
      sa[at] = a;
      sb[at] = fb[e] as number;
    }

    // 3. Join each partition in a small open-addressing table: [fa, fb, left, right] per slot.
    let table = this.#table;
    const outLeft = this.#outLeft;
    const outRight = this.#outRight;
    let count = 0;
    let ambiguousKeys = 0;
    for (let p = 0; p < partitions; p++) {
      const from = start[p] as number;
      const to = start[p + 1] as number;
      if (from === to) continue;
      let capacity = 16;
      while (capacity < (to - from) * 2) capacity *= 2;
      const mask = capacity - 1;
      if (table.length < capacity * 4) table = this.#table = new Int32Array(capacity * 4);
      table.fill(NO_RECORD, 0, capacity * 4);
      for (let k = from; k < to; k++) {
        const e = entry[k] as number;
        const a = sa[k] as number;
        const b = sb[k] as number;
        const own = e < nl ? 2 : 3;
        const record = e < nl ? e : e - nl;
        let slot = a & mask;
        for (;;) {
          const base = slot * 4;
          if (table[base + 2] === NO_RECORD && table[base + 3] === NO_RECORD) {
            table[base] = a;
            table[base + 1] = b;
            table[base + own] = record;
            break;
          }
          if (table[base] === a && table[base + 1] === b) {
            table[base + own] = table[base + own] === NO_RECORD ? record : SEVERAL_RECORDS;
            break;
          }
          slot = (slot + 1) & mask;
        }
      }
      for (let slot = 0; slot < capacity; slot++) {
        const base = slot * 4;
        const i = table[base + 2] as number;
        const j = table[base + 3] as number;
        if (i === NO_RECORD || j === NO_RECORD) continue;
        if (i === SEVERAL_RECORDS || j === SEVERAL_RECORDS) {
          ambiguousKeys++;
          continue;
        }
        if (!sameKey(leftParts, i, rightParts, j)) continue;
        outLeft[count] = i;
        outRight[count] = j;
        count++;
      }
    }
    return { left: outLeft.subarray(0, count), right: outRight.subarray(0, count), count, ambiguousKeys };
  }

  #ensure(entries: number, pairs: number): void {
    if (this.#fa.length < entries) {
      this.#fa = new Int32Array(entries);
      this.#fb = new Int32Array(entries);
      this.#valid = new Uint8Array(entries);
      this.#sortedEntry = new Int32Array(entries);
      this.#sortedA = new Int32Array(entries);
      this.#sortedB = new Int32Array(entries);
    }
    // The largest partition is at most a few times the target; size for the worst case anyway.
    let capacity = 16;
    while (capacity < entries * 2 && capacity < PARTITION_TARGET * 64) capacity *= 2;
    if (this.#table.length < capacity * 4) this.#table = new Int32Array(capacity * 4);
    if (this.#outLeft.length < pairs) {
      this.#outLeft = new Int32Array(pairs);
      this.#outRight = new Int32Array(pairs);
    }
  }
}

/** Fingerprint of record `index` into slot `e`; 1 when it has a key, 0 when skipped or blank. */
function fingerprintInto(
  parts: KeyParts,
  index: number,
  active: boolean,
  e: number,
  fa: Int32Array,
  fb: Int32Array,
  valid: Uint8Array,
): number {
  valid[e] = 0;
  if (!active) return 0;
  let a = 0x9747b28c;
  let b = 0x1b873593;
  for (let p = 0; p < parts.length; p++) {
    const s = (parts[p] as readonly string[])[index] as string;
    const length = s.length;
    if (length === 0) return 0;
    for (let k = length < FINGERPRINT_CHARS ? 0 : length - FINGERPRINT_CHARS; k < length; k++) {
      const c = s.charCodeAt(k);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b + c, 0x5bd1e995);
      b ^= b >>> 13;
    }
    // Part boundaries and lengths, so ("AB","C") and ("A","BC") differ.
    a = Math.imul(a ^ 0xff, 0x01000193);
    b = Math.imul(b ^ (length + 0x100), 0x5bd1e995);
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 15;
  fa[e] = a;
  fb[e] = b;
  valid[e] = 1;
  return 1;
}

function sameKey(leftParts: KeyParts, i: number, rightParts: KeyParts, j: number): boolean {
  for (let p = 0; p < leftParts.length; p++) {
    if ((leftParts[p] as readonly string[])[i] !== (rightParts[p] as readonly string[])[j]) return false;
  }
  return true;
}
