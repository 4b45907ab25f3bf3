import type { Services } from '../services.js';
import { fromRow } from './access-log-rows.js';
import { anchoredCheckpoints } from './anchored-checkpoints.js';
import type { Checkpoint } from './checkpoint.js';
import { writeCheckpoint, type CheckpointOutcome } from './checkpointer.js';
import type { AccessLogEntry } from './entry-codec.js';
import type { EntryOwnership } from './entry-agreements.js';
import { accessLogRowsBySeq, logSize, storedLeafHashes } from './leaf-stream.js';
import { LOG_INCONSISTENT, proofFromLeafStream } from './proof-stream.js';
import { checkpointsSignedByLogKeys, logKeysFor } from './signing-keys.js';
import { verifyAccessLog, type VerificationReport } from './verify-log.js';

/** Verify the whole log against the anchored checkpoints (what `npm run audit -- verify` runs). */
export async function verifyLog(services: Services): Promise<VerificationReport> {
  const { checkpoints, damaged } = await services.anchors.readAnchored();
  const { keys, gone } = await logKeysFor(
    services.secrets,
    checkpoints.map((c) => c.keyId),
  );
  const report = await verifyAccessLog(services.store, checkpoints, keys, damaged, gone);
  // A count only: the rows name people.
  if (report.subjectIndexFilled > 0) {
    services.logger.warn('audit.subject-index-filled', { rows: report.subjectIndexFilled });
  }
  return report;
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

export { LOG_INCONSISTENT };

/**
 * The entry as the log stored it, which is what its leaf hash was computed from (verify-log.ts
 * reads it back the same way), when `mayRead` lets the caller see it; otherwise null. A proof of
 * a leaf hash alone shows only that some entry is in the log: with the entry beside it, a DPO's
 * own tool hashes it (scripts/verify-proof.mjs) and sees it is this one. A row that no longer
 * reads as an entry is given as null: verify is what names it.
 */
async function entryAsStored(
  services: Services,
  seq: number,
  mayRead: (entry: EntryOwnership) => boolean,
): Promise<AccessLogEntry | null> {
  const row = (await accessLogRowsBySeq(services.store, [seq])).get(seq);
  if (row === undefined || !mayRead(row)) return null;
  try {
    return fromRow(row);
  } catch {
    return null;
  }
}

/**
 * An inclusion proof for entry `seq`, with the entry itself when `mayRead` (the caller's audit
 * scope) covers it: the scope the DPO's views read the log by, so the proof shows nobody an entry
 * those views would hide.
 */
export async function inclusionProofFor(
  services: Services,
  seq: number,
  requestedTreeSize?: number,
  mayRead: (entry: EntryOwnership) => boolean = () => false,
) {
  // Read once: each read downloads every anchor blob.
  const checkpoints = await intactCheckpoints(services);
  const { treeSize, checkpoint } = requestedTreeSize
    ? { treeSize: requestedTreeSize, checkpoint: checkpointOfSize(checkpoints, requestedTreeSize) }
    : await proofTreeSize(services, checkpoints, seq);
  if (seq < 1 || seq > treeSize) return undefined;
  const signed = await signedRoots(services, checkpoints);
  if (signed === LOG_INCONSISTENT) return LOG_INCONSISTENT;
  const tree = await proofFromLeafStream(
    (upTo) => storedLeafHashes(services.store, upTo),
    { treeSize, inclusionOf: seq - 1 },
    signed,
  );
  if (tree === undefined || tree === LOG_INCONSISTENT) return tree;
  return {
    seq,
    treeSize,
    checkpointed: checkpoint !== undefined,
    leafHash: tree.leaf!.toString('hex'),
    proof: tree.proof.map((h) => h.toString('hex')),
    rootHash: tree.root.toString('hex'),
    checkpoint: checkpoint ?? null,
    entry: await entryAsStored(services, seq, mayRead),
  };
}

/**
 * The root at its size of every intact anchored checkpoint, and of every one the store records
 * anchoring, or LOG_INCONSISTENT when two of them give one size different roots. The recorded
 * ones count too (anchored-checkpoints.ts): one gone from its blob since (deleted, or written
 * again shorter, before the WORM lock) held nothing, and an entry rewritten with its stored hash
 * under it was proved included while verify and the checkpointer said it was gone (found by a
 * defect hunt).
 */
async function signedRoots(
  services: Services,
  checkpoints: readonly Checkpoint[],
): Promise<Map<number, string> | typeof LOG_INCONSISTENT> {
  const rootAt = new Map<number, string>();
  const recorded = (await anchoredCheckpoints(services.store)).map(({ checkpoint }) => checkpoint);
  for (const c of [...checkpoints, ...recorded]) {
    if ((rootAt.get(c.treeSize) ?? c.rootHash) !== c.rootHash) return LOG_INCONSISTENT;
    rootAt.set(c.treeSize, c.rootHash);
  }
  return rootAt;
}

export async function consistencyProofFor(services: Services, from: number, to: number) {
  if (from < 1 || to < from) return undefined;
  const checkpoints = await intactCheckpoints(services);
  const signed = await signedRoots(services, checkpoints);
  if (signed === LOG_INCONSISTENT) return LOG_INCONSISTENT;
  const tree = await proofFromLeafStream(
    (upTo) => storedLeafHashes(services.store, upTo),
    { treeSize: to, consistencyFrom: from },
    signed,
  );
  if (tree === undefined || tree === LOG_INCONSISTENT) return tree;
  const fromCheckpoint = checkpointOfSize(checkpoints, from);
  const toCheckpoint = checkpointOfSize(checkpoints, to);
  return {
    from,
    to,
    fromRoot: tree.fromRoot!.toString('hex'),
    toRoot: tree.root.toString('hex'),
    proof: tree.proof.map((h) => h.toString('hex')),
    fromCheckpoint: fromCheckpoint ?? null,
    toCheckpoint: toCheckpoint ?? null,
  };
}
