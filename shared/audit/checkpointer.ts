import { nowOf } from '../clock.js';
import type { Logger } from '../logging.js';
import type { SecretSource } from '../secrets/secret-source.js';
import { accessLogShadowed, type Store } from '../store/database.js';
import { isUniqueViolation } from '../store/unique-violation.js';
import type { AnchorLog } from './anchor-log.js';
import {
  anchoredCheckpointsIn,
  anchoredCountsByBlob,
  checkpointIdentity,
  checkpointsTheRecordPredates,
  lastAnchoredCheckpoint,
  recordAnchoredCheckpoint,
  recordAnchoredCheckpoints,
  recordedKeyIds,
} from './anchored-checkpoints.js';
import { signCheckpoint, type Checkpoint } from './checkpoint.js';
import {
  entriesAltered,
  firstUnsignedEntryAltered,
  logSize,
  rowsOutsideTheSequence,
  storedLeafHashes,
} from './leaf-stream.js';
import { MerkleAccumulator } from './merkle.js';
import { currentSigningKey, logKeyCheck } from './signing-keys.js';
import { fillSubjectIdIndex } from './subject-id-fill.js';

export interface CheckpointOutcome {
  checkpoint: Checkpoint | undefined;
  /** The new tree does not extend the last anchored checkpoint: the log was rewritten. */
  alarm: boolean;
  /** Nothing signed because this machine's clock is behind the last anchored checkpoint's time. */
  clockBehind?: true;
  /** Nothing signed because the access log holds no entries yet. */
  emptyLog?: true;
  /**
   * The anchor container, deleted, was created again by this run's append: it has no
   * immutability (WORM) policy until an operator sets it again.
   */
  containerCreated?: string;
  /**
   * Rows of the index of the people an entry about several names that this run filled, for the
   * entries an instance on older code appended without them since the index was last filled.
   */
  subjectIndexFilled?: number;
}

/** The container's name and what to do only: the operator needs nothing else to act on it. */
function alarmAnchorContainerCreated(logger: Logger, container: string): void {
  logger.warn('audit.checkpoint-alarm', {
    reason: 'anchor-container-created',
    container,
    action: 're-apply-immutability-policy',
  });
}

/**
 * Start-up created the anchor container (ensureContainers): on a store whose access log already
 * holds entries or records checkpoints, the container was there once and was deleted, and the one
 * in its place has no immutability (WORM) policy. Raises the checkpointer's alarm, as the
 * checkpointer's own append will now find the container and say nothing; and while the store
 * records no checkpoint, verify has no anchor to report missing either. A fresh install (Azurite's
 * first start) holds nothing and stays quiet. Answers whether it raised the alarm.
 */
export async function alarmIfAnchorContainerCreatedAtStart(deps: {
  store: Store;
  logger: Logger;
  container: string;
}): Promise<boolean> {
  if ((await logSize(deps.store)) === 0 && (await lastAnchoredCheckpoint(deps.store)) === undefined) return false;
  alarmAnchorContainerCreated(deps.logger, deps.container);
  return true;
}

/** The anchor logs whose checkpoints from before the store's record this process has read. */
const anchorsBeforeTheRecordRead = new WeakSet<AnchorLog>();

/**
 * Sign the log's current size and root and append it to the anchor log. Before signing, the
 * tree is checked to extend the last anchored checkpoint (same root at that size), and every
 * entry since to hash to its stored leaf hash, in an unbroken sequence; a log that fails either
 * is not signed over — that would launder the rewrite — and raises an alarm instead. The last
 * checkpoint the store records anchoring is held to its root as well when the log's keys no
 * longer verify it (its version gone by a rotation).
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
  // Read before the anchors: a checkpoint recorded since was anchored before it was recorded, so
  // the anchors read after hold it too.
  const recorded = await lastAnchoredCheckpoint(deps.store);
  const recordedPerBlob = await anchoredCountsByBlob(deps.store);
  const logKeys = logKeyCheck(deps.secrets);
  const signedByUs = logKeys.signed;
  // The checkpoints anchored before the store recorded them (migration 0032) are recorded once
  // read, those a version of the log's key verifies: a version whose checkpoints were all anchored
  // before it, disabled since, was not one the record names, and verify reported its checkpoints
  // as forged (found by a defect hunt). Read while the version can still be read, which only a run
  // can do; once a process, as what is left unrecorded (a version gone before, a line no key
  // signed) is the same at every run, and reading it every five minutes would download it each time.
  if (!anchorsBeforeTheRecordRead.has(deps.anchors)) {
    const predated = await checkpointsTheRecordPredates(deps.store, deps.anchors, recordedPerBlob, signedByUs);
    await recordAnchoredCheckpoints(deps.store, predated);
    anchorsBeforeTheRecordRead.add(deps.anchors);
  }
  // A damaged line (a WORM line cannot break by accident) is verify's to report, and is said
  // at every run; signing goes on from the last intact checkpoint, so that one appended line
  // cannot stop the log being signed from then on.
  const { checkpoint: previous, damaged, refused } = await deps.anchors.latestAnchored(signedByUs);
  for (const { blob, line } of damaged) deps.logger.warn('audit.anchor-line-damaged', { blob, line });
  // So is a well-formed line the log's keys did not sign (anyone who may append can add one):
  // taken for the head, its root, size or time would stop every later run (found by a review).
  // A line under a version of the signing key that is gone (a rotation that disabled the old
  // ones) is unverifiable rather than foreign: said once for each version, with how many, where
  // one warning a checkpoint, on the run after the rotation, was thousands that hid any other.
  // Gone is a version the store records this log anchoring under: Key Vault answers 404 for a
  // version that never was as well, and a line under a made-up one is a forgery like any other
  // (found by a defect hunt).
  const signedWithOnce = await recordedKeyIds(
    deps.store,
    refused.map(({ checkpoint }) => checkpoint.keyId).filter((keyId) => logKeys.keyGone(keyId)),
  );
  const underGoneKeys = new Map<string, number>();
  for (const { blob, checkpoint } of refused) {
    const { keyId, treeSize } = checkpoint;
    if (signedWithOnce.has(keyId)) underGoneKeys.set(keyId, (underGoneKeys.get(keyId) ?? 0) + 1);
    else deps.logger.warn('audit.anchor-line-unsigned', { blob, treeSize });
  }
  for (const [keyId, checkpoints] of underGoneKeys) deps.logger.warn('audit.anchor-key-gone', { keyId, checkpoints });
  // A checkpoint this log anchored, gone from its blob (the blob deleted, or written again
  // without it): the anchors alone would read as a log never anchored, and signing it afresh
  // would launder whatever the lost checkpoints covered (found by a defect hunt).
  if (recorded !== undefined && !(await deps.anchors.holds(recorded.blob, recorded.checkpoint))) {
    deps.logger.warn('audit.checkpoint-alarm', {
      reason: 'anchor-missing',
      blob: recorded.blob,
      treeSize: recorded.checkpoint.treeSize,
    });
    return { checkpoint: undefined, alarm: true };
  }
  // The same of every blob: only the newest checkpoint was held to the record, and an older month's
  // blob deleted, or written again shorter, went unnoticed here while every run signed on (found
  // by a defect hunt). Reading every blob at every run would download the whole anchor log each
  // five minutes; its properties say how many blocks it holds, one a checkpoint, and only a blob
  // holding fewer than the record names is read, to name what it lost. A blob written again to as
  // many blocks with other lines in them is left to verify, which reads them all.
  for (const [blob, checkpoints] of recordedPerBlob) {
    if ((await deps.anchors.blockCount(blob)) >= checkpoints) continue;
    const missing = await deps.anchors.firstMissing(blob, await anchoredCheckpointsIn(deps.store, blob));
    if (missing === undefined) continue;
    deps.logger.warn('audit.checkpoint-alarm', { reason: 'anchor-missing', blob, treeSize: missing.treeSize });
    return { checkpoint: undefined, alarm: true };
  }
  // After a rotation that disabled the old versions no checkpoint is left to extend, and the log
  // was signed afresh without being held to any root: a rewrite of old entries with their stored
  // hashes, made before this run, was signed over and nothing said so (found by a review). The
  // last checkpoint this log anchored is still in the store's record and, the same in every
  // field, in its WORM blob: the log had that root, whether or not its signature can be checked
  // now, and must extend it. That one alone: it was signed as extending every one before it. A
  // line the record does not hold is anyone's (audit.anchor-line-unsigned, or under a key id no
  // version answers for), and a root the log never had must not stop it being signed.
  const recordedIdentity = recorded === undefined ? undefined : checkpointIdentity(recorded.checkpoint);
  const unverifiableHead = refused.some(({ checkpoint }) => checkpointIdentity(checkpoint) === recordedIdentity)
    ? recorded?.checkpoint
    : undefined;
  const mustExtend = [previous, unverifiableHead].filter((c): c is Checkpoint => c !== undefined);
  const tree = new MerkleAccumulator();
  const rootNowAt = new Map<number, string>();
  const noteRoot = () => {
    if (mustExtend.some((c) => c.treeSize === tree.size)) rootNowAt.set(tree.size, tree.root().toString('hex'));
  };
  noteRoot();
  for await (const leaf of storedLeafHashes(deps.store)) {
    tree.push(leaf);
    noteRoot();
  }
  if (unverifiableHead && rootNowAt.get(unverifiableHead.treeSize) !== unverifiableHead.rootHash) {
    deps.logger.warn('audit.checkpoint-alarm', {
      anchoredSize: unverifiableHead.treeSize,
      logSize: tree.size,
      keyId: unverifiableHead.keyId,
    });
    return { checkpoint: undefined, alarm: true };
  }
  if (previous && previous.treeSize === tree.size && previous.rootHash === tree.root().toString('hex')) {
    // Nothing to sign, but a range whose fill failed once its run anchored is not left for the
    // next entry to come (a quiet night) before a subject access request finds it.
    return { checkpoint: undefined, alarm: false, ...(await fillSubjectIndex(deps, previous.treeSize, tree.size)) };
  }
  if (previous && rootNowAt.get(previous.treeSize) !== previous.rootHash) {
    deps.logger.warn('audit.checkpoint-alarm', { anchoredSize: previous.treeSize, logSize: tree.size });
    return { checkpoint: undefined, alarm: true };
  }
  // The stored hashes are what gets signed: each new entry must still hash to its own.
  const altered = await firstUnsignedEntryAltered(deps.store, previous?.treeSize ?? 0, tree.size);
  if (altered !== undefined) {
    deps.logger.warn('audit.checkpoint-alarm', { reason: 'entry-altered', seq: altered });
    return { checkpoint: undefined, alarm: true };
  }
  // Rows the walk from seq 1 does not reach (below 1, a seq twice, none), which verify reports.
  if (await rowsOutsideTheSequence(deps.store)) {
    deps.logger.warn('audit.checkpoint-alarm', { reason: 'sequence-broken' });
    return { checkpoint: undefined, alarm: true };
  }
  // The empty tree's root, signed and anchored for good in WORM storage, proves nothing: no proof
  // can be asked of it, and a DPO reading the anchors met a first line that meant nothing. A log
  // once anchored and now empty has failed the checks above.
  if (tree.size === 0) return { checkpoint: undefined, alarm: false, emptyLog: true };
  // A checkpoint dated before the one it extends would be filed in an earlier month's blob and
  // read back before it, a shrinking log to every later verify, for good (found by a review).
  // Two hosts' clocks a second apart at a month's end do that; this run stands down, and a
  // later one signs once the clock has passed.
  const time = nowOf(deps);
  if (previous !== undefined && time.getTime() < Date.parse(previous.time)) {
    deps.logger.warn('audit.checkpoint-clock-behind', { anchoredTime: previous.time, now: time.toISOString() });
    return { checkpoint: undefined, alarm: false, clockBehind: true };
  }
  const { keyId, privateKey } = await currentSigningKey(deps.secrets);
  const checkpoint = signCheckpoint(
    { treeSize: tree.size, rootHash: tree.root().toString('hex'), time: time.toISOString() },
    privateKey,
    keyId,
  );
  // Another run (the timer and `npm run audit -- checkpoint` at once) may have anchored since the
  // read above, while this one scanned the log and fetched its key: anchored after it, this
  // smaller checkpoint would read as a rollback to every later verify, and a WORM anchor cannot
  // be taken back (found by a review). This run stands down; the next signs what the log holds.
  // What is left is the moment between this read and the append.
  const anchoredSince = (await deps.anchors.latestAnchored(signedByUs)).checkpoint;
  if (!sameCheckpoint(anchoredSince, previous)) {
    deps.logger.info('audit.checkpoint-superseded', { treeSize: checkpoint.treeSize });
    return { checkpoint: undefined, alarm: false };
  }
  const { blob, containerCreated } = await deps.anchors.append(checkpoint);
  await recordAnchoredCheckpoint(deps.store, { blob, checkpoint });
  deps.logger.info('audit.checkpoint', { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash });
  const filled = await fillSubjectIndex(deps, previous?.treeSize ?? 0, checkpoint.treeSize);
  // Lost whole before it held a checkpoint, the container lost nothing the log needs, but the one
  // created in its place is not WORM: until its policy is set again, anchors in it can be deleted
  // or rewritten, which is what they are there to prevent. Said by the one run that created it.
  if (containerCreated) {
    alarmAnchorContainerCreated(deps.logger, deps.anchors.containerName);
    return { checkpoint, alarm: false, containerCreated: deps.anchors.containerName, ...filled };
  }
  return { checkpoint, alarm: false, ...filled };
}

/**
 * Fills the rows of the index of subjects that an instance still running the code before migration
 * 0050 (a rolling deployment) left out, so that a subject access request finds those entries within
 * five minutes rather than once someone runs verify. From the seq the index was last filled through
 * (migration 0051) to `through`, the size this run checked: in the steady state that is the entries
 * since the checkpoint extended, as the whole log read every five minutes would grow with it; after
 * a run whose fill failed once it had anchored, or a checkpoint older code anchored, the range they
 * left as well; with none recorded, the whole log, once. Recorded only once the fill has committed,
 * so that a run ended part-way leaves its range to the next. Concurrent runs (the timer and `npm
 * run audit -- checkpoint`) fill alike and record alike (the fill and the record both take another's
 * rows as their own), and the highest recorded is the one read.
 *
 * Not on an alarm, nor before the checks: the entries since the last checkpoint are then the ones
 * not shown to be as written, and the index is append-only, so rows written from a rewritten
 * subject would name people for good; verify, read by a DPO beside what it reports, fills then.
 * Those at or below `checkedAbove` were signed before this run, which held their stored hashes
 * alone to its checkpoint: each is hashed again, and one found altered is passed over, as verify does.
 */
async function fillSubjectIndex(
  deps: { store: Store; logger: Logger },
  checkedAbove: number,
  through: number,
): Promise<{ subjectIndexFilled?: number }> {
  const filledThrough = await subjectIndexFilledThrough(deps.store);
  if (filledThrough >= through) return {};
  const passOver = await entriesAltered(deps.store, filledThrough, Math.min(checkedAbove, through));
  const rows = await fillSubjectIdIndex(deps.store.db, deps.store.dialect, {
    table: 'access_log_subject_id',
    after: filledThrough,
    through,
    passOver,
  });
  await recordSubjectIndexFilled(deps.store, through);
  if (rows === 0) return {};
  // A count only: the rows name people.
  deps.logger.warn('audit.subject-index-filled', { rows });
  return { subjectIndexFilled: rows };
}

/** The highest seq the index of subjects was filled through (0: none recorded, the whole log is due). */
async function subjectIndexFilledThrough(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('access_log_subject_id_filled')
    .select((eb) => eb.fn.max('through_seq').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

async function recordSubjectIndexFilled(store: Store, through: number): Promise<void> {
  try {
    await store.db.insertInto('access_log_subject_id_filled').values({ through_seq: through }).execute();
  } catch (err) {
    // Another run filled through the same seq and recorded it first.
    if (!isUniqueViolation(err)) throw err;
  }
}

function sameCheckpoint(a: Checkpoint | undefined, b: Checkpoint | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.treeSize === b.treeSize && a.rootHash === b.rootHash && a.time === b.time;
}
