import { createHash, hkdfSync, randomUUID } from 'node:crypto';
import type { BlobRequestConditions, BlobServiceClient } from '@azure/storage-blob';
import { parquetWriteBuffer, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { AccessLog } from '../audit/access-log.js';
import { LeaseLostError, takeBlobLease, type HeldLease } from '../blob/blob-lease.js';
import { CONTAINERS, statusCodeOf } from '../blob/blob-storage.js';
import { clockOf, nowOf } from '../clock.js';
import type { StoreConsentRegister } from '../consents/store-consent-register.js';
import { spreadsheetTextCell } from '../csv-cell.js';
import { ukDateOf } from '../domain/uk-date.js';
import { errorKind, type Logger } from '../logging.js';
import { jointSystemScopeConditions } from '../people/joint-system-scope.js';
import { suppliedNow } from '../people/person-view.js';
import { decide } from '../policy/decide.js';
import type { AllowDecision, Decision } from '../policy/decision.js';
import { keepsPerson, type KeepWhileRecord } from '../retention/keep-while.js';
import type { SecretSource } from '../secrets/secret-source.js';
import type { Store } from '../store/database.js';
import { takeLockEpoch, type LockEpoch } from '../store/lock-epochs.js';
import { snapshotReads } from '../store/snapshot-transaction.js';
import type { Database } from '../store/schema.js';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  pruneReleases,
  storedReleaseContent,
  storedReleasesOf,
  storeRelease,
  withdrawNoLongerPublishable,
  type AllowedTarget,
  type ReleaseTarget,
} from './curated-releases.js';
import {
  ALL_CATEGORY,
  ALL_PEOPLE,
  categoriesOf,
  IndicatorTally,
  personValues,
  ROUND_TO,
  roundToStep,
  type CountedField,
  type DatedRecord,
  type IndicatorCount,
} from './indicator-counts.js';
import { withAttributes } from '../store/record-attributes.js';

export interface CuratedExportDependencies {
  readonly store: Store;
  readonly agreements: AgreementSet;
  readonly consents: StoreConsentRegister;
  readonly accessLog: AccessLog;
  readonly blobs: BlobServiceClient;
  readonly secrets: SecretSource;
  readonly logger: Logger;
  /** Counts below this are suppressed (the CURATED_MIN_CELL setting). */
  readonly minCell: number;
  /** Days a release stays in the store's view (the CURATED_HISTORY_DAYS setting). */
  readonly historyDays: number;
  /** Default `curated`; tests use a container of their own. */
  readonly container?: string;
  readonly now?: () => Date;
  /**
   * The timer's runs: a target whose release of the day (the UK's) the SQL view already holds is
   * not exported again (a retry after another run published it would publish the same day twice,
   * with fresh noise where anything changed meanwhile). An operator's run publishes anew.
   */
  readonly skipReleasedToday?: boolean;
  /** Seconds the export lock's lease lasts unrenewed; the production default (60) unless a test wants it to lapse sooner. */
  readonly leaseSeconds?: number;
}

export interface CuratedExportSummary {
  readonly agreementId: string;
  readonly purposeId: string;
  readonly datasetId: string;
  readonly partyId: string;
  /**
   * `denied`: the policy refused the export (the reason is logged); nothing was written, and what
   * was published to the target before was withdrawn. `busy`: another export run (the timer's,
   * an operator's, another host's) held the export lock; this run touched nothing.
   * `lease-lost`: this run lost the export lock part way (its renewals failed or it stalled past
   * the lease), so another run may be writing: it stopped, writing and putting back nothing more
   * for this target or any after it; what it left is healed by the next run.
   * `already-released`: (skipReleasedToday) the view holds the target's release of the day;
   * nothing was written.
   */
  readonly outcome: 'written' | 'denied' | 'busy' | 'lease-lost' | 'already-released';
  /** The folder of the curated container the files went to, `<party>/<purpose>/<dataset>/`. */
  readonly folder: string;
  readonly lines: number;
  /**
   * Records with no person id yet (a linking pass gives them one): left out of this export. For a
   * grant for the recipient's own subjects, only the recipient's own records.
   */
  readonly recordsAwaitingLinkage: number;
  /** How many people were counted, for the run's summary; the files hold only blurred counts. */
  readonly peopleCounted: number;
}

/**
 * What a run did: its `summaries`, target by target, and `withdrawalStopped` where its withdrawal
 * of what no grant allows any more (withdrawReleases) lost the export lock: it stopped, and what
 * it was to take away may still be published until a run withdraws it. Said apart from the
 * targets, as it concerns none of them and a run may have none left (its only grant gone), and
 * then named nothing (found by a review: `npm run curate` said no agreement grants an export and
 * exited 0, and the timer did not retry). A field of its own, not one added to the array of
 * summaries, which filtering or mapping it dropped without a word (found by a review).
 */
export interface CuratedExportRun {
  readonly summaries: readonly CuratedExportSummary[];
  readonly withdrawalStopped?: 'lease-lost';
}

/** The access log's action and client for an export. */
export const EXPORT_ACTION = 'export';
const CLIENT_ID = 'curated-export';
export const COUNTS_FILE = 'indicator-counts.csv';
/** The same lines, typed (people an integer or null): what Power BI and DuckDB read best. */
export const COUNTS_PARQUET_FILE = 'indicator-counts.parquet';
export const MANIFEST_FILE = 'manifest.json';
/** The blob of the curated container whose lease an export run holds: one run at a time. */
export const EXPORT_LOCK_BLOB = 'export.lock';
/** Records read a page; each page is one indexed range read. */
const PAGE = 2000;

interface ExportTarget {
  readonly agreementId: string;
  readonly purposeId: string;
  readonly datasetId: string;
  readonly partyId: string;
  readonly roles: readonly string[];
  /** Per free-text field, the values the export grant names (`categories`). */
  readonly categories: Readonly<Record<string, readonly string[]>>;
  /**
   * The grant says `subjects: with-caller-record`: the recipient may be told about the people its
   * own extract of the dataset holds (a provider's tenants), as its lookups are, and no one else.
   */
  readonly ownSubjectsOnly: boolean;
}

/**
 * The planning export (`export` grants): for each party a grant names, the counts of people per
 * value of the granted fields across everyone in the dataset the joint system may hold, made
 * safe to publish by
 * indicator-counts.ts, written to the curated container for Power BI as
 * `<party>/<purpose>/<dataset>/latest/indicator-counts.csv` with a `manifest.json` beside it,
 * and a dated copy under `<date>/` beside `latest/`.
 *
 * Each export goes through the policy decision point like a lookup, and writes one access-log
 * entry (action `export`, no subject, the fields counted) before any file is written: if the
 * entry cannot be written, nothing is. People with a national data opt-out are left out where
 * the purpose applies it; where the purpose needs consent, only people with a current consent
 * are counted. A grant for the recipient's own subjects (`subjects: with-caller-record`) counts
 * only people its own extract holds a record of: it must not tell a provider about households it
 * could not look up (found by a review: everyone in the dataset was counted). Where the
 * agreement keeps the dataset on the joint system only while a condition holds (the ISA: while
 * Housing has them in temporary accommodation), only people it holds for
 * now are counted, as a lookup shows only them: retention deletes the others, but waits whenever
 * it cannot judge everyone, and what it has yet to delete is not the analysts' to count. Only
 * records that hold a person id are counted, so no one is counted twice; the manifest says how
 * many records were waiting for a linking pass to give them one (for a grant for the recipient's
 * own subjects, how many of the recipient's own records were).
 *
 * One target that fails does not stop the others; the first failure is thrown at the end, so the
 * host records the run as failed. Each allowed target's folders are healed first of what a run
 * whose process died part way left in them (healReleaseFiles).
 *
 * One run at a time, across processes and hosts (the monthly timer, an operator's `npm run
 * curate`, a second instance): a run heals what it takes for a dead run's leftovers, so a second
 * run beside a live one would undo the first's files before its SQL release, leaving files and
 * view apart. A run that finds the lock held touches nothing and reports every target `busy`.
 */
export async function exportCurated(deps: CuratedExportDependencies): Promise<CuratedExportRun> {
  const container = deps.blobs.getContainerClient(deps.container ?? CONTAINERS.curated);
  const lease = await takeBlobLease(container, EXPORT_LOCK_BLOB, {
    leaseSeconds: deps.leaseSeconds,
    // Noted as soon as it is known, not only when the run next writes: a run stalled in a write
    // may not come back for a while.
    onLost: (err) => deps.logger.warn('curated.export-lease-lost', { error: errorKind(err.cause) }),
  });
  if (lease === undefined) {
    const targets = exportTargets(deps.agreements);
    for (const target of targets) deps.logger.warn('curated.export-busy', idsOf(target));
    return { summaries: targets.map((target) => nothingWritten(target, 'busy')) };
  }
  try {
    return await exportUnderLease(deps, { lease, epoch: await takeLockEpoch(deps.store, exportLockName(deps)) });
  } finally {
    await lease.release();
  }
}

/**
 * The export lock as this run holds it: the blob lease, and the epoch it took of the lock in the
 * store as it took the lease, which fences its SQL release (storeRelease).
 */
interface HeldExportLock {
  readonly lease: HeldLease;
  readonly epoch: LockEpoch;
}

/** The export lock's name among the store's lock epochs: its container's, as tests use their own. */
function exportLockName(deps: Pick<CuratedExportDependencies, 'container'>): string {
  return `${deps.container ?? CONTAINERS.curated}/${EXPORT_LOCK_BLOB}`;
}

async function exportUnderLease(deps: CuratedExportDependencies, lock: HeldExportLock): Promise<CuratedExportRun> {
  const { lease } = lock;
  const summaries: CuratedExportSummary[] = [];
  let failure: unknown;
  const now = clockOf(deps);
  const decided: { target: ExportTarget; decision: Decision }[] = [];
  for (const target of exportTargets(deps.agreements))
    decided.push({ target, decision: await decideExport(deps, target, now) });
  // A withdrawal that lost the lock stops the run as a release's does (found by a review: it
  // escaped as a crash, the operator's `npm run curate` and the timer's log naming no target).
  let withdrawalLost = false;
  try {
    await withdrawReleases(
      deps,
      decided.flatMap((d) => allowedAsDecided(deps, d)),
      lock,
    );
  } catch (err) {
    if (!(await leaseLostBy(err, lease))) throw err;
    // Said here as well as target by target: a run left with no target (its only grant gone, so
    // all it did was withdraw) named none, and logged nothing, while what it was to withdraw may
    // still be published (found by a review).
    deps.logger.warn('curated.withdrawal-stopped', { reason: 'lease-lost' });
    withdrawalLost = true;
  }
  for (const { target, decision } of decided) {
    // Another run may hold the lock now, and whatever this one wrote would land over its release.
    if (withdrawalLost || lease.signal.aborted) {
      deps.logger.warn('curated.export-stopped', { ...idsOf(target), reason: 'lease-lost' });
      summaries.push(nothingWritten(target, 'lease-lost'));
      continue;
    }
    try {
      // Before anything is counted or written: what a run that died part way left (a release
      // neither whole nor the view's) is not to be read, nor put back should this run fail too.
      if (decision.allow) {
        await lease.confirm();
        await healReleaseFiles(deps, target, lease.signal);
        if (deps.skipReleasedToday === true && (await releasedToday(deps, target, now()))) {
          deps.logger.info('curated.export-already-released', idsOf(target));
          summaries.push(nothingWritten(target, 'already-released'));
          continue;
        }
      }
      summaries.push(await exportTarget(deps, target, decision, lock));
    } catch (err) {
      // A fenced write refused (412) may be the first the run hears of the takeover, before any
      // renewal has failed (found by a review: a heal's refused upload was logged a failure to
      // investigate, while the run that took the lock was publishing).
      if (await leaseLostBy(err, lease)) {
        deps.logger.warn('curated.export-stopped', { ...idsOf(target), reason: 'lease-lost' });
        summaries.push(nothingWritten(target, 'lease-lost'));
        continue;
      }
      deps.logger.error('curated.export-failed', { ...idsOf(target), error: errorKind(err) });
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return withdrawalLost ? { summaries, withdrawalStopped: 'lease-lost' } : { summaries };
}

/**
 * Whether `err` came of the export lock lost: the lease gone (LeaseLostError, or a request the
 * lease's signal abandoned), or a fenced write or delete refused (412) because another run has
 * written the file since, which a renewal, refused too, confirms: a 412 while the lease is still
 * this run's is some other failure.
 */
async function leaseLostBy(err: unknown, lease: HeldLease): Promise<boolean> {
  if (err instanceof LeaseLostError || lease.signal.aborted) return true;
  if (statusCodeOf(err) !== 412) return false;
  return lease.confirm().then(
    () => false,
    (renewal: unknown) => renewal instanceof LeaseLostError,
  );
}

/**
 * What the heal-only pass reads and writes: it counts nothing, so needs no key or log; the minimum
 * is what a release it keeps must have been published under (withdrawReleases).
 */
export type CuratedHealDependencies = Pick<
  CuratedExportDependencies,
  'store' | 'agreements' | 'consents' | 'blobs' | 'logger' | 'minCell' | 'historyDays' | 'container' | 'now'
>;

/**
 * Heals every allowed target's folders (healReleaseFiles) without exporting: an export heals only
 * when it runs, and the next may be a month away (the timer's retries spent) or never come
 * locally (the local timer keeps no schedule state), while Power BI reads what a dead run left
 * in latest/. The host runs it at start and daily. Under the export lock, as an export's heal is:
 * beside a live run it would take that run's files for a dead one's. First it withdraws what no
 * grant allows any more (withdrawReleases), as an export run does: left to the next export, what
 * was published under a withdrawn grant or an ended agreement stayed in the SQL view and latest/
 * for up to a month (found by a defect hunt). `busy` when another run holds the lock; it heals
 * as it goes, or is live. `lease-lost` when another run took the lock part way: the pass
 * stopped, and what it did not heal is that run's to heal, so it is no failure (found by a
 * review: the daily timer was recorded as failed, and `npm start` said the files were not
 * healed, while the run that took the lock healed them). A target that fails does not stop the
 * others; the first failure is thrown at the end, even where the pass then lost the lock.
 */
export async function healCurated(deps: CuratedHealDependencies): Promise<'healed' | 'busy' | 'lease-lost'> {
  const container = deps.blobs.getContainerClient(deps.container ?? CONTAINERS.curated);
  const lease = await takeBlobLease(container, EXPORT_LOCK_BLOB);
  if (lease === undefined) {
    deps.logger.info('curated.heal-busy');
    return 'busy';
  }
  let failure: unknown;
  let leaseLost = false;
  try {
    // Taken as an export run takes it: a run whose lease this pass took, and whose files it may
    // heal away, must not then commit its release to the view.
    const epoch = await takeLockEpoch(deps.store, exportLockName(deps));
    const now = clockOf(deps);
    const allowed: AllowedExportTarget[] = [];
    for (const target of exportTargets(deps.agreements))
      allowed.push(...allowedAsDecided(deps, { target, decision: await decideExport(deps, target, now) }));
    try {
      await withdrawReleases(deps, allowed, { lease, epoch });
    } catch (err) {
      // The run that took the lock withdraws what this pass did not, as it heals.
      if (!(await leaseLostBy(err, lease))) throw err;
      deps.logger.warn('curated.withdrawal-stopped', { reason: 'lease-lost' });
      return 'lease-lost';
    }
    for (const target of allowed) {
      try {
        await lease.confirm();
        await healReleaseFiles(deps, target, lease.signal);
      } catch (err) {
        // Another run holds the lock now: whatever this pass did not heal is that run's to heal. A
        // refused (412) upload may be the first the pass hears of it (found by a review: logged a
        // failure to investigate while the run that took the lock was publishing).
        if (await leaseLostBy(err, lease)) {
          deps.logger.warn('curated.heal-stopped', { ...idsOf(target), reason: 'lease-lost' });
          leaseLost = true;
          break;
        }
        deps.logger.error('curated.heal-failed', { ...idsOf(target), error: errorKind(err) });
        failure ??= err;
      }
    }
  } finally {
    await lease.release();
  }
  if (failure !== undefined) throw failure;
  return leaseLost ? 'lease-lost' : 'healed';
}

/** A target the policy allows an export to now, with the lines its grant lets it publish now and the minimum count. */
type AllowedExportTarget = ExportTarget & AllowedTarget;

/** The target as the policy decided on it: allowed, with the lines it may publish now and the minimum now, or none. */
function allowedAsDecided(
  deps: Pick<CuratedHealDependencies, 'agreements' | 'minCell'>,
  { target, decision }: { target: ExportTarget; decision: Decision },
): AllowedExportTarget[] {
  if (!decision.allow) return [];
  const publishable = [
    { measure: ALL_PEOPLE, categories: [ALL_CATEGORY] },
    ...countedFieldsOf(deps, target, decision).map((counted) => ({
      measure: counted.field.name,
      categories: categoriesOf(counted),
    })),
  ];
  return [{ ...target, publishable, minCell: deps.minCell }];
}

/** The fields an allowed export of `target` counts: the decision's, each with the values its grant names. */
function countedFieldsOf(
  deps: Pick<CuratedHealDependencies, 'agreements'>,
  target: ExportTarget,
  decision: AllowDecision,
): CountedField[] {
  const entry = deps.agreements.dataset(target.datasetId)!;
  const special = decision.specialCategoryFields.get(target.datasetId) ?? new Set<string>();
  return [...(decision.fields.get(target.datasetId) ?? [])].map((name) => ({
    field: entry.fields.get(name)!,
    specialCategory: special.has(name),
    categories: target.categories[name] ?? [],
  }));
}

/**
 * What no export grant covers any more, or is past its history, goes before the run exports (and
 * at every heal-only pass):
 * the SQL releases (pruneReleases), and every file of a target no grant names, `latest/` and its
 * dated folders alike: what was published under a grant that has gone is not the recipient's to
 * go on reading, in the view or in the container (found by a review: the dated copies stayed for
 * the lifecycle rule's 400 days, whole, after the view had dropped them). `current` holds only
 * the targets the policy allows now: a grant it refuses (its agreement re-signed, in force from a
 * date to come; the recipient no longer holding a granted role) is no basis for reading what was
 * published under it either (found by a review: the last release stayed, marked latest, in the
 * view and in latest/), and its next allowed run publishes afresh. Nor is a release that counts a
 * field the target's grant no longer names, or names a value its categories no longer list (a
 * re-signing narrowed it), or was published under a lower minimum than CURATED_MIN_CELL's now (the
 * DPO raised it): it leaves the view (withdrawNoLongerPublishable) and its dated folder goes; the
 * heal that follows puts latest/ back on the newest release left, or empties it (found by a defect
 * hunt: the field's counts, and those under a raised minimum, stayed in latest/ till the next
 * export, and in the view and the dated folders for 400 days). A current
 * target's other dated folders go by the lifecycle rule. Only the release files of a release
 * folder go: nothing else in the container is the export's to delete. In each folder the manifest goes first, so a
 * run that fails part way leaves none beside files it no longer describes.
 */
async function withdrawReleases(
  deps: CuratedHealDependencies,
  current: readonly AllowedExportTarget[],
  { lease, epoch }: HeldExportLock,
): Promise<void> {
  const now = nowOf(deps);
  let releases = await pruneReleases(deps.store, current, deps.historyDays, now, epoch);
  // By target folder, the days of the releases withdrawn for a line no longer granted or a minimum since raised.
  const unpublishable = new Map<string, Set<string>>();
  for (const target of current) {
    const withdrawnAt = await withdrawNoLongerPublishable(deps.store, target, epoch);
    releases += withdrawnAt.length;
    if (withdrawnAt.length > 0) unpublishable.set(targetFolderOf(target), new Set(withdrawnAt.map(ukDateOf)));
  }
  const folders = new Set(current.map(targetFolderOf));
  const container = deps.blobs.getContainerClient(deps.container ?? CONTAINERS.curated);
  const withdrawn: string[] = [];
  // Each delete is renewed first and fenced on the ETag the listing gave (fencedWrites): one
  // that reaches the service only after the lease has gone must not take a file that the run
  // which took the lock has published since (found by a review: the deletes were unconditioned).
  const etags: SeenETags = new Map();
  const fenced = fencedWrites(container, etags, lease.signal, () => lease.confirm());
  for await (const blob of container.listBlobsFlat()) {
    const folder = releaseFolderOf(blob.name);
    if (folder === undefined) continue;
    if (folders.has(folder) && !unpublishable.get(folder)?.has(blob.name.slice(folder.length).split('/')[0]!)) continue;
    withdrawn.push(blob.name);
    etags.set(blob.name, blob.properties.etag);
  }
  const manifestsFirst = (name: string) => (name.endsWith(`/${MANIFEST_FILE}`) ? 0 : 1);
  withdrawn.sort((a, b) => manifestsFirst(a) - manifestsFirst(b));
  for (const name of withdrawn) await fenced.remove(name);
  if (releases > 0 || withdrawn.length > 0)
    deps.logger.info('curated.releases-withdrawn', { releases, files: withdrawn.length });
}

/** The folder of the curated container a target's releases go to: `<party>/<purpose>/<dataset>/`. */
function targetFolderOf(target: ReleaseTarget): string {
  return `${target.partyId}/${target.purposeId}/${target.datasetId}/`;
}

/**
 * The target folder (`<party>/<purpose>/<dataset>/`) of a file the export writes: one of a
 * release's files in `latest/` or a dated folder. Undefined for any other name.
 */
function releaseFolderOf(name: string): string | undefined {
  const [party, purpose, dataset, sub, file, ...more] = name.split('/');
  if (more.length > 0 || file === undefined || sub === undefined) return undefined;
  if (sub !== 'latest' && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(sub)) return undefined;
  if (![COUNTS_FILE, COUNTS_PARQUET_FILE, MANIFEST_FILE].includes(file)) return undefined;
  return `${party}/${purpose}/${dataset}/`;
}

type CuratedContainer = ReturnType<BlobServiceClient['getContainerClient']>;

/** A release's files, the manifest last: it is written after the counts it describes. */
const RELEASE_FILES: readonly (readonly [string, string])[] = [
  [COUNTS_FILE, 'text/csv; charset=utf-8'],
  [COUNTS_PARQUET_FILE, 'application/vnd.apache.parquet'],
  [MANIFEST_FILE, 'application/json'],
];

/** What of the manifest says which release it is and which counts it describes. */
const manifestRead = z.object({ generatedAt: z.string(), files: z.record(z.string(), z.string()) });

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/**
 * The counts files of a release, from its lines: what exportTarget writes, and what the heal
 * writes again from the lines the store holds. The same lines and time give the same bytes.
 */
function countsFilesOf(
  generatedAt: string,
  datasetId: string,
  lines: readonly IndicatorCount[],
): { csv: Buffer; parquet: Buffer } {
  return {
    csv: Buffer.from(countsCsv(generatedAt, datasetId, lines), 'utf8'),
    parquet: Buffer.from(countsParquet(generatedAt, datasetId, lines)),
  };
}

/** The SQL view holds the target's release of the UK day of `now`: a run finished it, files and view. */
async function releasedToday(deps: CuratedExportDependencies, target: ExportTarget, now: Date): Promise<boolean> {
  const today = ukDateOf(now);
  return (await storedReleasesOf(deps.store, target)).some((r) => ukDateOf(r.generatedAt) === today);
}

/**
 * Another run held the export lock (`busy`), or took it from this one (`lease-lost`): thrown by
 * the timer's run so that the host's retry policy tries again, as for any failed run, since the
 * other run may yet fail and leave the month without its release.
 */
export class ExportBusyError extends Error {
  constructor(readonly targets: number) {
    super('Another planning export run held the export lock; this run is to be tried again');
    this.name = 'ExportBusyError';
  }
}

/**
 * The monthly timer's run: exportCurated, each target once a day (skipReleasedToday), so a retry
 * after a run that published the day's release does nothing; a run that found the lock held, or
 * lost it (in a target or its withdrawal), throws ExportBusyError for the host to retry. An
 * operator's `npm run curate` calls exportCurated and says busy rather than retrying.
 */
export async function scheduledExport(deps: CuratedExportDependencies): Promise<CuratedExportRun> {
  const run = await exportCurated({ ...deps, skipReleasedToday: true });
  const waiting = run.summaries.filter((s) => s.outcome === 'busy' || s.outcome === 'lease-lost');
  if (waiting.length === 0 && run.withdrawalStopped === undefined) return run;
  deps.logger.warn('curated.export-retry-wanted', {
    targets: waiting.length,
    withdrawalStopped: run.withdrawalStopped !== undefined,
  });
  throw new ExportBusyError(waiting.length);
}

/** A target's summary where this run wrote no release for it: `outcome` says why. */
function nothingWritten(
  target: ExportTarget,
  outcome: Exclude<CuratedExportSummary['outcome'], 'written'>,
): CuratedExportSummary {
  const folder = targetFolderOf(target);
  return { ...idsOf(target), outcome, folder, lines: 0, recordsAwaitingLinkage: 0, peopleCounted: 0 };
}

/** Each release file's ETag as this run last saw it under its lease, by blob name (undefined: not there). */
type SeenETags = Map<string, string | undefined>;

/**
 * Writes and deletes of release files under the export lock. `renew`, given, runs before each, so
 * none starts once the lease is known lost. `signal` is the lock's: a request still on its way
 * when the lease is known lost is abandoned. One already sent it cannot recall, so each carries
 * the ETag `seen` holds for the file (read by releaseFilesIn, or left by the last write here;
 * none: it must not be there), and the service refuses (412) one that reaches it only after the
 * lease has gone over any other run's write since.
 */
function fencedWrites(
  container: CuratedContainer,
  seen: SeenETags,
  signal: AbortSignal,
  renew?: () => Promise<unknown>,
) {
  return {
    async put(name: string, body: Buffer, contentType: string): Promise<void> {
      await renew?.();
      const etag = seen.get(name);
      const conditions: BlobRequestConditions = etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: etag };
      const written = await container.getBlockBlobClient(name).upload(body, body.length, {
        blobHTTPHeaders: { blobContentType: contentType },
        abortSignal: signal,
        conditions,
      });
      seen.set(name, written.etag);
    },
    async remove(name: string): Promise<void> {
      await renew?.();
      const etag = seen.get(name);
      if (etag !== undefined)
        await container.getBlobClient(name).deleteIfExists({ conditions: { ifMatch: etag }, abortSignal: signal });
      seen.set(name, undefined);
    },
  };
}

type FencedWrites = ReturnType<typeof fencedWrites>;

/**
 * What a folder (`<party>/<purpose>/<dataset>/<sub>/`) holds of a release's files now; with
 * `etags`, each file's ETag (undefined: not there) is noted in it by its blob name.
 */
async function releaseFilesIn(
  container: CuratedContainer,
  prefix: string,
  etags?: SeenETags,
): Promise<Map<string, Buffer | undefined>> {
  const held = new Map<string, Buffer | undefined>();
  for (const [name] of RELEASE_FILES) {
    const blob = container.getBlobClient(`${prefix}${name}`);
    const etag = await blob.getProperties().then(
      (p) => p.etag,
      (err: unknown) => {
        if (statusCodeOf(err) === 404) return undefined;
        throw err;
      },
    );
    etags?.set(`${prefix}${name}`, etag);
    // The bytes of the version whose ETag was read, or none: a write between fails the read.
    held.set(
      name,
      etag === undefined ? undefined : await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } }),
    );
  }
  return held;
}

/**
 * The release a folder holds whole — its manifest, and beside it the counts files whose SHA-256
 * it gives — or undefined: a run that died between the writes left counts with no manifest, or
 * (a reader's copy, or a file put back by hand) a manifest beside other counts.
 */
function wholeRelease(
  held: ReadonlyMap<string, Buffer | undefined>,
): { generatedAt: Date; countsSha256: string } | undefined {
  const manifest = held.get(MANIFEST_FILE);
  if (manifest === undefined) return undefined;
  let parsed: z.infer<typeof manifestRead>;
  try {
    parsed = manifestRead.parse(JSON.parse(manifest.toString('utf8')));
  } catch {
    return undefined;
  }
  for (const name of [COUNTS_FILE, COUNTS_PARQUET_FILE]) {
    const body = held.get(name);
    if (body === undefined || parsed.files[name] !== sha256(body)) return undefined;
  }
  return { generatedAt: new Date(parsed.generatedAt), countsSha256: parsed.files[COUNTS_FILE]! };
}

/**
 * Replaces a folder's release files with `files` (an absent one deleted): the manifest goes first
 * and comes back last, so a process that dies on the way leaves no manifest beside counts it does
 * not describe, and the next run heals the folder again. `writes` are fenced on the ETags
 * releaseFilesIn read of the folder under the lease.
 */
async function replaceReleaseFiles(
  prefix: string,
  files: ReadonlyMap<string, Buffer | undefined>,
  writes: FencedWrites,
): Promise<void> {
  await writes.remove(`${prefix}${MANIFEST_FILE}`);
  for (const [name, type] of RELEASE_FILES) {
    const body = files.get(name);
    if (body !== undefined) await writes.put(`${prefix}${name}`, body, type);
    else if (name !== MANIFEST_FILE) await writes.remove(`${prefix}${name}`);
  }
}

/**
 * Heals what a run that died part way (the process killed, the host recycled: no catch ran to put
 * anything back) left in a target's folders. Blob Storage renames no folder at once, so a reader
 * could find latest/ with the new counts and no manifest, or the old manifest beside them, until
 * a run wrote it again: a month later, or never, were that run to fail before it wrote. A folder
 * holds a release the run finished when it holds it whole (wholeRelease) and the SQL view holds
 * it too: the view is written last. Any other latest/ is put back to the view's newest release:
 * from its dated folder where that holds it whole, else written again from the lines the store
 * holds (rebuiltRelease: a same-day rerun that died after rewriting the day's folder and latest/
 * left no folder holding the day's finished release, and latest/ went back a release, or empty,
 * while the view still marked that day's latest: found by a review); failing both, to the newest
 * release a dated folder holds whole, or emptied if none does. Any other dated folder of the
 * view's newest day or later gets latest/'s release if it is that day's (or the newest release,
 * written again, if that is), and is emptied if not. Releases older than the view's history are
 * left to the lifecycle rule. Logged with ids and counts only.
 */
async function healReleaseFiles(
  deps: CuratedHealDependencies,
  target: ExportTarget,
  signal: AbortSignal,
): Promise<void> {
  const container = deps.blobs.getContainerClient(deps.container ?? CONTAINERS.curated);
  const folder = targetFolderOf(target);
  const now = nowOf(deps);
  const historyStart = now.getTime() - deps.historyDays * 24 * 60 * 60 * 1000;
  const stored = await storedReleasesOf(deps.store, target);
  const finished = (release: ReturnType<typeof wholeRelease>) =>
    release !== undefined &&
    (release.generatedAt.getTime() < historyStart || stored.some((s) => s.countsSha256 === release.countsSha256));
  const subs = new Set<string>();
  for await (const blob of container.listBlobsFlat({ prefix: folder }))
    if (releaseFolderOf(blob.name) === folder) subs.add(blob.name.slice(folder.length).split('/')[0]!);
  let restored = 0;
  let emptied = 0;
  // Every folder the heal replaces it has read first, noting the ETags its writes are conditioned on.
  const etags: SeenETags = new Map();
  const writes = fencedWrites(container, etags, signal);

  let rebuilt = 0;
  // At most once a heal: the store's lines are read only when no folder holds the release.
  let newest: Promise<Map<string, Buffer | undefined> | undefined> | undefined;
  const rebuildNewest = () => (newest ??= rebuiltRelease(deps, target, stored[0]!));

  let latest = subs.has('latest')
    ? wholeRelease(await releaseFilesIn(container, `${folder}latest/`, etags))
    : undefined;
  if (subs.has('latest') && !finished(latest)) {
    latest = undefined;
    let source: Map<string, Buffer | undefined> | undefined;
    for (const [i, release] of stored.entries()) {
      const held = await releaseFilesIn(container, `${folder}${ukDateOf(release.generatedAt)}/`);
      if (wholeRelease(held)?.countsSha256 === release.countsSha256) source = held;
      // The view marks its newest release latest: an older one in latest/ would disagree with it.
      else if (i === 0 && (source = await rebuildNewest()) !== undefined) rebuilt++;
      if (source !== undefined) break;
    }
    await replaceReleaseFiles(`${folder}latest/`, source ?? new Map(), writes);
    if (source !== undefined) {
      latest = wholeRelease(source);
      restored++;
    } else emptied++;
  }

  const newestDay = stored[0] === undefined ? '' : ukDateOf(stored[0].generatedAt);
  for (const day of [...subs].filter((sub) => sub !== 'latest' && sub >= newestDay).sort()) {
    if (finished(wholeRelease(await releaseFilesIn(container, `${folder}${day}/`, etags)))) continue;
    let source: Map<string, Buffer | undefined> | undefined;
    if (latest !== undefined && ukDateOf(latest.generatedAt) === day)
      source = await releaseFilesIn(container, `${folder}latest/`);
    else if (day === newestDay && (source = await rebuildNewest()) !== undefined) rebuilt++;
    await replaceReleaseFiles(`${folder}${day}/`, source ?? new Map(), writes);
    if (source !== undefined) restored++;
    else emptied++;
  }
  if (restored + emptied > 0)
    deps.logger.warn('curated.unfinished-release-healed', { ...idsOf(target), restored, emptied, rebuilt });
}

/**
 * A stored release's files written again from what the store holds of it: the counts from its
 * lines (countsFilesOf, as exportTarget wrote them), the manifest as it was written (migration
 * 0047: it says what the lines do not, the extracts' dates and the records awaiting linkage).
 * Undefined, and logged, unless they come out whole (wholeRelease: the manifest's SHA-256 of each
 * counts file) and the CSV is the one the view's release names: a release stored before 0047
 * has no manifest to write, and files that differ from what was published are not to be put
 * out as it.
 */
async function rebuiltRelease(
  deps: CuratedHealDependencies,
  target: ExportTarget,
  release: { id: string; generatedAt: Date; countsSha256: string },
): Promise<Map<string, Buffer | undefined> | undefined> {
  const content = await storedReleaseContent(deps.store, release.id);
  if (content === undefined) {
    deps.logger.warn('curated.release-not-rebuilt', { ...idsOf(target), reason: 'no-manifest-stored' });
    return undefined;
  }
  const { csv, parquet } = countsFilesOf(release.generatedAt.toISOString(), target.datasetId, content.lines);
  const files = new Map<string, Buffer | undefined>([
    [COUNTS_FILE, csv],
    [COUNTS_PARQUET_FILE, parquet],
    [MANIFEST_FILE, Buffer.from(content.manifest, 'utf8')],
  ]);
  if (sha256(csv) !== release.countsSha256 || wholeRelease(files)?.countsSha256 !== release.countsSha256) {
    deps.logger.warn('curated.release-not-rebuilt', { ...idsOf(target), reason: 'files-differ' });
    return undefined;
  }
  return files;
}

/**
 * Every party of every `export` grant, with the grant's roles that party holds. A dataset has at
 * most one export grant (cross-check.ts), so no two grants make the same target.
 */
function exportTargets(agreements: AgreementSet): ExportTarget[] {
  const targets: ExportTarget[] = [];
  for (const { agreement } of agreements.all()) {
    for (const purpose of agreement.purposes) {
      for (const grant of agreements.grantsFor(purpose.id)) {
        if (!grant.actions.has('export')) continue;
        for (const partyId of grant.parties) {
          const held = agreements.rolesOfPartyIn(agreement.id, partyId);
          targets.push({
            agreementId: agreement.id,
            purposeId: purpose.id,
            datasetId: grant.dataset,
            partyId,
            roles: [...grant.roles].filter((role) => held.has(role)).sort(),
            categories: grant.grant.categories ?? {},
            ownSubjectsOnly: grant.grant.subjects === 'with-caller-record',
          });
        }
      }
    }
  }
  return targets;
}

function idsOf(target: ExportTarget) {
  return {
    agreementId: target.agreementId,
    purposeId: target.purposeId,
    datasetId: target.datasetId,
    partyId: target.partyId,
  };
}

/** The policy's decision on a target's export, as on a lookup: the recipient, its roles, no subject. */
function decideExport(deps: CuratedHealDependencies, target: ExportTarget, now: () => Date): Promise<Decision> {
  return decide(
    {
      caller: { partyId: target.partyId, clientId: CLIENT_ID, roles: target.roles },
      purpose: target.purposeId,
      datasets: [target.datasetId],
      subject: null,
      action: 'export',
    },
    { agreements: deps.agreements, consents: deps.consents, now },
  );
}

/** Exports one target under the decision taken on it before the run withdrew anything. */
async function exportTarget(
  deps: CuratedExportDependencies,
  target: ExportTarget,
  decision: Decision,
  { lease, epoch }: HeldExportLock,
): Promise<CuratedExportSummary> {
  const now = clockOf(deps);
  const folder = targetFolderOf(target);
  if (!decision.allow) {
    deps.logger.warn('curated.export-denied', { ...idsOf(target), reason: decision.reason });
    await deps.accessLog.append({
      ...entryOf(target, target.roles, []),
      decision: 'deny',
      reasonCode: decision.reason,
    });
    return nothingWritten(target, 'denied');
  }
  const entry = deps.agreements.dataset(target.datasetId)!;
  const fields = countedFieldsOf(deps, target, decision);

  // The subject conditions, for everyone at once: the decision left them `pending`.
  const purpose = deps.agreements.purpose(target.purposeId)!.purpose;
  // Judged from each person's own records as they stream past: their records of the dataset
  // arrive together, the deciding source's among them, so no read per person is needed.
  const scope = jointSystemScopeConditions(
    deps.agreements.agreement(target.agreementId)!.agreement,
    (datasetId) => datasetId === target.datasetId,
  );
  // A party that no longer supplies the dataset (it left the agreement, or a re-signing dropped
  // it as a source) leaves its loaded records in the store, and they are no longer the
  // agreement's to share: a lookup shows none of them (AgreementSet.isSource), and the counts took its
  // flags, and the manifest its extract's date (found by a review). Nor do they await linkage.
  const sources = entry.dataset.sources;
  const noiseSecret = await noiseSecretOf(deps.secrets);
  const tally = new IndicatorTally(fields);
  const extractsAsOf = new Map<string, string>();
  const { store } = deps;
  // One state for every read: the opt-outs and the records they apply to, and the count of what
  // waits, so a linking pass that moves a person (and their opt-out) between two reads cannot
  // count them twice or count them despite the opt-out. Read beside the store's writers, not in
  // their way (snapshotReads): the release is written on the store afterwards.
  const awaiting = await snapshotReads(store, async (trx) => {
    const optedOut = purpose.nationalDataOptOutApplies
      ? await deps.consents.subjectsWith('opt-out', null, trx)
      : new Set<string>();
    const consenting = purpose.consentRequired
      ? await deps.consents.subjectsWith('consent', purpose.id, trx)
      : undefined;
    const counted = (personId: string, held: readonly KeepWhileRecord[]) =>
      scope !== 'unjudgeable' &&
      scope.every(({ test }) => keepsPerson(test, held)) &&
      (!target.ownSubjectsOnly || held.some((record) => record.partyId === target.partyId)) &&
      !optedOut.has(personId) &&
      (consenting === undefined || consenting.has(personId));
    let person: string | undefined;
    let records: (DatedRecord & KeepWhileRecord)[] = [];
    const noteAsOf = (record: DatedRecord & KeepWhileRecord) => {
      if ((extractsAsOf.get(record.partyId) ?? '') < record.asOf) extractsAsOf.set(record.partyId, record.asOf);
    };
    const endPerson = () => {
      if (person !== undefined && counted(person, records)) {
        tally.add(
          personValues(fields, records),
          records.map((record) => record.partyId),
        );
        // The manifest names the extracts the counts came from, not a source whose records are
        // all of people left out (out of scope, opted out, not consenting, not the recipient's):
        // found by reviews, every source with a linked record was named. Nor one that holds
        // records of only a few of the people counted (tally.namedSources).
        records.forEach(noteAsOf);
      }
      records = [];
    };
    for await (const row of placedRecords(store, trx, target.datasetId)) {
      // Passed over here rather than in the query: with one source left, a party filter there
      // turns SQLite to the party's index, sorting the whole dataset for every page.
      if (!deps.agreements.isSource(row.party_id, target.datasetId)) continue;
      if (row.person_id !== person) {
        endPerson();
        person = row.person_id;
      }
      records.push({
        asOf: row.as_of,
        partyId: row.party_id,
        // Only the values its party may supply now, as a lookup shows them.
        attributes: suppliedNow(deps.agreements, target.datasetId, row.party_id, row.attributes),
      });
    }
    endPerson();
    // A recipient told only of its own subjects waits only on its own records: the rest are of
    // people it may not be told of, even as a number, and the counts beside it are not of them.
    const awaitingFrom = target.ownSubjectsOnly ? sources.filter((party) => party === target.partyId) : sources;
    return recordsAwaitingLinkage(trx, target.datasetId, awaitingFrom);
  });

  const generatedAt = now().toISOString();
  const lines = tally.publish(deps.minCell, noiseSecret);
  const named = new Set(tally.namedSources(deps.minCell, noiseSecret));
  const { csv, parquet } = countsFilesOf(generatedAt, target.datasetId, lines);
  const manifest = {
    agreement: target.agreementId,
    agreementVersion: decision.agreementVersion,
    purpose: target.purposeId,
    dataset: target.datasetId,
    recipient: target.partyId,
    generatedAt,
    extractsAsOf: Object.fromEntries([...extractsAsOf].filter(([party]) => named.has(party)).sort()),
    recordsAwaitingLinkage: publishedAwaiting(awaiting, deps.minCell),
    method: {
      counts: `people the joint system may hold now (its retention condition)${
        target.ownSubjectsOnly ? " of whom the recipient's own extract holds a record" : ''
      }, each counted once from all their records in the dataset`,
      minimumCell: deps.minCell,
      suppressed: 'zeros, and counts that come to under the minimum with their noise, or with it rounded',
      perturbation: '-4 to +4 a cell, mostly small; the same for the same counts, drawn afresh when any count changes',
      roundedTo: ROUND_TO,
      nationalDataOptOutApplied: purpose.nationalDataOptOutApplies,
      consentRequired: purpose.consentRequired,
    },
    // The SHA-256 of each file beside the manifest.
    files: {
      [COUNTS_FILE]: createHash('sha256').update(csv).digest('hex'),
      [COUNTS_PARQUET_FILE]: createHash('sha256').update(parquet).digest('hex'),
    },
    lines: lines.length,
  };

  // Logged before anything is written, and fail closed: an export the log cannot record is not made.
  await deps.accessLog.append({
    ...entryOf(
      target,
      decision.roles,
      fields.map(({ field }) => field.name),
    ),
    decision: 'allow',
    reasonCode: 'granted',
  });
  const container = deps.blobs.getContainerClient(deps.container ?? CONTAINERS.curated);
  // Every write is renewed first, carries the lease's signal and is fenced on the ETag this run
  // last saw (fencedWrites).
  const etags: SeenETags = new Map();
  const { put, remove } = fencedWrites(container, etags, lease.signal, () => lease.confirm());
  const manifestJson = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const release: [string, Buffer, string][] = [
    [COUNTS_FILE, csv, 'text/csv; charset=utf-8'],
    [COUNTS_PARQUET_FILE, parquet, 'application/vnd.apache.parquet'],
    [MANIFEST_FILE, manifestJson, 'application/json'],
  ];
  /** What a folder holds of the release's files now, to put back should the run fail. */
  const contentsOf = (sub: string) => releaseFilesIn(container, `${folder}${sub}/`, etags);
  /**
   * Puts back the files of a folder that a failed run replaced: its manifest goes first and
   * comes back last, so should this fail too, the folder is left without one, the sign of an
   * incomplete release.
   */
  const restore = async (
    sub: string,
    written: readonly string[],
    previous: ReadonlyMap<string, Buffer | undefined>,
  ) => {
    await remove(`${folder}${sub}/${MANIFEST_FILE}`);
    for (const [name, , type] of release) {
      if (name === MANIFEST_FILE || !written.includes(name)) continue;
      const body = previous.get(name);
      if (body === undefined) await remove(`${folder}${sub}/${name}`);
      else await put(`${folder}${sub}/${name}`, body, type);
    }
    const manifestBefore = previous.get(MANIFEST_FILE);
    if (manifestBefore !== undefined) await put(`${folder}${sub}/${MANIFEST_FILE}`, manifestBefore, 'application/json');
  };
  // In each folder the manifest goes first and comes back last: a reader that finds one finds the
  // counts it describes (its SHA-256), and a run that fails between leaves no manifest at all.
  const writeFolder = async (sub: string, written: string[]) => {
    await remove(`${folder}${sub}/${MANIFEST_FILE}`);
    for (const [name, body, type] of release) {
      await put(`${folder}${sub}/${name}`, body, type);
      written.push(name);
    }
  };
  // The dated folder, then latest/, then the same lines for Power BI's SQL connection. A run
  // that fails at any of them puts latest/ and the dated folder back as they were (found by
  // reviews: latest/ was left on the failed release when the SQL write failed, and the dated
  // folder kept a release that latest/ and the view never had): the three hold the same
  // releases, and a retry writes the day's release again, files and lines.
  // Named by the UK's date, as storeRelease's day is: the UTC date filed a manual run between
  // 23:00 and midnight UTC in British Summer Time under the day before in the UK. The timer's
  // 06:00 UTC runs fall on the same date in either.
  const dated = ukDateOf(new Date(generatedAt));
  const previousDated = await contentsOf(dated);
  const previousLatest = await contentsOf('latest');
  const writtenDated: string[] = [];
  const writtenLatest: string[] = [];
  try {
    await writeFolder(dated, writtenDated);
    await writeFolder('latest', writtenLatest);
    // Renewed before the transaction, not in it: no network call holds the store's writers, and
    // the epoch, checked in the transaction, fences a commit that reaches the store late.
    await lease.confirm();
    await storeRelease(
      store,
      {
        target,
        agreementVersion: decision.agreementVersion,
        generatedAt: new Date(generatedAt),
        lines,
        countsSha256: manifest.files[COUNTS_FILE],
        manifest: manifestJson.toString('utf8'),
        minCell: deps.minCell,
      },
      deps.historyDays,
      epoch,
    );
  } catch (err) {
    // A run that lost the lock puts nothing back: what it found before it wrote may be older
    // than what the run that took the lock has written since, and the next run heals what it left.
    if (await leaseLostBy(err, lease)) throw err;
    // latest/ first: it is what Power BI reads.
    await restore('latest', writtenLatest, previousLatest).catch(() => undefined);
    await restore(dated, writtenDated, previousDated).catch(() => undefined);
    throw err;
  }
  deps.logger.info('curated.exported', { ...idsOf(target), lines: lines.length, recordsAwaitingLinkage: awaiting });
  return {
    ...idsOf(target),
    outcome: 'written',
    folder,
    lines: lines.length,
    recordsAwaitingLinkage: awaiting,
    peopleCounted: tally.peopleCounted,
  };
}

/**
 * How many records waited for linkage, as the manifest (and `npm run curate`) gives it: records,
 * not people, but a small number is withheld and a larger one rounded all the same — withheld
 * where the number, or the rounded figure, is under the minimum, as the counts' are (7 records
 * under a minimum of 7 were published as 5, and on the rounded figure alone 8 under 10 as 10).
 * Withheld as fewer than the first step at or over the minimum: "fewer than 7" would be untrue
 * of the 7.
 */
export function publishedAwaiting(records: number, minCell: number): number | string {
  if (records === 0) return 0;
  const rounded = roundToStep(records);
  return records < minCell || rounded < minCell ? `fewer than ${Math.ceil(minCell / ROUND_TO) * ROUND_TO}` : rounded;
}

function countsCsv(generatedAt: string, datasetId: string, lines: readonly IndicatorCount[]): string {
  const yn = (b: boolean) => (b ? 'Y' : 'N');
  const body = lines.map((l) =>
    [
      generatedAt,
      datasetId,
      l.measure,
      // The agreement's label, as written: one that begins as a formula would run in Excel.
      spreadsheetTextCell(l.category),
      l.people === null ? '' : String(l.people),
      yn(l.suppressed),
      yn(l.specialCategory),
    ].join(','),
  );
  return ['generatedAt,dataset,measure,category,people,suppressed,specialCategory', ...body, ''].join('\r\n');
}

/**
 * The lines as Parquet, written with hyparquet-writer: the CSV's columns, typed, a suppressed
 * count a null rather than an empty cell.
 *
 * `generatedAt` is an instant, and the file says so: the TIMESTAMP logical type with
 * isAdjustedToUTC. hyparquet-writer's `TIMESTAMP` writes only the old converted type
 * TIMESTAMP_MILLIS, which DuckDB (and, by the review's account, Power BI) read as a wall-clock
 * time in no zone: a run at 06:00 UTC showed as a bare 06:00 to a reader in the UK, where it was
 * 07:00 BST (found by a review).
 * The converted type stays beside the logical type, as the Parquet spec asks for readers that
 * know no logical types; it is the spec's counterpart of a UTC-adjusted timestamp in millis.
 */
function countsParquet(generatedAt: string, datasetId: string, lines: readonly IndicatorCount[]): ArrayBuffer {
  const at = new Date(generatedAt);
  const columnData = [
    { name: 'generatedAt', data: lines.map(() => at) },
    { name: 'dataset', data: lines.map(() => datasetId), type: 'STRING' },
    { name: 'measure', data: lines.map((l) => l.measure), type: 'STRING' },
    { name: 'category', data: lines.map((l) => l.category), type: 'STRING' },
    { name: 'people', data: lines.map((l) => l.people), type: 'INT32' },
    { name: 'suppressed', data: lines.map((l) => l.suppressed), type: 'BOOLEAN' },
    { name: 'specialCategory', data: lines.map((l) => l.specialCategory), type: 'BOOLEAN' },
  ] satisfies ColumnSource[];
  const schema = schemaFromColumnData({
    columnData,
    schemaOverrides: {
      generatedAt: {
        name: 'generatedAt',
        type: 'INT64',
        repetition_type: 'OPTIONAL',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      },
    },
  });
  // With a schema, hyparquet-writer takes the columns' types from it alone.
  return parquetWriteBuffer({ schema, columnData: columnData.map(({ name, data }) => ({ name, data })) });
}

/**
 * The dataset's records that hold a person id, by person, a page at a time: a person's records
 * arrive together, and memory holds one page. A record an import carried its predecessor's id
 * to counts under that id until the next linking pass, as lookups find it.
 */
async function* placedRecords(store: Store, db: Kysely<Database>, datasetId: string) {
  let after: { person: string; id: string } | undefined;
  for (;;) {
    let query = db
      .selectFrom('source_record')
      .select(['id', 'person_id', 'party_id', 'as_of', 'attributes'])
      .where('dataset_id', '=', datasetId)
      .where('person_id', 'is not', null);
    if (after !== undefined) {
      const { person, id } = after;
      query = query.where((eb) =>
        eb.or([eb('person_id', '>', person), eb.and([eb('person_id', '=', person), eb('id', '>', id)])]),
      );
    }
    const rows = await store.dialect.firstRows(query.orderBy('person_id').orderBy('id'), PAGE).execute();
    for (const row of await withAttributes(rows, db)) yield { ...row, person_id: row.person_id! };
    if (rows.length < PAGE) return;
    // better-sqlite3 answers at once: without a turn of the event loop between pages, the export
    // would keep HTTP requests waiting until it ended (lookups read on their own connection
    // meanwhile: shared/store/read-queries.ts).
    await new Promise((resolve) => setImmediate(resolve));
    const last = rows[rows.length - 1]!;
    after = { person: last.person_id!, id: last.id };
  }
}

async function recordsAwaitingLinkage(
  db: Kysely<Database>,
  datasetId: string,
  sources: readonly string[],
): Promise<number> {
  if (sources.length === 0) return 0;
  const row = await db
    .selectFrom('source_record')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('dataset_id', '=', datasetId)
    .where('party_id', 'in', sources)
    .where('person_id', 'is', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The access-log entry of an export: its recipient, the purpose, the fields counted, no subject. */
function entryOf(target: ExportTarget, roles: readonly string[], fieldNames: readonly string[]) {
  return {
    requestId: randomUUID(),
    partyId: target.partyId,
    clientId: CLIENT_ID,
    roles: [...roles],
    purpose: target.purposeId,
    action: EXPORT_ACTION,
    subjectRef: null,
    datasets: [target.datasetId],
    fields: fieldNames.map((name) => `${target.datasetId}.${name}`).sort(),
  };
}

/**
 * The key of the export's noise, derived from the person-reference key (a secret lintel already
 * holds, in Key Vault in production) for this use alone.
 */
async function noiseSecretOf(secrets: SecretSource): Promise<Buffer> {
  const secret = await secrets.get('person-ref-key');
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret.value, 'base64'), Buffer.alloc(0), 'lintel/curated-noise/v1', 32),
  );
}
