import type { Services } from '../services.js';
import type { Checkpoint } from './checkpoint.js';
import { writeCheckpoint, type CheckpointOutcome } from './checkpointer.js';
import { leafHashes, logSize } from './leaf-stream.js';
import { consistencyProof, inclusionProof, rootFromLeafHashes } from './merkle.js';
import { publicKeysFor } from './signing-keys.js';
import { verifyAccessLog, type VerificationReport } from './verify-log.js';

/** Verify the whole log against the anchored checkpoints (what `npm run audit -- verify` runs). */
export async function verifyLog(services: Services): Promise<VerificationReport> {
  const checkpoints = await services.anchors.read();
  const keys = await publicKeysFor(
    services.secrets,
    checkpoints.map((c) => c.keyId),
  );
  return verifyAccessLog(services.store, checkpoints, keys);
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
  atLeast: number,
): Promise<{ treeSize: number; checkpoint: Checkpoint | undefined }> {
  const covering = (await services.anchors.read()).filter((c) => c.treeSize >= atLeast);
  if (covering.length === 0) return { treeSize: await logSize(services.store), checkpoint: undefined };
  const checkpoint = covering.reduce((a, b) => (b.treeSize < a.treeSize ? b : a));
  return { treeSize: checkpoint.treeSize, checkpoint };
}

/** The anchored checkpoint of exactly this tree size, if there is one. */
async function checkpointOfSize(services: Services, treeSize: number): Promise<Checkpoint | undefined> {
  return (await services.anchors.read()).find((c) => c.treeSize === treeSize);
}

/**
 * A proof over a tree a signed checkpoint covers must lead to that checkpoint's root: one that
 * leads elsewhere proves only that the stored hashes agree with each other, after a rewrite
 * too. Such a proof is not given; `verify` names what changed.
 */
export const LOG_INCONSISTENT = 'log-inconsistent';

export async function inclusionProofFor(services: Services, seq: number, requestedTreeSize?: number) {
  const { treeSize, checkpoint } = requestedTreeSize
    ? { treeSize: requestedTreeSize, checkpoint: await checkpointOfSize(services, requestedTreeSize) }
    : await proofTreeSize(services, seq);
  if (seq < 1 || seq > treeSize) return undefined;
  const hashes = await leafHashes(services.store, treeSize);
  if (hashes.length !== treeSize) return undefined;
  const rootHash = rootFromLeafHashes(hashes).toString('hex');
  if (checkpoint !== undefined && checkpoint.rootHash !== rootHash) return LOG_INCONSISTENT;
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

export async function consistencyProofFor(services: Services, from: number, to: number) {
  if (from < 1 || to < from) return undefined;
  const hashes = await leafHashes(services.store, to);
  if (hashes.length !== to) return undefined;
  const fromRoot = rootFromLeafHashes(hashes.slice(0, from)).toString('hex');
  const toRoot = rootFromLeafHashes(hashes).toString('hex');
  const fromCheckpoint = await checkpointOfSize(services, from);
  const toCheckpoint = await checkpointOfSize(services, to);
  if (fromCheckpoint !== undefined && fromCheckpoint.rootHash !== fromRoot) return LOG_INCONSISTENT;
  if (toCheckpoint !== undefined && toCheckpoint.rootHash !== toRoot) return LOG_INCONSISTENT;
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
