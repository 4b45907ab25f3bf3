import type { Services } from '../services.js';
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
): Promise<{ treeSize: number; checkpointed: boolean }> {
  const anchored = (await services.anchors.read()).map((c) => c.treeSize).filter((n) => n >= atLeast);
  if (anchored.length > 0) return { treeSize: Math.min(...anchored), checkpointed: true };
  return { treeSize: await logSize(services.store), checkpointed: false };
}

export async function inclusionProofFor(services: Services, seq: number, requestedTreeSize?: number) {
  const { treeSize, checkpointed } = requestedTreeSize
    ? { treeSize: requestedTreeSize, checkpointed: false }
    : await proofTreeSize(services, seq);
  if (seq < 1 || seq > treeSize) return undefined;
  const hashes = await leafHashes(services.store, treeSize);
  if (hashes.length !== treeSize) return undefined;
  return {
    seq,
    treeSize,
    checkpointed,
    leafHash: hashes[seq - 1]!.toString('hex'),
    proof: inclusionProof(seq - 1, hashes).map((h) => h.toString('hex')),
    rootHash: rootFromLeafHashes(hashes).toString('hex'),
  };
}

export async function consistencyProofFor(services: Services, from: number, to: number) {
  if (from < 1 || to < from) return undefined;
  const hashes = await leafHashes(services.store, to);
  if (hashes.length !== to) return undefined;
  return {
    from,
    to,
    fromRoot: rootFromLeafHashes(hashes.slice(0, from)).toString('hex'),
    toRoot: rootFromLeafHashes(hashes).toString('hex'),
    proof: consistencyProof(from, to, hashes).map((h) => h.toString('hex')),
  };
}
