import { randomUUID } from 'node:crypto';
import { LeaseLostError } from '../blob/blob-lease.js';
import { ukDateOf, ukDayStart } from '../domain/uk-date.js';
import type { Kysely } from 'kysely';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { holdsLockEpoch, type LockEpoch } from '../store/lock-epochs.js';
import type { IndicatorCount } from './indicator-counts.js';

/** The recipient, purpose and dataset a release is for. */
export interface ReleaseTarget {
  readonly agreementId: string;
  readonly purposeId: string;
  readonly datasetId: string;
  readonly partyId: string;
}

export interface Release {
  readonly target: ReleaseTarget;
  /** The agreement's version the release was decided under (null only if it has none). */
  readonly agreementVersion: string | null;
  readonly generatedAt: Date;
  readonly lines: readonly IndicatorCount[];
  /** SHA-256 (hex) of the CSV the same lines were written to. */
  readonly countsSha256: string;
  /** The manifest.json written beside the counts, as written: what the lines do not say. */
  readonly manifest: string;
  /** The smallest count it could publish (the CURATED_MIN_CELL setting it was counted under). */
  readonly minCell: number;
}

/** A target the policy allows an export to now, with what it may publish now. */
export interface AllowedTarget extends ReleaseTarget {
  /**
   * The lines its grant lets it publish now: everyone counted, and each field the grant names in
   * the categories it is counted in (a free-text field's by the values the grant names). A release
   * holding any other line was published under a grant a re-signing has since narrowed.
   */
  readonly publishable: readonly { readonly measure: string; readonly categories: readonly string[] }[];
  /**
   * The smallest count it may publish now (CURATED_MIN_CELL). A release published under a lower
   * minimum may hold a count the DPO, raising it, has judged disclosive.
   */
  readonly minCell: number;
}

/** Lines a statement: 7 values each, well under SQL Server's 2,100 parameters. */
const LINES_A_STATEMENT = 200;
/** Releases deleted a statement by id, well under SQL Server's 2,100 parameters. */
const RELEASES_A_STATEMENT = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Stores a release where the view `curated_indicator_counts` shows it (migration 0012), in one
 * transaction: a reader sees the whole release or none of it. The release replaces any earlier
 * one of the same target and UK day (ukDateOf), as the files of its dated folder do, and releases older than
 * `historyDays` go, whatever their target, as the lifecycle rule deletes the dated folders.
 * `fence` is the export lock's epoch this run took: the release rolls back with
 * LeaseLostError if another run has taken the lock since: it may have healed this run's files
 * away and published its own, and the view must not take this one over it. The check is in the
 * transaction, so it holds at the commit, however late the commit reaches the store; a lease
 * renewed just before the commit did not (found by a review), and held the transaction, and
 * SQLite's every other writer, while the renewal waited on the network. Required, not optional:
 * a caller that left it out would commit unfenced, and nothing would say so.
 */
export async function storeRelease(
  store: Store,
  release: Release,
  historyDays: number,
  fence: LockEpoch,
): Promise<void> {
  const { target, generatedAt } = release;
  // The UK's day, as the dated folder's (curated-export.ts): a run between 23:00 and midnight UTC
  // in British Summer Time is the next day's release, not the one before's.
  const day = ukDateOf(generatedAt);
  const dayStart = ukDayStart(day).toISOString();
  const nextDay = ukDayStart(new Date(Date.parse(day) + DAY_MS).toISOString().slice(0, 10)).toISOString();
  const expired = new Date(generatedAt.getTime() - historyDays * DAY_MS).toISOString();
  await store.db.transaction().execute(async (trx) => {
    await checkFence(trx, fence);
    // Expired releases of every target go, those of a recipient no longer exported to among
    // them, with this target's earlier release of the day; by condition, not by a list of ids,
    // which could outgrow SQL Server's 2,100 parameters.
    const replaced = trx
      .selectFrom('curated_release')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([
            eb('party_id', '=', target.partyId),
            eb('purpose_id', '=', target.purposeId),
            eb('dataset_id', '=', target.datasetId),
            eb('generated_at', '>=', dayStart),
            eb('generated_at', '<', nextDay),
          ]),
          eb('generated_at', '<', expired),
        ]),
      );
    await trx.deleteFrom('curated_count').where('release_id', 'in', replaced).execute();
    await trx.deleteFrom('curated_release').where('id', 'in', replaced).execute();
    const id = randomUUID();
    await trx
      .insertInto('curated_release')
      .values({
        id,
        agreement_id: target.agreementId,
        agreement_version: release.agreementVersion,
        purpose_id: target.purposeId,
        dataset_id: target.datasetId,
        party_id: target.partyId,
        generated_at: generatedAt.toISOString(),
        lines: release.lines.length,
        counts_sha256: release.countsSha256,
        manifest: release.manifest,
        min_cell: release.minCell,
      })
      .execute();
    const yn = (b: boolean) => (b ? 'Y' : 'N') as 'Y' | 'N';
    const rows = release.lines.map((l, i) => ({
      release_id: id,
      line: i + 1,
      measure: l.measure,
      category: l.category,
      people: l.people,
      suppressed: yn(l.suppressed),
      special_category: yn(l.specialCategory),
    }));
    for (let i = 0; i < rows.length; i += LINES_A_STATEMENT)
      await trx
        .insertInto('curated_count')
        .values(rows.slice(i, i + LINES_A_STATEMENT))
        .execute();
  });
}

/** Throws LeaseLostError, rolling `trx` back, unless `fence` is still the lock's newest epoch. */
async function checkFence(trx: Kysely<Database>, fence: LockEpoch): Promise<void> {
  if (!(await holdsLockEpoch(trx, fence)))
    throw new LeaseLostError(fence.name, new Error('Another run has taken the lock since'));
}

/**
 * Deletes the releases Power BI's SQL reader must no longer see, at every export run whatever it
 * exports: those older than `historyDays`, and those of a target not in `current`, which no
 * export grant names any more or the policy now refuses (an agreement ended, a grant withdrawn,
 * an agreement re-signed in force from a date to come: what was published under it is not the
 * recipient's to go on reading). Without it a release outlived its grant, and its dated files, for ever, still
 * marked latest (found by a review). Returns how many releases went. Fenced, as
 * storeRelease: a run whose withdrawal reaches the store after another run has taken the lock
 * and published deletes nothing (found by a review: it took that run's release out of the view).
 */
export async function pruneReleases(
  store: Store,
  current: readonly ReleaseTarget[],
  historyDays: number,
  now: Date,
  fence: LockEpoch,
): Promise<number> {
  const expired = new Date(now.getTime() - historyDays * DAY_MS).toISOString();
  return store.db.transaction().execute(async (trx) => {
    await checkFence(trx, fence);
    // With no export grant at all, every release goes (no `where`: SQL Server has no `true`).
    const all = trx.selectFrom('curated_release').select('id');
    const gone =
      current.length === 0
        ? all
        : all.where((eb) =>
            eb.or([
              eb('generated_at', '<', expired),
              eb.not(
                eb.or(
                  current.map((t) =>
                    eb.and([
                      eb('party_id', '=', t.partyId),
                      eb('purpose_id', '=', t.purposeId),
                      eb('dataset_id', '=', t.datasetId),
                    ]),
                  ),
                ),
              ),
            ]),
          );
    await trx.deleteFrom('curated_count').where('release_id', 'in', gone).execute();
    const deleted = await trx.deleteFrom('curated_release').where('id', 'in', gone).executeTakeFirst();
    return Number(deleted.numDeletedRows);
  });
}

/**
 * Deletes the releases of `target` that hold a line its grant no longer lets it publish (a
 * re-signing took a field out of it, or a value it named out of its categories), or that were
 * published under a lower minimum than its own now (CURATED_MIN_CELL raised): what was published
 * of it is no longer the recipient's to go on reading, as a grant withdrawn whole is not
 * (pruneReleases; found by a defect hunt: the view kept the field's counts, and the value's, and
 * the counts under a raised minimum, for the history's 400 days). A release with no minimum
 * recorded (stored before migration 0047) goes too, once: nothing says it was published under the
 * minimum in force now. Returns when each was generated, so that its dated folder goes too. By
 * the ids read first, not by the condition, which reads the lines that the deletion takes first.
 * Fenced, as pruneReleases.
 */
export async function withdrawNoLongerPublishable(
  store: Store,
  target: AllowedTarget,
  fence: LockEpoch,
): Promise<Date[]> {
  return store.db.transaction().execute(async (trx) => {
    await checkFence(trx, fence);
    const beyond = await trx
      .selectFrom('curated_release')
      .select(['id', 'generated_at'])
      .where('party_id', '=', target.partyId)
      .where('purpose_id', '=', target.purposeId)
      .where('dataset_id', '=', target.datasetId)
      .where((eb) =>
        eb.or([
          eb('min_cell', 'is', null),
          eb('min_cell', '<', target.minCell),
          eb.exists(
            eb
              .selectFrom('curated_count')
              .select('curated_count.line')
              .whereRef('curated_count.release_id', '=', 'curated_release.id')
              .where((line) =>
                line.not(
                  line.or(
                    target.publishable.map(({ measure, categories }) =>
                      line.and([
                        line('curated_count.measure', '=', measure),
                        line('curated_count.category', 'in', [...categories]),
                      ]),
                    ),
                  ),
                ),
              ),
          ),
        ]),
      )
      .execute();
    for (let i = 0; i < beyond.length; i += RELEASES_A_STATEMENT) {
      const ids = beyond.slice(i, i + RELEASES_A_STATEMENT).map((r) => r.id);
      await trx.deleteFrom('curated_count').where('release_id', 'in', ids).execute();
      await trx.deleteFrom('curated_release').where('id', 'in', ids).execute();
    }
    return beyond.map((r) => new Date(r.generated_at));
  });
}

/**
 * The releases of a target the SQL view holds, newest first: the ones a run finished, files and
 * view alike (the view's is the run's last write).
 */
export async function storedReleasesOf(
  store: Store,
  target: ReleaseTarget,
): Promise<{ id: string; generatedAt: Date; countsSha256: string }[]> {
  const rows = await store.db
    .selectFrom('curated_release')
    .select(['id', 'generated_at', 'counts_sha256'])
    .where('party_id', '=', target.partyId)
    .where('purpose_id', '=', target.purposeId)
    .where('dataset_id', '=', target.datasetId)
    .orderBy('generated_at', 'desc')
    .execute();
  return rows.map((r) => ({ id: r.id, generatedAt: new Date(r.generated_at), countsSha256: r.counts_sha256 }));
}

/**
 * A stored release's lines, in their order, and its manifest as written (undefined for a release
 * stored before migration 0047, or gone since). Read from the tables, not the view: on SQL
 * Server the view shows only the releases of the reader's own parties (user_name()), and the
 * host's user is no reader.
 */
export async function storedReleaseContent(
  store: Store,
  releaseId: string,
): Promise<{ lines: IndicatorCount[]; manifest: string } | undefined> {
  const release = await store.db
    .selectFrom('curated_release')
    .select('manifest')
    .where('id', '=', releaseId)
    .executeTakeFirst();
  if (release === undefined || release.manifest === null) return undefined;
  const rows = await store.db
    .selectFrom('curated_count')
    .select(['measure', 'category', 'people', 'suppressed', 'special_category'])
    .where('release_id', '=', releaseId)
    .orderBy('line')
    .execute();
  return {
    manifest: release.manifest,
    lines: rows.map((r) => ({
      measure: r.measure,
      category: r.category,
      people: r.people === null ? null : Number(r.people),
      suppressed: r.suppressed === 'Y',
      specialCategory: r.special_category === 'Y',
    })),
  };
}
