import type { Logger } from '../logging.js';
import type { SecretSource } from '../secrets/secret-source.js';
import { accessLogShadowed, type Store } from '../store/database.js';
import type { AnchorLog } from './anchor-log.js';
import { signCheckpoint, type Checkpoint } from './checkpoint.js';
import { firstUnsignedEntryAltered, storedLeafHashes } from './leaf-stream.js';
import { MerkleAccumulator } from './merkle.js';
import { currentSigningKey } from './signing-keys.js';

export interface CheckpointOutcome {
  checkpoint: Checkpoint | undefined;
  /** The new tree does not extend the last anchored checkpoint: the log was rewritten. */
  alarm: boolean;
}

/**
 * Sign the log's current size and root and append it to the anchor log. Before signing, the
 * tree is checked to extend the last anchored checkpoint (same root at that size), and every
 * entry since to hash to its stored leaf hash, in an unbroken sequence; a log that fails either
 * is not signed over — that would launder the rewrite — and raises an alarm instead.
 */
export async function writeCheckpoint(deps: {
  store: Store;
  anchors: AnchorLog;
  secrets: SecretSource;
  logger: Logger;
  now?: () => Date;
}): Promise<CheckpointOutcome> {
  // Signing what a planted copy shows would anchor the copy, not the log (database.ts).
  if (await accessLogShadowed(deps.store)) {
    deps.logger.warn('audit.checkpoint-alarm', { reason: 'log-hidden' });
    return { checkpoint: undefined, alarm: true };
  }
  const previous = await deps.anchors.latest();
  const tree = new MerkleAccumulator();
  let previousRootNow: string | undefined = previous?.treeSize === 0 ? tree.root().toString('hex') : undefined;
  for await (const leaf of storedLeafHashes(deps.store)) {
    tree.push(leaf);
    if (previous && tree.size === previous.treeSize) previousRootNow = tree.root().toString('hex');
  }
  if (previous && previous.treeSize === tree.size && previous.rootHash === tree.root().toString('hex')) {
    return { checkpoint: undefined, alarm: false };
  }
  if (previous && previousRootNow !== previous.rootHash) {
    deps.logger.warn('audit.checkpoint-alarm', { anchoredSize: previous.treeSize, logSize: tree.size });
    return { checkpoint: undefined, alarm: true };
  }
  // The stored hashes are what gets signed: each new entry must still hash to its own.
  const altered = await firstUnsignedEntryAltered(deps.store, previous?.treeSize ?? 0, tree.size);
  if (altered !== undefined) {
    deps.logger.warn('audit.checkpoint-alarm', { reason: 'entry-altered', seq: altered });
    return { checkpoint: undefined, alarm: true };
  }
  const { keyId, privateKey } = await currentSigningKey(deps.secrets);
  const checkpoint = signCheckpoint(
    { treeSize: tree.size, rootHash: tree.root().toString('hex'), time: (deps.now?.() ?? new Date()).toISOString() },
    privateKey,
    keyId,
  );
  // Another run (the timer and `npm run audit -- checkpoint` at once) may have anchored since the
  // read above, while this one scanned the log and fetched its key: anchored after it, this
  // smaller checkpoint would read as a rollback to every later verify, and a WORM anchor cannot
  // be taken back (found by a review). This run stands down; the next signs what the log holds.
  // What is left is the moment between this read and the append.
  const anchoredSince = await deps.anchors.latest();
  if (!sameCheckpoint(anchoredSince, previous)) {
    deps.logger.info('audit.checkpoint-superseded', { treeSize: checkpoint.treeSize });
    return { checkpoint: undefined, alarm: false };
  }
  await deps.anchors.append(checkpoint);
  deps.logger.info('audit.checkpoint', { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash });
  return { checkpoint, alarm: false };
}

function sameCheckpoint(a: Checkpoint | undefined, b: Checkpoint | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.treeSize === b.treeSize && a.rootHash === b.rootHash && a.time === b.time;
}
