import {
  sql,
  type Expression,
  type Kysely,
  type Selectable,
  type Transaction,
  type UpdateQueryBuilder,
  type UpdateResult,
} from 'kysely';
import { NAME_KEY_LENGTH } from '../store/migrations/0054-import-run-name-index.js';
import type { Database, ImportRunTable } from '../store/schema.js';

/**
 * The import_run ledger: one row per distinct file (party, dataset, content SHA-256). Its status
 * moves `loading` → `loaded` | `rejected` (final), or `failed` when an attempt broke off; a
 * `loading` or `failed` run is taken up again by the next delivery of the same bytes. A final
 * run is opened again ({@link reopenRun}) when a file newer than the current snapshot brings
 * its bytes back after another snapshot replaced them, when a rejected file is uploaded
 * again, or when a file of its bytes under another name finds it rejected for something about
 * the rejected file as delivered rather than the bytes (`rejection_reason`, reasons.ts
 * NON_CONTENT_REASONS; import-extract.ts): the unique key allows one row per
 * content, so the row then describes that file (name, received), and each of its loads has its
 * own access-log entry and report.
 *
 * `attempt` counts the deliveries that took the run up since it was opened: the first is 1, each
 * delivery of an unfinished run adds one. Past MAX_IMPORT_ATTEMPTS (reasons.ts) the file is
 * rejected instead of tried again (import-extract.ts). It also tells the deliveries of one opening
 * apart: an unfinished run is taken up whether its last attempt crashed, failed or is still going
 * (nothing can tell a crashed instance from a slow one), so a delivery may break off after
 * another has taken the run up, and must then fail only its own attempt ({@link markFailed}).
 * Each take-up therefore gets an attempt number of its own, even when two happen at once.
 */
export type ImportRun = Selectable<ImportRunTable>;

export const FINAL_STATUSES: ReadonlySet<ImportRun['status']> = new Set(['loaded', 'rejected']);

type Db = Kysely<Database> | Transaction<Database>;

export async function findRun(
  db: Db,
  partyId: string,
  datasetId: string,
  sha256: string,
): Promise<ImportRun | undefined> {
  return db
    .selectFrom('import_run')
    .selectAll()
    .where('party_id', '=', partyId)
    .where('dataset_id', '=', datasetId)
    .where('content_sha256', '=', sha256)
    .executeTakeFirst();
}

/**
 * The runs of the contents uploaded under one file name (`{partyId}/{datasetId}/{fileName}`) of a
 * party's dataset, as a query to narrow and select from: each upload of the name is a run. Sought
 * by the index of migration 0054, not read from the dataset's whole history; on SQL Server by the
 * name's first characters, which the `substring` term asks for as the index's column is defined.
 */
export function runsUnderName(db: Db, partyId: string, datasetId: string, blobName: string) {
  const start = (name: Expression<string>) => sql<string>`substring(${name}, 1, ${sql.lit(NAME_KEY_LENGTH)})`;
  return db
    .selectFrom('import_run')
    .where('party_id', '=', partyId)
    .where('dataset_id', '=', datasetId)
    .where(start(sql.ref('blob_name')), '=', start(sql.val(blobName)))
    .where('blob_name', '=', blobName);
}

/**
 * Marks the run's latest finish as logged (`entry_logged`), once its access-log entry is written:
 * only the take-up the entry is of (its `received_at`), not one that opened the run again since.
 */
export async function markEntryLogged(db: Db, run: Pick<ImportRun, 'id' | 'received_at'>): Promise<void> {
  await db
    .updateTable('import_run')
    .set({ entry_logged: 1 })
    .where('id', '=', run.id)
    .where('received_at', '=', run.received_at)
    .where('entry_logged', '=', 0)
    .execute();
}

/**
 * Whether a later upload under the run's file name (party, dataset, name) has been taken up since:
 * the partner overwrote the file in incoming with another content before the run finished. Later
 * by upload time (Last-Modified, whole seconds), then by take-up: an earlier upload can be taken
 * up after a later one, its event being delivered late. Runs claimed before upload times were
 * recorded are compared by their take-up alone.
 */
export async function overwrittenSince(db: Db, run: ImportRun): Promise<boolean> {
  const uploaded = (r: Pick<ImportRun, 'uploaded_at' | 'received_at'>) => Date.parse(r.uploaded_at ?? r.received_at);
  const others = await runsUnderName(db, run.party_id, run.dataset_id, run.blob_name)
    .select(['uploaded_at', 'received_at'])
    .where('id', '!=', run.id)
    .execute();
  return others.some(
    (other) =>
      uploaded(other) > uploaded(run) ||
      (uploaded(other) === uploaded(run) && Date.parse(other.received_at) > Date.parse(run.received_at)),
  );
}

export interface RunClaim {
  readonly runId: string;
  readonly partyId: string;
  readonly datasetId: string;
  readonly blobName: string;
  readonly sha256: string;
  readonly now: string;
  /**
   * The date the file says it describes, and its blob's upload time, recorded from the claim on
   * (not only once loaded): retention tells by them whether an unfinished run can only be
   * refused as stale (shared/retention/enforce-retention.ts).
   */
  readonly asOf?: string;
  readonly uploadedAt?: string;
}

/**
 * Takes up a run for loading: a new row, or the existing unfinished one with its attempt
 * counted. Returns the run as this delivery took it up (`loading`, with this delivery's own
 * attempt, which the run keeps only until the next delivery takes it up); or, when the run was
 * already final, as it stands, and the caller treats the file as a duplicate.
 */
export async function claimRun(db: Kysely<Database>, claim: RunClaim): Promise<ImportRun> {
  let existing = await findRun(db, claim.partyId, claim.datasetId, claim.sha256);
  if (existing === undefined) {
    const inserted: ImportRun = {
      id: claim.runId,
      party_id: claim.partyId,
      dataset_id: claim.datasetId,
      blob_name: claim.blobName,
      content_sha256: claim.sha256,
      status: 'loading',
      rows_total: null,
      rows_loaded: null,
      rows_rejected: null,
      received_at: claim.now,
      finished_at: null,
      attempt: 1,
      as_of: claim.asOf ?? null,
      uploaded_at: claim.uploadedAt ?? null,
      rejection_reason: null,
      entry_logged: 0,
    };
    try {
      await db.insertInto('import_run').values(inserted).execute();
      return inserted;
    } catch (err) {
      // Two deliveries of the same bytes raced: the unique key let one insert; take its row up as
      // any later delivery would, with an attempt of this delivery's own (sharing the other's
      // attempt 1, either one's failure would fail the other's attempt too).
      existing = await findRun(db, claim.partyId, claim.datasetId, claim.sha256);
      if (existing === undefined) throw err;
    }
  }
  for (;;) {
    if (FINAL_STATUSES.has(existing.status)) return existing;
    const takenUp = {
      status: 'loading' as const,
      blob_name: claim.blobName,
      attempt: existing.attempt + 1,
      finished_at: null,
      as_of: claim.asOf ?? null,
      uploaded_at: claim.uploadedAt ?? null,
    };
    // Only from the attempt read (of the opening read: a reopened run counts from 1 again): two
    // deliveries taking the run up at once must not both count the same attempt, as they did
    // when each added one and read back whatever the run then held.
    const updated = await db
      .updateTable('import_run')
      .set(takenUp)
      .where('id', '=', existing.id)
      .where('status', 'not in', ['loaded', 'rejected'])
      .where('attempt', '=', existing.attempt)
      .where('received_at', '=', existing.received_at)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) return { ...existing, ...takenUp };
    const now = await findRun(db, claim.partyId, claim.datasetId, claim.sha256);
    if (now === undefined) throw new Error('Import run vanished while being taken up');
    existing = now;
  }
}

/**
 * Opens a final run again for a new load of its bytes (a newer file, a rejected file uploaded
 * again, or another file of bytes rejected for how a file was delivered; see the module comment):
 * `loading`, this file's name and time of receipt, the counts of the last load cleared, the
 * attempts counted from 1 again (they limit
 * one file's tries, MAX_IMPORT_ATTEMPTS). Only if the run is still as the caller read it (status,
 * attempt, times: a run reopened and finished again since differs in its times); otherwise the
 * run is claimed as any other delivery would ({@link claimRun}), which may find it final again.
 */
export async function reopenRun(db: Kysely<Database>, run: ImportRun, claim: RunClaim): Promise<ImportRun> {
  const opened = {
    status: 'loading' as const,
    blob_name: claim.blobName,
    received_at: claim.now,
    rows_total: null,
    rows_loaded: null,
    rows_rejected: null,
    finished_at: null,
    attempt: 1,
    as_of: claim.asOf ?? null,
    uploaded_at: claim.uploadedAt ?? null,
    rejection_reason: null,
    // The finish to come has no entry yet (logRunsLeftUnlogged looks for it).
    entry_logged: 0,
  };
  const reopened = await db
    .updateTable('import_run')
    .set(opened)
    .where('id', '=', run.id)
    .where('status', '=', run.status)
    .where('attempt', '=', run.attempt)
    .where('received_at', '=', run.received_at)
    .where((eb) => (run.finished_at === null ? eb('finished_at', 'is', null) : eb('finished_at', '=', run.finished_at)))
    .executeTakeFirst();
  if (Number(reopened.numUpdatedRows) === 0) return claimRun(db, claim);
  // As this delivery opened it (the next delivery may have taken it up since; see claimRun).
  return { ...run, ...opened };
}

/**
 * Inside a load's transaction, before anything else: takes the write lock on every unfinished
 * run of the party's dataset. A load's own run is `loading` until its transaction commits, so
 * the loads of one dataset are serialised from here to their commit, and two imports cannot both
 * compare their date with the current snapshot and then both replace it. (Only unfinished runs:
 * all of a dataset's runs would be a lock that grows with its history.) Returns the status the
 * run `runId` has once the lock is held: final if another delivery of its bytes finished it.
 */
export async function lockDatasetRuns(
  trx: Transaction<Database>,
  partyId: string,
  datasetId: string,
  runId: string,
): Promise<ImportRun['status'] | undefined> {
  await lockRunRows(trx, (runs) =>
    runs
      .where('party_id', '=', partyId)
      .where('dataset_id', '=', datasetId)
      .where('status', 'in', ['loading', 'failed']),
  );
  const run = await trx.selectFrom('import_run').select('status').where('id', '=', runId).executeTakeFirst();
  return run?.status;
}

/**
 * Inside a transaction: takes the write lock on these runs' rows (an update of their own rows), so
 * that what is read of them, and of their access-log entries, holds until it commits.
 */
export async function lockRuns(trx: Transaction<Database>, runIds: readonly string[]): Promise<void> {
  await lockRunRows(trx, (runs) => runs.where('id', 'in', [...runIds]));
}

type RunsUpdate = UpdateQueryBuilder<Database, 'import_run', 'import_run', UpdateResult>;

/**
 * Takes the write lock on the runs `which` selects, held until the transaction commits: an
 * update that sets `attempt` to itself changes no value, but it is a write all the same, so
 * SQLite takes its database's write lock and SQL Server the rows' exclusive locks, both held to
 * the commit. A read would not keep another transaction from writing them meanwhile.
 */
async function lockRunRows(trx: Transaction<Database>, which: (runs: RunsUpdate) => RunsUpdate): Promise<void> {
  await which(trx.updateTable('import_run').set((eb) => ({ attempt: eb.ref('attempt') }))).execute();
}

export interface RunResult {
  readonly status: 'loaded' | 'rejected' | 'failed';
  /**
   * The file whose load or rejection finishes the run. A delivery of the same bytes under
   * another name may have claimed the run meanwhile (claimRun); without this it would take the
   * run for its own and report a load it never made (found by a review).
   */
  readonly blobName: string;
  readonly rowsTotal: number | null;
  readonly rowsLoaded: number | null;
  readonly rowsRejected: number | null;
  readonly finishedAt: string;
  /** A rejected run's reason (the first of its report's file errors): import_run.rejection_reason. */
  readonly rejectionReason?: string;
  /** A loaded run's snapshot: the date it describes and its blob's upload time. */
  readonly snapshot?: SnapshotOrder;
}

/** Where a snapshot stands among the party's snapshots of a dataset: by date, then by upload. */
export interface SnapshotOrder {
  readonly asOf: string;
  /** ISO time; undefined for a run loaded before it was recorded (and whose records are gone). */
  readonly uploadedAt: string | undefined;
}

/** Whether a file of `incoming` would go back behind the current snapshot: older, or of its date and uploaded before it. */
export function isBehind(incoming: SnapshotOrder, current: SnapshotOrder): boolean {
  if (incoming.asOf !== current.asOf) return incoming.asOf < current.asOf;
  return (
    incoming.uploadedAt !== undefined && current.uploadedAt !== undefined && incoming.uploadedAt < current.uploadedAt
  );
}

/**
 * The snapshot the party's dataset stands at, from the run ledger, so that the order holds after
 * retention has deleted the snapshot's records: the loaded run latest by date, then by upload.
 * Loads only move forward, so that is the one loaded last — told by what the files say, not by
 * when an instance finished (instances' clocks differ), but where the files say the same.
 */
export async function currentSnapshotOrder(
  db: Db,
  partyId: string,
  datasetId: string,
): Promise<(SnapshotOrder & { readonly runId: string }) | undefined> {
  const runs = await db
    .selectFrom('import_run')
    .select(['id', 'as_of', 'uploaded_at', 'finished_at'])
    .where('party_id', '=', partyId)
    .where('dataset_id', '=', datasetId)
    .where('status', '=', 'loaded')
    .where('as_of', 'is not', null)
    .execute();
  let current: (SnapshotOrder & { readonly runId: string }) | undefined;
  let currentFinished = '';
  for (const run of runs) {
    const order = { runId: run.id, asOf: run.as_of!, uploadedAt: run.uploaded_at ?? undefined };
    const finished = run.finished_at ?? '';
    // Two files alike in date and upload time (Last-Modified has whole seconds) are neither behind
    // the other, so the later delivered loads over the earlier: the one that finished last is the
    // snapshot in the store. The first read had stood, and the ledger named the other (found by
    // import-properties). Loads of a dataset are serialised (lockDatasetRuns), so their finishing
    // times are in order but for the clocks of two instances.
    const later =
      current === undefined || isBehind(current, order) || (!isBehind(order, current) && finished > currentFinished);
    if (later) {
      current = order;
      currentFinished = finished;
    }
  }
  return current;
}

/**
 * Finishes a run that is still unfinished, and returns whether it did. A load finishes its own
 * run under the dataset's lock ({@link lockDatasetRuns}), where it always is; a rejection decided
 * outside the lock must never overwrite what another delivery of the bytes committed. Whichever
 * attempt the run is at: every delivery of an opening loads the same bytes, and the first to
 * finish settles the run for the others, which find it final (the fifth attempt's load stands
 * though a sixth delivery took the run up meanwhile; test/shared/imports/exhausted-vs-load). Only
 * {@link markFailed}, which settles nothing, is an attempt's own, and a rejection that is about
 * the delivery's file rather than the bytes, given `onlyAt`, the take-up that decided it (the
 * run still at it, loading or failed since): the
 * file deleted from incoming under it (import-extract.ts, rejectRemoved). A renamed copy of the
 * bytes that took the run up since has its file still there, and must load it. The attempts
 * rejection is the latest take-up's by its nature, and settles the run under an earlier one still
 * going: a renamed copy's, which then breaks off to be retried rather than call its file a
 * duplicate of it (import-extract.ts, RunRejectedForAnotherFile).
 */
export async function finishRun(db: Db, runId: string, result: RunResult, onlyAt?: RunAttempt): Promise<boolean> {
  let update = db
    .updateTable('import_run')
    .set({
      status: result.status,
      blob_name: result.blobName,
      rows_total: result.rowsTotal,
      rows_loaded: result.rowsLoaded,
      rows_rejected: result.rowsRejected,
      finished_at: result.finishedAt,
      rejection_reason: result.status === 'rejected' ? (result.rejectionReason ?? null) : null,
      ...(result.snapshot === undefined
        ? {}
        : { as_of: result.snapshot.asOf, uploaded_at: result.snapshot.uploadedAt ?? null }),
    })
    .where('id', '=', runId)
    .where('status', 'in', ['loading', 'failed']);
  if (onlyAt !== undefined)
    update = update
      .where('id', '=', onlyAt.id)
      .where('attempt', '=', onlyAt.attempt)
      .where('received_at', '=', onlyAt.received_at);
  const updated = await update.executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

/** The take-up of a run by one delivery, as {@link claimRun} or {@link reopenRun} returned it. */
export type RunAttempt = Pick<ImportRun, 'id' | 'attempt' | 'received_at'>;

/**
 * An attempt broke off (the error is rethrown for the trigger to retry): `loading` → `failed`,
 * nothing else, and only while the run is still at that attempt. A delivery slow to break off may
 * find another has taken the run up meanwhile and is loading it: failing the run then would say
 * `failed` (and finished) of a live attempt, and the live one, its file then deleted from
 * incoming, could no longer tell that apart from its own failure and report the removal
 * (import-extract.ts, rejectRemoved), leaving the run `failed` for good. The attempt is counted
 * from 1 again when the run is opened again, so its time of receipt tells the openings apart.
 */
export async function markFailed(db: Db, attempt: RunAttempt, finishedAt: string): Promise<void> {
  await db
    .updateTable('import_run')
    .set({ status: 'failed', finished_at: finishedAt })
    .where('id', '=', attempt.id)
    .where('status', '=', 'loading')
    .where('attempt', '=', attempt.attempt)
    .where('received_at', '=', attempt.received_at)
    .execute();
}
