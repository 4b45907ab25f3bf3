import type { Services } from '../services.js';
import { anchoredCheckpoints } from './anchored-checkpoints.js';
import type { Checkpoint } from './checkpoint.js';
import { writeCheckpoint, type CheckpointOutcome } from './checkpointer.js';
import { logSize, storedLeafHashes } from './leaf-stream.js';
import { consistencyProof, inclusionProof, MerkleAccumulator, rootFromLeafHashes } from './merkle.js';
import { checkpointsSignedByLogKeys, logKeysFor } from './signing-keys.js';
import { verifyAccessLog, type VerificationReport } from './verify-log.js';

/** Verify the whole log against the anchored checkpoints (what `npm run audit -- verify` runs). */
export async function verifyLog(services: Services): Promise<VerificationReport> {
  const { checkpoints, damaged } = await services.anchors.readAnchored();
  const { keys, gone } = await logKeysFor(
    services.secrets,
    checkpoints.map((c) => c.keyId),
  );
  return verifyAccessLog(services.store, checkpoints, keys, damaged, gone);
}

/**
 * The anchored checkpoints a proof may be given against: the valid ones signed by the log's own
 * keys. A damaged line, or one signed by another key, is verify's to report; a proof against an
 * intact signed checkpoint is as good beside it. Taken at its word, a stranger's line would be
 * handed out as the signed statement a proof leads to, or, with a root the log never had, stop
 * every proof (found by a review).
 */
async function intactCheckpoints(services: Services): Promise<Checkpoint[]> {
  return checkpointsSignedByLogKeys(services.secrets, (await services.anchors.readAnchored()).checkpoints);
}

export function checkpointNow(services: Services): Promise<CheckpointOutcome> {
  return writeCheckpoint({
    store: services.store,
    anchors: services.anchors,
    secrets: services.secrets,
    logger: services.logger,
  });
}

/**
 * The tree size proofs are given against: the latest anchored checkpoint that covers the entry,
 * so a partner can check the root against a signed statement rather than against our word.
 */
async function proofTreeSize(
  services: Services,
  checkpoints: readonly Checkpoint[],
  atLeast: number,
): Promise<{ treeSize: number; checkpoint: Checkpoint | undefined }> {
  const covering = checkpoints.filter((c) => c.treeSize >= atLeast);
  if (covering.length === 0) return { treeSize: await logSize(services.store), checkpoint: undefined };
  const checkpoint = covering.reduce((a, b) => (b.treeSize < a.treeSize ? b : a));
  return { treeSize: checkpoint.treeSize, checkpoint };
}

/** The anchored checkpoint of exactly this tree size, if there is one. */
function checkpointOfSize(checkpoints: readonly Checkpoint[], treeSize: number): Checkpoint | undefined {
  return checkpoints.find((c) => c.treeSize === treeSize);
}

/**
 * A proof over a tree a signed checkpoint covers must lead to that checkpoint's root: one that
 * leads elsewhere proves only that the stored hashes agree with each other, after a rewrite
 * too. Such a proof is not given; `verify` names what changed.
 */
export const LOG_INCONSISTENT = 'log-inconsistent';

export async function inclusionProofFor(services: Services, seq: number, requestedTreeSize?: number) {
  // Read once: each read downloads every anchor blob.
  const checkpoints = await intactCheckpoints(services);
  const { treeSize, checkpoint } = requestedTreeSize
    ? { treeSize: requestedTreeSize, checkpoint: checkpointOfSize(checkpoints, requestedTreeSize) }
    : await proofTreeSize(services, checkpoints, seq);
  if (seq < 1 || seq > treeSize) return undefined;
  const hashes = await hashesAgreeingWithCheckpoints(services, checkpoints, treeSize);
  if (hashes === LOG_INCONSISTENT) return LOG_INCONSISTENT;
  if (hashes.length !== treeSize) return undefined;
  const rootHash = rootFromLeafHashes(hashes).toString('hex');
  return {
    seq,
    treeSize,
    checkpointed: checkpoint !== undefined,
    leafHash: hashes[seq - 1]!.toString('hex'),
    proof: inclusionProof(seq - 1, hashes).map((h) => h.toString('hex')),
    rootHash,
    checkpoint: checkpoint ?? null,
  };
}

/**
 * The stored leaf hashes 1..treeSize (fewer when the log is shorter), or LOG_INCONSISTENT when
 * the log no longer has the root of every intact anchored checkpoint, and of every one the store
 * records anchoring, at its size. Every one is checked, not only one of the proof's own size: a
 * rewrite under a checkpoint of 20 changes the tree of 10 and of 25 as well, and a proof at either
 * would prove the rewritten entry (found by a review).
 */
async function hashesAgreeingWithCheckpoints(
  services: Services,
  checkpoints: readonly Checkpoint[],
  treeSize: number,
): Promise<Buffer[] | typeof LOG_INCONSISTENT> {
  const rootAt = new Map<number, string>();
  let readTo = treeSize;
  // And to the root of every checkpoint the store records anchoring (anchored-checkpoints.ts):
  // one gone from its blob since (deleted, or written again shorter, before the WORM lock) held
  // nothing, and an entry rewritten with its stored hash under it was proved included while
  // verify and the checkpointer said it was gone (found by a defect hunt).
  const recorded = (await anchoredCheckpoints(services.store)).map(({ checkpoint }) => checkpoint);
  for (const c of [...checkpoints, ...recorded]) {
    readTo = Math.max(readTo, c.treeSize);
    if ((rootAt.get(c.treeSize) ?? c.rootHash) !== c.rootHash) return LOG_INCONSISTENT;
    rootAt.set(c.treeSize, c.rootHash);
  }
  const tree = new MerkleAccumulator();
  const hashes: Buffer[] = [];
  let agreed = 0;
  const agrees = () => {
    const signed = rootAt.get(tree.size);
    if (signed === undefined) return true;
    agreed++;
    return signed === tree.root().toString('hex');
  };
  if (!agrees()) return LOG_INCONSISTENT;
  for await (const leaf of storedLeafHashes(services.store, readTo)) {
    tree.push(leaf);
    if (tree.size <= treeSize) hashes.push(leaf);
    if (!agrees()) return LOG_INCONSISTENT;
  }
  // A checkpoint past the log's end: entries it covered are gone.
  return agreed === rootAt.size ? hashes : LOG_INCONSISTENT;
}

export async function consistencyProofFor(services: Services, from: number, to: number) {
  if (from < 1 || to < from) return undefined;
  const checkpoints = await intactCheckpoints(services);
  const hashes = await hashesAgreeingWithCheckpoints(services, checkpoints, to);
  if (hashes === LOG_INCONSISTENT) return LOG_INCONSISTENT;
  if (hashes.length !== to) return undefined;
  const fromRoot = rootFromLeafHashes(hashes.slice(0, from)).toString('hex');
  const toRoot = rootFromLeafHashes(hashes).toString('hex');
  const fromCheckpoint = checkpointOfSize(checkpoints, from);
  const toCheckpoint = checkpointOfSize(checkpoints, to);
  return {
    from,
    to,
    fromRoot,
    toRoot,
    proof: consistencyProof(from, to, hashes).map((h) => h.toString('hex')),
    fromCheckpoint: fromCheckpoint ?? null,
    toCheckpoint: toCheckpoint ?? null,
  };
}
