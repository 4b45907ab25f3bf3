/**
 * RFC 6962 / RFC 9162 Merkle tree for the tamper-evident access log.
 *
 * The access log is an append-only list of entries. Each entry's canonical bytes
 * (see entry-codec.ts) become one leaf. The tree root over the first N leaves is a
 * 32-byte commitment to exactly those N entries in exactly that order: change, drop,
 * insert or reorder any of them and the root changes. Signed checkpoints publish
 * (N, root) pairs; inclusion proofs show one entry is in a published tree, and
 * consistency proofs show a later tree extends an earlier one without rewriting it.
 *
 * We follow RFC 6962 §2.1 (the Certificate Transparency tree, restated in RFC 9162
 * §2.1) byte for byte so that any independent CT-style verifier - including
 * scripts/verify-proof.mjs, which shares no code with this module - reaches the same
 * roots. The 0x00 / 0x01 prefixes keep a leaf from ever being passed off as an
 * interior node (second-preimage defence).
 *
 * Sizes and indices are JavaScript numbers and must be safe integers; every entry
 * point checks that, because bit tricks on numbers above 2^31 silently go wrong and
 * a wrong answer here is worse than an exception.
 */
import { hash, timingSafeEqual } from 'node:crypto';

/** Length in bytes of every hash in the tree (SHA-256). */
export const HASH_LENGTH = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/**
 * SHA-256 of `input` as a fresh 32-byte Buffer.
 *
 * Why not createHash(): building a Hash stream object costs about 5 µs per call on
 * our 2-core hosts - more than the hashing itself - which made a full verification of
 * a million-entry log take over 10 s. The one-shot crypto.hash() (Node >= 20.12) is
 * far cheaper, and cheaper still with a string digest than with a Buffer one, so we
 * take the digest as a 'binary' (latin1) string - one char per byte, lossless - and
 * turn it back into bytes. The result is byte-identical to createHash (tested).
 */
function sha256(input: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', input, 'binary'), 'latin1');
}

/**
 * Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1, MTH({})).
 * Returned as a fresh copy each time so no caller can mutate a shared constant.
 */
export function emptyRoot(): Buffer {
  return sha256(new Uint8Array(0));
}

/** Reused input buffer for leaf hashing; grown on demand, never shrunk. */
let leafInput = Buffer.allocUnsafe(1024);

/**
 * Hash of one leaf: SHA-256(0x00 || entry).
 * The entry bytes must already be canonical (entry-codec.ts), because the verifier
 * recomputes this from its own copy of the entry.
 */
export function leafHash(entry: Uint8Array): Buffer {
  // Copying into a reused buffer is cheaper than a second hash update or a fresh
  // concatenation per leaf. Safe because hashing is synchronous and nothing else
  // touches the buffer in between.
  if (leafInput.length < entry.length + 1) {
    leafInput = Buffer.allocUnsafe(Math.max(entry.length + 1, leafInput.length * 2));
  }
  leafInput[0] = LEAF_PREFIX;
  leafInput.set(entry, 1);
  return sha256(leafInput.subarray(0, entry.length + 1));
}

/** Reused 65-byte input for node hashing (see leafHash for why reuse is safe). */
const nodeInput = Buffer.allocUnsafe(1 + 2 * HASH_LENGTH);

/**
 * Hash of an interior node: SHA-256(0x01 || left || right).
 * Both children must be full 32-byte hashes; anything else means a caller bug or a
 * malformed proof, and silently hashing it would turn that into a wrong root.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_LENGTH || right.length !== HASH_LENGTH) {
    throw new RangeError(`nodeHash: children must be ${HASH_LENGTH}-byte hashes`);
  }
  nodeInput[0] = NODE_PREFIX;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_LENGTH);
  return sha256(nodeInput);
}

/** Constant-time equality of two hashes; false (not an exception) when lengths differ. */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Incremental Merkle tree builder ("compact range"): keeps only the roots of the
 * perfect subtrees that make up the leaves pushed so far - at most one per bit of
 * `size`, so about 20 hashes for a million leaves.
 *
 * Why: verifying the whole access log means streaming every entry from a database
 * cursor. Holding all leaf hashes would make memory grow with the log; this keeps it
 * flat. `root()` can be called between pushes to get the root at the current size,
 * which lets one pass over the log check every published checkpoint on the way.
 */
export class MerkleAccumulator {
  /**
   * The roots of the perfect subtrees, HASH_LENGTH bytes each in one buffer, slot i at
   * i * HASH_LENGTH: sizes strictly decrease from slot 0 upwards and are exactly the set bits
   * of `size`, largest first. One buffer rather than a Buffer per node, because a full-log
   * verification merges about a million nodes and each object made is work for the collector.
   * 64 slots hold any safe-integer size.
   */
  readonly #stack = Buffer.alloc(64 * HASH_LENGTH);
  #depth = 0;
  #size = 0;
  readonly #nodeInput = Buffer.alloc(1 + 2 * HASH_LENGTH, NODE_PREFIX);

  /** Number of leaves pushed so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash (not raw entry bytes: call leafHash first). */
  push(leaf: Uint8Array): void {
    if (leaf.length !== HASH_LENGTH) {
      throw new RangeError(`MerkleAccumulator.push: leaf hash must be ${HASH_LENGTH} bytes`);
    }
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new RangeError('MerkleAccumulator.push: tree size exceeds safe integer range');
    }
    this.#stack.set(leaf, this.#depth * HASH_LENGTH);
    this.#carry();
  }

  /**
   * Appends the leaf whose hash input is given — the entry's canonical bytes after the 0x00
   * leaf prefix, as the caller packed them — hashing it straight into its slot, and returns
   * that leaf hash. A full-log verification pushes a million leaves: no Buffer a leaf. The
   * returned view is only good until the next push.
   */
  pushLeafInput(prefixedEntry: Uint8Array): Buffer {
    if (prefixedEntry[0] !== LEAF_PREFIX) throw new RangeError('MerkleAccumulator.pushLeafInput: missing leaf prefix');
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new RangeError('MerkleAccumulator.pushLeafInput: tree size exceeds safe integer range');
    }
    const slot = this.#depth * HASH_LENGTH;
    this.#stack.write(hash('sha256', prefixedEntry, 'binary'), slot, 'latin1');
    const leaf = this.#stack.subarray(slot, slot + HASH_LENGTH);
    this.#carry();
    return leaf;
  }

  /**
   * Takes in the leaf just written to the free slot. Merges equal-sized subtrees exactly as
   * binary addition carries: the number of trailing 1-bits of the old size is the number of
   * merges. The two subtrees merged sit side by side in the stack, so each merge is one copy
   * into the node input and its digest written back over the left one.
   */
  #carry(): void {
    let top = this.#depth;
    let carry = this.#size;
    while (carry % 2 === 1) {
      const left = (top - 1) * HASH_LENGTH;
      this.#stack.copy(this.#nodeInput, 1, left, left + 2 * HASH_LENGTH);
      this.#stack.write(hash('sha256', this.#nodeInput, 'binary'), left, 'latin1');
      top--;
      carry = Math.floor(carry / 2);
    }
    this.#depth = top + 1;
    this.#size += 1;
  }

  /**
   * Root over all leaves pushed so far (MTH of RFC 6962 §2.1).
   * The RFC splits n leaves at the largest power of two below n, so the left part is
   * always a perfect subtree; folding the stack from the smallest (rightmost) subtree
   * towards the largest reproduces exactly that split. Does not change the state.
   */
  root(): Buffer {
    if (this.#depth === 0) return emptyRoot();
    const slot = (i: number) => this.#stack.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
    let acc: Buffer = Buffer.from(slot(this.#depth - 1));
    for (let i = this.#depth - 2; i >= 0; i--) acc = nodeHash(slot(i), acc);
    return acc;
  }
}

/**
 * Merkle Tree Hash (RFC 6962 §2.1) over a list of leaf hashes.
 * Iterative via MerkleAccumulator: no recursion, no array slicing, O(n) hashes and
 * O(log n) extra memory, so a million-entry log is rooted in a single pass.
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Buffer {
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

/** MTH over leafHashes[start, end) without copying the array. */
function subtreeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Buffer {
  const acc = new MerkleAccumulator();
  for (let i = start; i < end; i++) acc.push(leafHashes[i] as Uint8Array);
  return acc.root();
}

/**
 * Largest power of two strictly less than n (the RFC's k), for n >= 2.
 * Arithmetic rather than bit shifts so sizes above 2^31 stay correct.
 */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function assertSafeCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer`);
  }
}

/**
 * Inclusion proof (audit path) for the leaf at 0-based `index` in the tree formed by
 * all of `leafHashes` - PATH(m, D[n]) of RFC 9162 §2.1.3.1.
 *
 * Walks from the root down to the leaf, recording at each split the root of the
 * sibling subtree, then reverses so the proof runs leaf-to-root as the RFC orders it.
 * The sibling ranges are disjoint, so the whole proof costs O(n) hashes.
 */
export function inclusionProof(index: number, leafHashes: readonly Uint8Array[]): Buffer[] {
  return inclusionProofRanges(index, leafHashes.length).map(([start, end]) => subtreeRoot(leafHashes, start, end));
}

/** A run of leaves [start, end), 0-based, whose subtree root is one hash of a proof. */
export type LeafRange = readonly [start: number, end: number];

/**
 * The leaf ranges whose roots make up the inclusion proof of the leaf at `index` in a tree of
 * `size`, in proof order: what inclusionProof hashes, named without the leaves so that a proof
 * can be gathered while the leaves stream by (SubtreeRoots).
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  assertSafeCount('index', index);
  assertSafeCount('size', size);
  if (index >= size) throw new RangeError('inclusionProof: index is outside the tree');
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (index < start + k) {
      topDown.push([start + k, end]);
      end = start + k;
    } else {
      topDown.push([start, start + k]);
      start += k;
    }
  }
  return topDown.reverse();
}

/**
 * Checks an inclusion proof: that `leaf` is the leaf at 0-based `index` of the tree of
 * size `treeSize` whose root is `root` (RFC 9162 §2.1.3.2).
 *
 * Returns false rather than throwing for any malformed input (wrong hash lengths,
 * index out of range, proof too short or too long), because the inputs usually come
 * from outside - an API response or a partner's file - and "does not verify" is the
 * honest answer for all of them.
 */
export function verifyInclusion(
  index: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (root.length !== HASH_LENGTH) return false;
  const computed = rootFromInclusionProof(index, treeSize, leaf, proof);
  return computed !== undefined && hashesEqual(computed, root);
}

/**
 * Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4), or undefined when
 * the proof cannot be for a leaf at `index` of a tree of `treeSize` (bad lengths, index
 * out of range, too many or too few proof hashes). verifyInclusion is the yes/no
 * wrapper; this exists so diagnostics can say "valid path, different root".
 */
export function rootFromInclusionProof(
  index: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize)) return undefined;
  if (index < 0 || index >= treeSize) return undefined;
  if (leaf.length !== HASH_LENGTH || proof.some((p) => p.length !== HASH_LENGTH)) return undefined;

  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    // A proof longer than the path from leaf to root.
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // The node is the last one on a ragged right edge: skip the levels where it had
      // no sibling and was promoted unchanged.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // sn must reach 0: a proof that is too short stops below the root.
  return sn === 0 ? r : undefined;
}

/**
 * Consistency proof that the tree of the first `from` leaves is a prefix of the tree
 * of the first `to` leaves - PROOF(m, D[n]) / SUBPROOF of RFC 9162 §2.1.4.1.
 *
 * `leafHashes` must hold at least `to` leaf hashes; only the first `to` are used, so
 * the caller can pass the whole log. For from = 0 or from = to the proof is empty:
 * the empty tree is a prefix of every tree, and a tree is a prefix of itself.
 */
export function consistencyProof(from: number, to: number, leafHashes: readonly Uint8Array[]): Buffer[] {
  const ranges = consistencyProofRanges(from, to);
  if (to > leafHashes.length) throw new RangeError('consistencyProof: to exceeds the number of leaves');
  return ranges.map(([start, end]) => subtreeRoot(leafHashes, start, end));
}

/** The leaf ranges whose roots make up the consistency proof from `from` to `to`, in proof order (see inclusionProofRanges). */
export function consistencyProofRanges(from: number, to: number): LeafRange[] {
  assertSafeCount('from', from);
  assertSafeCount('to', to);
  if (from > to) throw new RangeError('consistencyProof: from must not exceed to');
  if (from === 0 || from === to) return [];

  const topDown: LeafRange[] = [];
  let start = 0;
  let end = to;
  let m = from;
  // b of the RFC: true while the old tree's root is still a node of the new tree
  // (so the verifier already knows it and it need not be sent).
  let oldRootIsKnown = true;
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!oldRootIsKnown) topDown.push([start, end]);
      break;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      topDown.push([start + k, end]);
      end = start + k;
    } else {
      topDown.push([start, start + k]);
      start += k;
      m -= k;
      oldRootIsKnown = false;
    }
  }
  return topDown.reverse();
}

/**
 * The roots of given disjoint leaf ranges, gathered as the leaves are pushed one at a time in
 * order: one compact range at a time and a hash per range finished, so a proof over a log of
 * millions of entries holds O(log n) hashes rather than every leaf up to the tree size.
 */
export class SubtreeRoots {
  readonly #ranges: readonly LeafRange[];
  /** Indexes into #ranges by start, so the leaves meet them in turn. */
  readonly #byStart: number[];
  readonly #roots: (Buffer | undefined)[];
  #next = 0;
  #pushed = 0;
  #range = new MerkleAccumulator();

  constructor(ranges: readonly LeafRange[]) {
    this.#ranges = ranges;
    this.#byStart = ranges.map((_, i) => i).sort((a, b) => ranges[a]![0] - ranges[b]![0]);
    this.#roots = ranges.map(([start, end]) => (start >= end ? emptyRoot() : undefined));
    this.#skipFinished();
  }

  push(leaf: Uint8Array): void {
    const at = this.#pushed++;
    const i = this.#byStart[this.#next];
    if (i === undefined) return;
    const [start, end] = this.#ranges[i]!;
    if (at < start) return;
    this.#range.push(leaf);
    if (at + 1 < end) return;
    this.#roots[i] = this.#range.root();
    this.#range = new MerkleAccumulator();
    this.#next++;
    this.#skipFinished();
  }

  /** The roots in the order the ranges were given; throws while a range still lacks leaves. */
  roots(): Buffer[] {
    return this.#roots.map((root) => {
      if (root === undefined) throw new RangeError('SubtreeRoots: a range was not pushed in full');
      return root;
    });
  }

  #skipFinished(): void {
    while (this.#next < this.#byStart.length && this.#roots[this.#byStart[this.#next]!] !== undefined) this.#next++;
  }
}

/**
 * Checks a consistency proof: that the tree of size `from` with root `rootFrom` is a
 * prefix of the tree of size `to` with root `rootTo` (RFC 9162 §2.1.4.2). This is what
 * shows that nobody rewrote or dropped already-published log entries.
 *
 * Edge cases, chosen to be strict because a checkpoint claiming them is suspicious:
 * - from > to: false (a log never shrinks).
 * - from = to: true only with an empty proof and identical roots.
 * - from = 0: true only with an empty proof and rootFrom equal to the empty-tree root
 *   (some verifiers ignore rootFrom here; we do not accept a bogus "empty" root).
 *   Such a proof says nothing about rootTo: the empty tree is a prefix of any tree.
 * Malformed input returns false, never throws.
 */
export function verifyConsistency(
  from: number,
  to: number,
  rootFrom: Uint8Array,
  rootTo: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return false;
  if (from < 0 || from > to) return false;
  if (rootFrom.length !== HASH_LENGTH || rootTo.length !== HASH_LENGTH) return false;
  if (proof.some((p) => p.length !== HASH_LENGTH)) return false;
  if (from === to) return proof.length === 0 && hashesEqual(rootFrom, rootTo);
  if (from === 0) return proof.length === 0 && hashesEqual(rootFrom, emptyRoot());
  if (proof.length === 0) return false;

  // When the old tree is a perfect subtree of the new one (from is a power of two) its
  // root is not sent, as the verifier has it already: put it back at the front.
  const path: Uint8Array[] = isPowerOfTwo(from) ? [rootFrom, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const first = path[0] as Uint8Array;
  let fr: Buffer = Buffer.from(first);
  let sr: Buffer = Buffer.from(first);
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hashesEqual(fr, rootFrom) && hashesEqual(sr, rootTo);
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
