import { consistencyProofRanges, inclusionProofRanges, MerkleAccumulator, SubtreeRoots } from './merkle.js';

/**
 * A proof over a tree a signed checkpoint covers must lead to that checkpoint's root: one that
 * leads elsewhere proves only that the stored hashes agree with each other, after a rewrite
 * too. Such a proof is not given; `verify` names what changed.
 */
export const LOG_INCONSISTENT = 'log-inconsistent';

/** What a proof is asked for: a leaf (0-based) in the tree of `treeSize`, or that tree's consistency with its prefix of `from`. */
export type ProofRequest =
  | { treeSize: number; inclusionOf: number; consistencyFrom?: undefined }
  | { treeSize: number; consistencyFrom: number; inclusionOf?: undefined };

export interface StreamedProof {
  /** Root of the tree of `treeSize`. */
  root: Buffer;
  /** Root of the prefix of `consistencyFrom`, for a consistency proof. */
  fromRoot: Buffer | undefined;
  /** The leaf hash proved included, for an inclusion proof. */
  leaf: Buffer | undefined;
  proof: Buffer[];
}

/**
 * The proof asked for, over the leaf hashes `leaves(upTo)` yields in sequence order (1..upTo), or
 * LOG_INCONSISTENT when the log no longer has the root of every signed checkpoint at its size
 * (`signedRoots`, size to hex root), or undefined when the log holds fewer than `treeSize` leaves.
 * Every checkpoint is checked, not only one of the proof's own size: a rewrite under a checkpoint
 * of 20 changes the tree of 10 and of 25 as well, and a proof at either would prove the rewritten
 * entry (found by a review).
 */
export async function proofFromLeafStream(
  leaves: (upTo: number) => AsyncIterable<Uint8Array>,
  request: ProofRequest,
  signedRoots: ReadonlyMap<number, string>,
): Promise<StreamedProof | undefined | typeof LOG_INCONSISTENT> {
  const { treeSize } = request;
  const inclusion = request.inclusionOf !== undefined;
  // Gathered as the leaves stream by, in O(log n) hashes: a proof against a log of ten million
  // entries once held a Buffer for every one of them (over a gigabyte a request).
  const proof = new SubtreeRoots(
    inclusion
      ? inclusionProofRanges(request.inclusionOf, treeSize)
      : consistencyProofRanges(request.consistencyFrom, treeSize),
  );
  const fromSize = request.consistencyFrom;
  // Not Math.max(...sizes): years of checkpoints would overflow the argument list.
  let readTo = treeSize;
  for (const size of signedRoots.keys()) readTo = Math.max(readTo, size);
  const tree = new MerkleAccumulator();
  let root: Buffer | undefined;
  let fromRoot: Buffer | undefined;
  let leaf: Buffer | undefined;
  let agreed = 0;
  const agrees = () => {
    if (tree.size === treeSize) root = tree.root();
    if (tree.size === fromSize) fromRoot = tree.root();
    const signed = signedRoots.get(tree.size);
    if (signed === undefined) return true;
    agreed++;
    return signed === tree.root().toString('hex');
  };
  if (!agrees()) return LOG_INCONSISTENT;
  for await (const hash of leaves(readTo)) {
    if (tree.size < treeSize) {
      if (tree.size === request.inclusionOf) leaf = Buffer.from(hash);
      proof.push(hash);
    }
    tree.push(hash);
    if (!agrees()) return LOG_INCONSISTENT;
    if (tree.size >= readTo) break;
  }
  // A checkpoint past the log's end: entries it covered are gone.
  if (agreed !== signedRoots.size) return LOG_INCONSISTENT;
  if (root === undefined) return undefined;
  return { root, fromRoot, leaf, proof: proof.roots() };
}
