import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ImportRunTable } from '../store/schema.js';

/**
 * The import_run ledger: one row per distinct file (party, dataset, content SHA-256). Its status
 * moves `loading` → `loaded` | `rejected` (final), or `failed` when an attempt broke off; a
 * `loading` or `failed` run is taken up again by the next delivery of the same bytes.
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

export interface RunClaim {
  readonly runId: string;
  readonly partyId: string;
  readonly datasetId: string;
  readonly blobName: string;
  readonly sha256: string;
  readonly now: string;
}

/**
 * Takes up a run for loading: a new row, or the existing unfinished one with its attempt
 * counted. Returns the run as it now stands; when another delivery finished it in the meantime
 * its final status is returned and the caller treats the file as a duplicate.
 */
export async function claimRun(db: Kysely<Database>, claim: RunClaim): Promise<ImportRun> {
  const existing = await findRun(db, claim.partyId, claim.datasetId, claim.sha256);
  if (existing === undefined) {
    try {
      await db
        .insertInto('import_run')
        .values({
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
        })
        .execute();
    } catch (err) {
      // Two deliveries of the same bytes raced: the unique key let one insert; take up its row.
      const raced = await findRun(db, claim.partyId, claim.datasetId, claim.sha256);
      if (raced === undefined) throw err;
      return raced;
    }
    return (await findRun(db, claim.partyId, claim.datasetId, claim.sha256))!;
  }
  if (FINAL_STATUSES.has(existing.status)) return existing;
  await db
    .updateTable('import_run')
    .set((eb) => ({ status: 'loading', blob_name: claim.blobName, attempt: eb('attempt', '+', 1), finished_at: null }))
    .where('id', '=', existing.id)
    .where('status', 'not in', ['loaded', 'rejected'])
    .execute();
  return (await findRun(db, claim.partyId, claim.datasetId, claim.sha256))!;
}

export interface RunResult {
  readonly status: 'loaded' | 'rejected' | 'failed';
  readonly rowsTotal: number | null;
  readonly rowsLoaded: number | null;
  readonly rowsRejected: number | null;
  readonly finishedAt: string;
}

export async function finishRun(db: Db, runId: string, result: RunResult): Promise<void> {
  await db
    .updateTable('import_run')
    .set({
      status: result.status,
      rows_total: result.rowsTotal,
      rows_loaded: result.rowsLoaded,
      rows_rejected: result.rowsRejected,
      finished_at: result.finishedAt,
    })
    .where('id', '=', runId)
    .execute();
}

/** An attempt broke off (the error is rethrown for the trigger to retry): `loading` → `failed`, nothing else. */
export async function markFailed(db: Db, runId: string, finishedAt: string): Promise<void> {
  await db
    .updateTable('import_run')
    .set({ status: 'failed', finished_at: finishedAt })
    .where('id', '=', runId)
    .where('status', '=', 'loading')
    .execute();
}
