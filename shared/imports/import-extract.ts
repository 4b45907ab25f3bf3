import { randomUUID } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { AgreementSet } from '../agreements/agreement-set.js';
import { entriesWithinStoreTransactions, type AccessLog } from '../audit/access-log.js';
import { Pseudonymiser } from '../domain/pseudonymise.js';
import { errorKind, type Logger } from '../logging.js';
import { SecretVersionGoneError, type SecretSource } from '../secrets/secret-source.js';
import type { Kysely, Transaction } from 'kysely';
import type { Store } from '../store/database.js';
import { keepAttributeLayout } from '../store/record-attributes.js';
import { takeTransactionLock } from '../store/transaction-lock.js';
import type { Database } from '../store/schema.js';
import { csvRecords } from './csv-records.js';
import {
  extractProperties,
  hashExtract,
  IMPORT_CONTAINERS,
  incomingBlob,
  moveExtract,
  openExtract,
  rangeReader,
  readReport,
  readReportVersion,
  replaceReport,
  writeReport,
  type Destination,
  type ImportContainers,
} from './extract-blob.js';
import { compactTime, stagedRejectionFinish, stagedReportBlobName, stagedReportPrefix } from './handled-names.js';
import { asOfDate, datedAfterUpload, extractFormatOf } from './extract-format.js';
import { DEFAULT_READER_LIMITS, type ReaderLimits } from './extract-records.js';
import { planColumns } from './header.js';
import {
  claimRun,
  currentSnapshotOrder,
  findRun,
  finishRun,
  FINAL_STATUSES,
  isBehind,
  lockDatasetRuns,
  lockRuns,
  markEntryLogged,
  markFailed,
  overwrittenSince,
  reopenRun,
  runsUnderName,
  type ImportRun,
  type RunAttempt,
  type SnapshotOrder,
} from './import-runs.js';
import { lapOf, type ImportPhase, type PhaseClock } from './import-phases.js';
import type { ImportProgressSink } from './import-progress.js';
import { RowErrorList, type FileError, type ImportReport } from './import-report.js';
import { preparedInThread, type PreparedRows } from './prepared-rows.js';
import { FileRejection, MAX_IMPORT_ATTEMPTS, NON_CONTENT_REASONS, type FileReason } from './reasons.js';
import { attributeLayoutOf, type RowPlan } from './row-preparation.js';
import { startRowWorker } from './row-worker-client.js';
import type { CarryOutcome } from './carried-person-ids.js';
import { currentSnapshot, snapshotKeyVersion, SnapshotWriter, type CurrentSnapshot } from './snapshot-writer.js';
import { keptKeyVersions } from './opt-out-kept-keys.js';
import type { ComparisonKey } from './row-worker-protocol.js';
import { storagePlanFor } from './storage-plan.js';
import {
  DEFAULT_ZIP_LIMITS,
  findWorksheet,
  readZipDirectory,
  type CheckedWorkbook,
  type ZipLimits,
} from './zip-directory.js';
import { clockOf, nowOf } from '../clock.js';

/**
 * The import of one partner extract from `incoming/{partyId}/{datasetId}/{fileName}`.
 *
 * Load semantics: a file is a SNAPSHOT — the party's full current extract of the dataset as of
 * its date (`as_of`, extract-format.ts). It replaces the party's previous records of that
 * dataset in one store transaction (delete, then insert in batches, then mark the run loaded),
 * so readers see the old snapshot or the new one, never a mixture, and a crash at any point
 * leaves the store as it was before or after. Neither Event Grid nor the import queue keeps order,
 * and a failed import is retried, so a file may arrive after a newer one: the transaction first locks the dataset's runs and
 * compares dates, and a file dated before the current snapshot is rejected whole
 * (`stale-extract`); an equal date is a re-issue and loads.
 *
 * Exactly once: the file's SHA-256 is taken first (one streaming pass), and the run is keyed by
 * (party, dataset, hash). A run already `loaded` or `rejected` makes the file a duplicate (moved
 * on, nothing applied) — unless the run is not the current snapshot and the file is dated after
 * it (the bytes are a new snapshot), or the run was rejected and the blob uploaded after that
 * (a rejection may be the configuration's, not the bytes'), or the run was rejected for something
 * about its file as delivered rather than the bytes (removed mid-import, attempts spent, a name,
 * metadata or date the import refused) and this is another file of the bytes, uploaded whenever:
 * then the run is opened again. An unfinished
 * run (`loading` after a crash, or `failed`) is taken up again and, its transaction never
 * having committed, redone from the start. Every read is pinned to the blob's ETag, so the
 * bytes hashed are the bytes loaded.
 *
 * Failures: the error thrown (for the trigger, so that the queue retries) is an
 * {@link ImportFailed}, which names the error's kind and the run, never the message of the
 * error underneath: a driver's message can quote a value.
 *
 * Order of effects, so a retry converges. A load: report staged → store committed → report
 * published in processed/ → access-log entry → blob moved → afterLoad hook. A rejection: report
 * staged in rejected/ → run finished → report published → access-log entry → blob moved. A retry
 * after the commit (or the finish) finds the run final, publishes the report and writes the
 * access-log entry if either is missing, and moves the blob; whichever delivery settles the run
 * also removes the staged copies an attempt killed before its finish left. The blob is moved
 * under its path, `~` added where the name ends like a report's, a staged copy's or a progress
 * blob's (`handledName`): a partner's `x.csv.report.json` must neither replace nor be replaced by
 * `x.csv`'s report, which is named by the path in incoming whatever the file's name.
 *
 * Attempts: a run taken up more than MAX_IMPORT_ATTEMPTS times without a result (each attempt
 * crashed or failed) is rejected as `import-attempts-exhausted` by the next delivery; like any
 * rejection, the same file uploaded again is tried again, and, the rejection being about the
 * file's deliveries, so is a copy of its bytes under another name, whenever it was uploaded —
 * even one whose own attempt was going when the rejection settled the run: that attempt breaks
 * off to be retried ({@link RunRejectedForAnotherFile}) rather than file the copy as a duplicate.
 *
 * Rows: validated against the row schema derived from the agreement (row-schema.ts); a bad row
 * is reported (row number, column, reason code) and skipped. If bad rows exceed
 * `maxBadRowShare` of all rows, or no row is good, the file is rejected and nothing loads.
 */

export interface ImportHooks {
  /**
   * After a snapshot is committed, e.g. linkage linking the run's records into people.
   * Idempotent. Its failure is logged (`import.after-load-failed`), not the import's: the file
   * is loaded, and a retry of the message would only find it gone (the pending-links timer
   * links what it left).
   */
  readonly afterLoad?: (runId: string) => Promise<void>;
  /** Called for every data row before it is processed; tests inject faults here. */
  readonly onRow?: (row: number) => void;
  /** Where progress goes, per file. */
  readonly progress?: (blobName: string) => ImportProgressSink;
  /** Times the import's phases (bench:import prints them). */
  readonly phases?: PhaseClock;
}

export interface ImportDependencies {
  readonly store: Store;
  readonly blobs: BlobServiceClient;
  readonly agreements: AgreementSet;
  readonly secrets: SecretSource;
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  /** Share of bad rows (0–1) above which the whole file is rejected (IMPORT_MAX_BAD_ROW_SHARE). */
  readonly maxBadRowShare: number;
  readonly hooks?: ImportHooks;
  readonly readerLimits?: Partial<ReaderLimits>;
  readonly zipLimits?: Partial<ZipLimits>;
  readonly now?: () => Date;
  /** Default: incoming, processed, rejected. */
  readonly containers?: ImportContainers;
  /**
   * Files at least this large have their rows read, validated and pseudonymised on a worker
   * thread while this one writes the store (default {@link DEFAULT_ROW_WORKER_MIN_BYTES}; 0:
   * every file). Below it, starting the thread costs more than it saves. A workbook (XLSX) is
   * read on a worker whatever its size: its temporary copy of the worksheet must be in the
   * worker's private directory (row-worker-client.ts), which a later process sweeps.
   */
  readonly rowWorkerMinBytes?: number;
}

export const DEFAULT_ROW_WORKER_MIN_BYTES = 1024 * 1024;

export interface IncomingExtract {
  /** Path inside `incoming`: `{partyId}/{datasetId}/{fileName}`. */
  readonly blobName: string;
  readonly partyId: string;
  readonly datasetId: string;
  readonly fileName: string;
}

export type ImportOutcome =
  | {
      readonly outcome: 'loaded';
      readonly runId: string;
      readonly rows: number;
      readonly loaded: number;
      readonly rejected: number;
    }
  | { readonly outcome: 'rejected'; readonly runId: string; readonly reasons: readonly string[] }
  | { readonly outcome: 'duplicate'; readonly runId: string; readonly of: 'loaded' | 'rejected' }
  /**
   * The blob is no longer in incoming: an earlier delivery finished it, or the partner deleted it
   * (a run a killed load left `loading` under its name is then rejected: rejectAbandoned).
   */
  | { readonly outcome: 'gone' };

const CLIENT_ID = 'blob-upload';

/** What logs and the access log say instead of a folder name the agreements do not know. */
export const UNKNOWN_ID = 'unknown';

export interface LoggedIds {
  readonly partyId: string;
  readonly datasetId: string;
}

/**
 * The file's party and dataset as the structured logs and the access log may name them: the
 * folder names of its path when they are a party and a dataset of the agreements, else
 * {@link UNKNOWN_ID}. A folder name is whatever the uploader typed (an NI number, a person's
 * name), and the access log is hash-chained: it can never forget what it was given. The report in
 * rejected/ still names the path: it is the partner's own.
 */
export function loggedIds(
  agreements: AgreementSet,
  file: { readonly partyId: string; readonly datasetId: string },
): LoggedIds {
  return {
    partyId: agreements.party(file.partyId) === undefined ? UNKNOWN_ID : file.partyId,
    datasetId: agreements.dataset(file.datasetId) === undefined ? UNKNOWN_ID : file.datasetId,
  };
}

/**
 * An import broke off (the run, if this delivery took it up, is left `failed` for the retry,
 * unless another delivery has taken it up since: see markFailed). Carries the
 * kind of the error underneath (its class name and code, as logged) and the run: never that
 * error's message, which the Functions host would log and which can quote a value (SQL Server
 * error 2628 quotes the truncated value). The error itself is not kept, not even as `cause`.
 */
export class ImportFailed extends Error {
  constructor(
    readonly kind: string,
    readonly runId: string | undefined,
  ) {
    super(`Import failed: ${kind}${runId === undefined ? '' : ` (run ${runId})`}`);
    this.name = 'ImportFailed';
  }
}

interface RunContext {
  readonly deps: ImportDependencies;
  readonly containers: ImportContainers;
  readonly file: IncomingExtract;
  /** The file's party and dataset as logs and the access log may name them ({@link loggedIds}). */
  readonly ids: LoggedIds;
  readonly run: ImportRun;
  readonly etag: string;
  /** When the blob was uploaded (its Last-Modified). */
  readonly lastModified: Date;
  readonly sha256: string;
  readonly purpose: string;
  readonly lap: (phase: ImportPhase) => void;
}

export async function importExtract(deps: ImportDependencies, file: IncomingExtract): Promise<ImportOutcome> {
  try {
    return await runImport(deps, file);
  } catch (err) {
    if (err instanceof ImportFailed) throw err;
    // Before a run was claimed (the blob's properties could not be read).
    deps.logger.error('import.failed', { ...loggedIds(deps.agreements, file), error: errorKind(err) });
    throw new ImportFailed(errorKind(err), undefined);
  }
}

async function runImport(deps: ImportDependencies, file: IncomingExtract): Promise<ImportOutcome> {
  const { logger } = deps;
  const now = clockOf(deps);
  const containers = deps.containers ?? IMPORT_CONTAINERS;
  const ids = loggedIds(deps.agreements, file);
  const blob = incomingBlob(deps.blobs, containers, file.blobName);
  deps.hooks?.phases?.start();
  const lap = lapOf(deps.hooks?.phases);
  const progress = deps.hooks?.progress?.(file.blobName);
  const properties = await extractProperties(blob);
  lap('blob properties');
  if (properties === undefined) {
    logger.info('import.gone', { ...ids });
    try {
      await logRunsLeftUnlogged({ deps, containers, file, ids, purpose: purposeOf(deps, file), lap });
      await rejectAbandoned(deps, containers, file, ids, blob, lap);
    } finally {
      // A delivery killed after it moved the file on (linking its records, say) left its progress
      // blob saying the file loads: no later delivery gets further than here to take it away.
      await progress?.close();
    }
    return { outcome: 'gone' };
  }
  // Started before the hash pass, so that loading the thread's modules overlaps it. A workbook is
  // read on the worker whatever its size: exceljs copies a worksheet (raw cells) to a temporary
  // file, and only the worker's private directory is swept should the process be killed mid-read.
  const rowWorker =
    extractFormatOf(file.fileName, properties.metadata)?.kind === 'xlsx' ||
    properties.size >= (deps.rowWorkerMinBytes ?? DEFAULT_ROW_WORKER_MIN_BYTES)
      ? startRowWorker()
      : undefined;
  let runId: string | undefined;
  // This delivery's take-up of the run, which its failure fails (and no later delivery's).
  let attempt: RunAttempt | undefined;
  let context: RunContext | undefined;
  try {
    const { sha256, bytes } = await hashExtract(blob, properties.etag);
    lap('hash pass');
    const entry = deps.agreements.dataset(file.datasetId);
    const purpose = purposeOf(deps, file);
    const asOf = asOfDate(file.fileName, properties.metadata, properties.lastModified);
    // Before the claim: a run left unlogged that this file's claim opens again (uploaded again,
    // say) is `loading` from then on, and its finish would never be logged.
    await logRunsLeftUnlogged({ deps, containers, file, ids, purpose, lap });
    const claim = {
      runId: randomUUID(),
      partyId: file.partyId,
      datasetId: file.datasetId,
      blobName: file.blobName,
      sha256,
      now: now().toISOString(),
      asOf,
      uploadedAt: properties.lastModified.toISOString(),
    };
    let claimed = await claimRun(deps.store.db, claim);
    runId = claimed.id;
    if (claimed.status === 'loading') attempt = claimed;
    if (FINAL_STATUSES.has(claimed.status)) {
      const current = await standingSnapshot(deps.store.db, deps.store, file);
      const why = supersedes(claimed, current, asOf ?? '')
        ? 'newer-snapshot'
        : uploadedAgainAfterRejection(claimed, properties.lastModified)
          ? 'uploaded-again'
          : rejectedForAnotherDelivery(claimed, file.blobName)
            ? 'another-file'
            : undefined;
      if (why !== undefined) {
        // Its finish under another name, left unlogged, is recovered by that name's deliveries
        // only while the run stays final: logged here, before the reopen makes it `loading`.
        if (claimed.blob_name !== file.blobName)
          await logRunsLeftUnlogged({
            deps,
            containers,
            file: siblingFile(file, claimed.blob_name),
            ids,
            purpose,
            lap,
          });
        // A finish within the grace is left by logRunsLeftUnlogged to its own delivery, and once
        // reopened no delivery would find it: given the moment, as a duplicate gives it, then
        // left to this delivery's retry to log, after the grace, before it opens the run.
        if (
          entriesWithinStoreTransactions(deps.store) &&
          !(await waitForImportEntry(deps, claimed, graceLeftMs(deps, claimed)))
        )
          throw new RunFinishNotYetLogged();
        // Received from now: an entry its own delivery wrote meanwhile is that finish's, not this opening's.
        claimed = await reopenRun(deps.store.db, claimed, { ...claim, now: now().toISOString() });
        if (claimed.status === 'loading') attempt = claimed;
        logger.info('import.reopened', {
          runId: claimed.id,
          ...ids,
          asOf,
          why,
        });
      }
    }
    context = {
      deps,
      containers,
      file,
      ids,
      run: claimed,
      etag: properties.etag,
      lastModified: properties.lastModified,
      sha256,
      purpose,
      lap,
    };
    lap('claim run');
    if (FINAL_STATUSES.has(claimed.status)) return await settleDuplicate(context);
    logger.info('import.started', {
      runId: claimed.id,
      ...ids,
      sha256,
      bytes,
      attempt: claimed.attempt,
    });

    // Every attempt before this one broke off without a result (a crash leaves `loading`, a
    // failure `failed`): a file that keeps crashing its instance (e.g. out of memory) is refused
    // here, with a report, rather than retried all day and then dead-lettered unreported.
    if (claimed.attempt > MAX_IMPORT_ATTEMPTS)
      return await reject(context, [{ reason: 'import-attempts-exhausted' }], undefined);
    if (entry === undefined) return await reject(context, [{ reason: 'unknown-dataset' }], undefined);
    if (!deps.agreements.isSource(file.partyId, file.datasetId))
      return await reject(context, [{ reason: 'party-not-source' }], undefined);
    const format = extractFormatOf(file.fileName, properties.metadata, entry.dataset.delimiters?.[file.partyId]);
    if (format === undefined) return await reject(context, [{ reason: 'unsupported-file-type' }], undefined);
    if (bytes === 0) return await reject(context, [{ reason: 'empty-file' }], undefined);
    if (asOf === undefined) return await reject(context, [{ reason: 'unreadable-asof' }], undefined);

    const secret = await deps.secrets.get('pseudonymisation-key');
    const key = Buffer.from(secret.value, 'base64');
    const readerLimits = { ...DEFAULT_READER_LIMITS, ...deps.readerLimits };

    let xlsx: CheckedWorkbook | undefined;
    const zipLimits = { ...DEFAULT_ZIP_LIMITS, ...deps.zipLimits };
    if (format.kind === 'xlsx') {
      try {
        const read = rangeReader(blob, properties.etag);
        const entries = await readZipDirectory(read, properties.size, zipLimits);
        xlsx = { entries, zipLimits, ...(await findWorksheet(read, entries, zipLimits)) };
      } catch (err) {
        if (err instanceof FileRejection) return await reject(context, [fileErrorOf(err)], undefined);
        throw err;
      }
    }
    const body = await openExtract(blob, properties.etag);
    let bytesRead = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        bytesRead += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    let rows: PreparedRows;
    if (rowWorker !== undefined) {
      rows = rowWorker.prepare({
        bytes: counted(),
        format,
        readerLimits,
        xlsx,
        keyVersion: secret.version,
        key,
      });
    } else {
      // Never a workbook: a workbook always has a row worker (above).
      if (format.kind !== 'csv') throw new Error('A workbook must be read on a row worker');
      const pseudonymiser = new Pseudonymiser({ keyVersion: secret.version, key });
      const records = csvRecords(counted(), format.delimiter, readerLimits);
      rows = preparedInThread(records, pseudonymiser);
    }
    key.fill(0);
    lap('open file');

    const started = Date.now();
    let load: LoadResult;
    try {
      load = await loadSnapshot(context, {
        rows,
        lenientWidth: format.kind === 'xlsx',
        asOf,
        uploadedAt: properties.lastModified.toISOString(),
        keyVersion: secret.version,
        onBatch: (rowsRead) =>
          progress?.report({ runId: claimed.id, bytesRead, totalBytes: bytes, rows: rowsRead, phase: 'loading' }),
      });
    } catch (err) {
      if (err instanceof RunSettledElsewhere) {
        const settled = (await findRun(deps.store.db, file.partyId, file.datasetId, sha256))!;
        if (rejectedForAnotherDelivery(settled, file.blobName)) throw new RunRejectedForAnotherFile();
        // The other delivery writes the run's access-log entry just after its commit; give it
        // that moment, so that the entry a crash would have lost is not written twice.
        await waitForImportEntry(deps, settled, SETTLED_ELSEWHERE_GRACE_MS);
        return await settleDuplicate({ ...context, run: settled });
      }
      if (err instanceof SnapshotRejected) return await reject(context, err.fileErrors, err.counts, err.rowErrors);
      if (err instanceof FileRejection) return await reject(context, [fileErrorOf(err)], undefined);
      throw err;
    } finally {
      await rows.close();
      lap('stop reader');
    }
    // Only now that the load is committed: a report in processed/ means the rows are in the
    // store. Should this write fail, the retry finds the run loaded and writes it then.
    await publishLoadedReport(context, load.report);
    await removeStagedLeftovers(context, load.report.finishedAt);
    lap('report');
    const seconds = (Date.now() - started) / 1000;
    logger.info('import.loaded', {
      runId: claimed.id,
      ...ids,
      sha256,
      rows: load.rows,
      loaded: load.loaded,
      rejected: load.rowErrors.badRows,
      seconds: Math.round(seconds * 1000) / 1000,
      rowsPerSecond: seconds > 0 ? Math.round(load.rows / seconds) : load.rows,
      personIdsCarried: load.carryOutcome,
      optOutSuccessors: load.optOutSuccessors,
      optOutArrivals: load.optOutArrivals,
      ...prefixed('rowErrors.', load.rowErrors.byReason),
    });
    if (load.carryOutcome === 'previous-key-unavailable') {
      // Person ids known only to this dataset start again, without their consents, unless neither
      // the record nor its predecessor held an identifier (carried by matching key); an opt-out
      // goes to every record that may be its person's (opt-out-successors.ts).
      logger.warn('import.person-ids-not-carried', {
        runId: claimed.id,
        ...ids,
        keyVersion: secret.version,
      });
    }
    await appendRunEntry(context, 'allow', 'snapshot-loaded', load.columns);
    lap('access log');
    await moveExtract(deps.blobs, containers, file.blobName, properties.etag, 'processed');
    await rejectOverwrittenUnder(context);
    lap('move blob');
    // Also when a later load has replaced this run's records meanwhile (this delivery stalled after
    // its commit): the host's hook links and applies retention to the agreement's records as they
    // are stored, never to the run's, so it then changes no one (test/functions/import-blob.test.ts).
    await afterLoad(context, claimed.id);
    lap('after load');
    return {
      outcome: 'loaded',
      runId: claimed.id,
      rows: load.rows,
      loaded: load.loaded,
      rejected: load.rowErrors.badRows,
    };
  } catch (err) {
    if (context !== undefined) {
      const removed = await rejectRemoved(context, attempt, blob, err).catch(() => undefined);
      if (removed !== undefined) return removed;
    }
    logger.error('import.failed', { runId, ...ids, error: errorKind(err) });
    if (attempt !== undefined) await markFailed(deps.store.db, attempt, now().toISOString()).catch(() => undefined);
    throw new ImportFailed(errorKind(err), runId);
  } finally {
    await rowWorker?.close();
    await progress?.close();
  }
}

/**
 * An attempt that broke off because the partner deleted the file from incoming meanwhile (its
 * reads are pinned to the blob: they fail, and nothing of it was committed) is rejected as
 * `removed-during-import`, with its report and access-log entry, rather than left `failed`: every
 * later delivery finds the file gone and would leave it so for good, and retention counts a run
 * left unfinished as an extract still to come. Like any rejection, the same file uploaded again
 * is read afresh, and so is a copy of its bytes under another name, whenever it was uploaded (the
 * removal is about the deleted file, not the bytes: rejectedForAnotherDelivery). Not when another
 * delivery (a copy under another name) has taken the run up since, not even between the check
 * and the rejection: its file is still there, and it loads it.
 * The rejection is therefore this attempt's own (finishRun `onlyAt`), where other rejections and
 * loads settle the run whichever delivery took it up last: checked first, it let the copy's
 * take-up in between, and the copy then found the run rejected and was filed as a duplicate of
 * the removal, its data never loaded. Undefined when the file is still in incoming, the run was
 * taken up since by a copy under another name still loading, or after the run was read here (or
 * this cannot be told): the attempt failed, to be retried.
 */
async function rejectRemoved(
  context: RunContext,
  attempt: RunAttempt | undefined,
  blob: ReturnType<typeof incomingBlob>,
  err: unknown,
): Promise<ImportOutcome | undefined> {
  const { deps, file } = context;
  if (attempt === undefined) return undefined;
  // The run is read before the file is found gone: the rejection is held to the take-up read here
  // (onlyAt), so a delivery of the file uploaded again under this name, which can take the run up
  // only after that upload, is never rejected under.
  const now = await findRun(deps.store.db, file.partyId, file.datasetId, context.sha256);
  if (now === undefined) return undefined;
  if ((await extractProperties(blob)) !== undefined) return undefined;
  // Still this attempt's and unfinished: not one that loaded and then failed moving the file on.
  // (Only spares a report staged in vain: the rejection itself holds the run to the attempt.)
  const own = now.status === 'loading' && now.attempt === attempt.attempt && now.received_at === attempt.received_at;
  // Or taken up since by a delivery that broke off, and left `failed`: no delivery of this file can
  // read it again, and left so, the run stayed `failed` for good (found by import-properties). A
  // renamed copy whose attempt it was still has its file, and its retry opens the run again, a
  // removal being no verdict on the bytes (rejectedForAnotherDelivery).
  const brokenOff = now.status === 'failed';
  // Or taken up since by a delivery of this very file, `loading`: crashed, or still going, but its
  // reads are pinned to the file now gone, so it cannot load it either. Left so, a crashed take-up
  // left the run `loading` for good (found by import-properties). A take-up `loading` under another
  // name is a renamed copy that may be reading its file, still there: it loads.
  const sameFileTakenUp = now.status === 'loading' && now.blob_name === file.blobName;
  // Or already rejected so, for this file in this opening, by a delivery that found it gone
  // (rejectAbandoned): this attempt's verdict too, not a failure to retry.
  const gone: FileReason[] = ['removed-during-import', 'overwritten-in-incoming'];
  if (
    now.status === 'rejected' &&
    gone.includes(now.rejection_reason as FileReason) &&
    now.blob_name === file.blobName &&
    now.received_at === attempt.received_at
  )
    return { outcome: 'rejected', runId: now.id, reasons: [now.rejection_reason as FileReason] };
  if (!own && !brokenOff && !sameFileTakenUp) return undefined;
  const at: RunAttempt = own ? attempt : { id: now.id, attempt: now.attempt, received_at: now.received_at };
  try {
    return await rejectGone(context, now, at, { error: errorKind(err) });
  } catch (rejectErr) {
    if (rejectErr instanceof RunTakenUpElsewhere) return undefined;
    throw rejectErr;
  }
}

/**
 * A file gone from incoming whose run a delivery of it left `loading` or `failed`: that delivery's
 * process was killed mid-load, or its attempt broke off (the store, blob storage or Key Vault
 * failed), and the partner deleted the file before any retry read it. No delivery can find the run
 * by the file's hash any more, so left so it stayed unfinished for good: `npm run import` and
 * operators saw a run loading, or failed and never retried, forever, and retention waited on it as
 * an extract still to come (`field-source-extract-pending`; the `failed` case found by a defect
 * hunt). It is rejected as `removed-during-import`, as the deletion is when a live attempt finds it
 * (rejectRemoved): report in rejected/, one access-log entry, and retention then reads it as a
 * refused extract. The file uploaded again, or a copy of its bytes under another name, is read
 * afresh (rejectedForAnotherDelivery). One whose file the partner overwrote with another content,
 * taken up since under the name, ends `overwritten-in-incoming` without a report
 * (rejectOverwritten): the name's report is the later content's.
 *
 * Only a take-up of this very file: one still going cannot load it either, its reads being pinned
 * to the blob now gone (rejectRemoved, `sameFileTakenUp`); one inside its load's transaction holds
 * the run's lock (lockDatasetRuns) and commits before this finish can be tried, which then finds
 * the run final. A run under another name is a renamed copy's, whose file is still there. As in
 * rejectRemoved, the runs are read before the file is found gone again, and each rejection is held
 * to the take-up read (finishRun `onlyAt`): a delivery of the file uploaded again since takes the
 * run up afresh, and its load stands.
 */
async function rejectAbandoned(
  deps: ImportDependencies,
  containers: ImportContainers,
  file: IncomingExtract,
  ids: LoggedIds,
  blob: ReturnType<typeof incomingBlob>,
  lap: (phase: ImportPhase) => void,
): Promise<void> {
  const abandoned = await unfinishedRunsUnder(deps, file);
  if (abandoned.length === 0 || (await extractProperties(blob)) !== undefined) return;
  for (const run of abandoned) {
    const context: RunContext = {
      deps,
      containers,
      file,
      ids,
      run,
      etag: NO_BLOB_ETAG,
      lastModified: new Date(run.uploaded_at ?? run.received_at),
      sha256: run.content_sha256,
      purpose: purposeOf(deps, file),
      lap,
    };
    try {
      await rejectGone(context, run, run, { attempt: run.attempt });
    } catch (err) {
      // A delivery took the run up meanwhile, or another settled it: theirs to finish.
      if (!(err instanceof RunTakenUpElsewhere) && !(err instanceof RunRejectedForAnotherFile)) throw err;
    }
  }
}

/** Another file of the same party and dataset, `blobName` (`{partyId}/{datasetId}/{fileName}`). */
function siblingFile(file: IncomingExtract, blobName: string): IncomingExtract {
  return { ...file, blobName, fileName: blobName.split('/').slice(2).join('/') };
}

/** The purpose an import's access-log entries name: its dataset's agreement, if the agreements know it. */
function purposeOf(deps: ImportDependencies, file: IncomingExtract): string {
  return deps.agreements.dataset(file.datasetId)?.agreementId ?? 'import';
}

/** The runs of contents uploaded under the file's name that no delivery finished (`loading` or `failed`). */
function unfinishedRunsUnder(deps: ImportDependencies, file: IncomingExtract): Promise<ImportRun[]> {
  return runsUnderName(deps.store.db, file.partyId, file.datasetId, file.blobName)
    .selectAll()
    .where('status', 'in', ['loading', 'failed'])
    .execute();
}

/**
 * A run whose file is gone from incoming (`now`, as read before the file was found gone), rejected
 * held to the take-up `at`: as `overwritten-in-incoming`, without a report, where the partner
 * overwrote the file and the later content was taken up since under its name (rejectOverwritten:
 * a rejection of this content published under the name stood beside the later content's
 * processed file, found by a defect hunt); else as `removed-during-import`, report and all. For a
 * live attempt's read that broke off (rejectRemoved) and a delivery that finds an unfinished
 * run's file gone (rejectAbandoned) alike. Undefined where another delivery settled the run
 * first; throws RunTakenUpElsewhere where one took it up since.
 */
async function rejectGone(
  context: RunContext,
  now: ImportRun,
  at: RunAttempt,
  logged: Readonly<Record<string, unknown>>,
): Promise<ImportOutcome | undefined> {
  const { deps, ids, run } = context;
  if (await overwrittenSince(deps.store.db, now)) {
    return (await rejectOverwritten(context, at))
      ? { outcome: 'rejected', runId: now.id, reasons: ['overwritten-in-incoming'] }
      : undefined;
  }
  deps.logger.warn('import.removed', { runId: run.id, ...ids, ...logged });
  return reject(context, [{ reason: 'removed-during-import' }], undefined, undefined, at);
}

/**
 * An abandoned run (rejectAbandoned), or a live attempt's whose read found its file gone
 * (rejectRemoved), whose file the partner overwrote in incoming with another content, taken up
 * since under the name: rejected as `overwritten-in-incoming`, with its
 * access-log entry, and no report. The name's report in processed/ or rejected/ is the later
 * content's: a rejection of this one published there stood as the file's outcome, `rejected`
 * beside the processed file that loaded, or over the later content's own rejection (found by a
 * defect hunt). The staged copies its killed attempts left go, as when any rejection settles a
 * run. Held to the take-up read, as rejectAbandoned's are: one since is another delivery's.
 * Whether it settled the run so.
 */
async function rejectOverwritten(context: RunContext, onlyAt: RunAttempt): Promise<boolean> {
  const { deps, file, ids, run } = context;
  const finishedAt = nowOf(deps).toISOString();
  const reason: FileReason = 'overwritten-in-incoming';
  const finished = await finishRun(
    deps.store.db,
    run.id,
    {
      status: 'rejected',
      blobName: file.blobName,
      rowsTotal: 0,
      rowsLoaded: 0,
      rowsRejected: 0,
      finishedAt,
      rejectionReason: reason,
    },
    onlyAt,
  );
  if (!finished) return false;
  deps.logger.warn('import.rejected', {
    runId: run.id,
    ...ids,
    sha256: context.sha256,
    reasons: [reason],
    rows: 0,
    badRows: 0,
  });
  // Before the entry, as in every settling of a run (see reject).
  await removeStagedLeftovers(context, finishedAt);
  await appendRunEntry(context, 'deny', reason, []);
  return true;
}

/**
 * Once this file is handled: the runs of contents uploaded under its name before it that no
 * delivery finished (`loading` or `failed`), rejected as `overwritten-in-incoming` (rejectOverwritten,
 * held to the take-up read). The name holds this file's bytes now, so nothing can read theirs
 * again; a delivery that finds the name gone settles them (rejectAbandoned), but the retry of an
 * attempt the overwrite broke off, coming while this file was still in incoming (a large file's
 * load outlasts the queue's five minutes), read this file instead, and no delivery was left to
 * find the name gone: the run stayed unfinished for good, an extract still to come to retention
 * (found by a defect hunt). A copy of such bytes under another name is read afresh, the reason
 * being about the overwritten file (rejectedForAnotherDelivery).
 */
async function rejectOverwrittenUnder(context: RunContext): Promise<void> {
  const { deps, file, run } = context;
  const unfinished = (await unfinishedRunsUnder(deps, file)).filter((other) => other.id !== run.id);
  // Uploaded before this file, as its blob says: a content sent again is a duplicate of its first
  // run, whose upload time is its first sending's, before the content it overwrote (found by a
  // defect hunt: that content's run, compared with the runs alone, was left to the retry that
  // found the name gone, and rejected as removed, its report beside the processed file).
  const uploadedBefore = (other: ImportRun) =>
    Date.parse(other.uploaded_at ?? other.received_at) < context.lastModified.getTime();
  for (const other of unfinished) {
    if (!uploadedBefore(other) && !(await overwrittenSince(deps.store.db, other))) continue;
    await rejectOverwritten(
      {
        ...context,
        run: other,
        etag: NO_BLOB_ETAG,
        lastModified: new Date(other.uploaded_at ?? other.received_at),
        sha256: other.content_sha256,
      },
      other,
    );
  }
}

/**
 * The ETag a rejection of a file already gone moves it by: none matches it, so a file uploaded
 * under the name since is never moved as the gone one (moveExtract's copy is conditional on it).
 */
const NO_BLOB_ETAG = '"removed"';

/**
 * A blob in incoming whose path is not `{partyId}/{datasetId}/{fileName}` — a file at the top,
 * in one folder only, or deeper: nothing says whose extract of what it is, so it is rejected as
 * `bad-path` (report in rejected/, one access-log entry, the file moved there) rather than left
 * in incoming with nothing reported. No import run is claimed (a run belongs to a party and a
 * dataset). A retry of the same upload finds the report it wrote and takes its id again, so the
 * upload has one access-log entry. Throws {@link ImportFailed} as {@link importExtract} does.
 */
export async function rejectMisplacedExtract(deps: ImportDependencies, blobName: string): Promise<ImportOutcome> {
  const segments = blobName.split('/');
  // Folder names count only where a party's and a dataset's folders would be, and only if known.
  const ids = loggedIds(deps.agreements, {
    partyId: segments.length > 1 ? segments[0]! : '',
    datasetId: segments.length > 2 ? segments[1]! : '',
  });
  try {
    return await rejectMisplaced(deps, blobName, ids);
  } catch (err) {
    deps.logger.error('import.failed', { ...ids, reason: 'bad-path', error: errorKind(err) });
    throw new ImportFailed(errorKind(err), undefined);
  }
}

async function rejectMisplaced(deps: ImportDependencies, blobName: string, ids: LoggedIds): Promise<ImportOutcome> {
  const now = clockOf(deps);
  const containers = deps.containers ?? IMPORT_CONTAINERS;
  const blob = incomingBlob(deps.blobs, containers, blobName);
  const properties = await extractProperties(blob);
  if (properties === undefined) {
    deps.logger.info('import.gone', { ...ids });
    return { outcome: 'gone' };
  }
  const { sha256 } = await hashExtract(blob, properties.etag);
  // The report in rejected/ is all that tells a delivery that this upload was rejected (no run is
  // claimed), so it is written only over the one read: of two deliveries at once (Event Grid
  // delivers at least once), the one that finds another's report written meanwhile takes that
  // rejection's id, and the upload has one access-log entry, under the run its report names.
  let runId: string | undefined;
  let lostWrite = false;
  // Whether the id taken is that of a report another delivery wrote while this one tried to write
  // its own: only then is the entry another's to write. One that lost a write to another upload's
  // report and then wrote its own writes the entry itself, with no one to wait for.
  let rejectedElsewhere = false;
  for (let attempt = 1; runId === undefined; attempt++) {
    if (attempt > REPORT_WRITE_ATTEMPTS) throw new ReportWriteContended();
    const earlier = await readReportVersion(deps.blobs, containers, 'rejected', blobName);
    // This very upload, rejected by another delivery, or by an earlier one that broke off before moving it.
    if (
      earlier !== undefined &&
      earlier.report.contentSha256 === sha256 &&
      earlier.report.fileErrors[0]?.reason === 'bad-path' &&
      properties.lastModified.getTime() <= Date.parse(earlier.report.finishedAt)
    ) {
      runId = earlier.report.runId;
      rejectedElsewhere = lostWrite;
      continue;
    }
    const report: ImportReport = {
      runId: randomUUID(),
      partyId: ids.partyId,
      datasetId: ids.datasetId,
      file: blobName,
      contentSha256: sha256,
      outcome: 'rejected',
      finishedAt: now().toISOString(),
      counts: { rows: 0, loaded: 0, rejected: 0 },
      columns: [],
      maxBadRowShare: deps.maxBadRowShare,
      fileErrors: [{ reason: 'bad-path' }],
      rowErrors: [],
      rowErrorsNotListed: 0,
    };
    if (await replaceReport(deps.blobs, containers, 'rejected', blobName, report, earlier?.etag)) runId = report.runId;
    else lostWrite = true;
  }
  // The delivery whose report stands writes the entry just after it; give it that moment, so that
  // the entry a crash would have lost is not written twice.
  if (rejectedElsewhere) await waitForImportEntry(deps, { id: runId }, SETTLED_ELSEWHERE_GRACE_MS);
  deps.logger.warn('import.rejected', { runId, ...ids, sha256, reasons: ['bad-path'], rows: 0, badRows: 0 });
  await appendMisplacedEntry(deps, ids, runId);
  await moveExtract(deps.blobs, containers, blobName, properties.etag, 'rejected');
  return { outcome: 'rejected', runId, reasons: ['bad-path'] };
}

/**
 * The other key versions a load hashes its rows' identifiers under as well, for comparisons only,
 * when the key was rotated: the one the party's current snapshot of the dataset was hashed under
 * (`previous`), so that the load can carry person ids over (snapshot-writer.ts), and those of the
 * dataset's kept opt-out keys, so that a kept hash still meets an arrival (opt-out-kept-keys.ts).
 * A version that is gone (deleted or disabled) is left out: the load then says what it carried,
 * and a kept version gone is logged by its id (`import.kept-key-unavailable`; names, date of
 * birth and postcode still reach the arrival). Any other failure to read one fails the import, to
 * be retried: a load that carried nothing would cost everyone known to this source alone their
 * person id, consents and opt-outs for good, and one that compared no kept hash would share an
 * opted-out person, over what may be a passing Key Vault fault.
 */
async function comparisonKeys(
  deps: ImportDependencies,
  trx: Kysely<Database>,
  file: { readonly partyId: string; readonly datasetId: string },
  currentVersion: string,
): Promise<{ readonly previousKeyVersion: string | undefined; readonly keys: ComparisonKey[] }> {
  const { partyId, datasetId } = file;
  const snapshotVersion = await snapshotKeyVersion(trx, deps.store, partyId, datasetId);
  const previous = snapshotVersion === currentVersion ? undefined : snapshotVersion;
  const kept = await keptKeyVersions(trx, datasetId, currentVersion);
  const keys: ComparisonKey[] = [];
  try {
    for (const version of new Set([...(previous === undefined ? [] : [previous]), ...kept])) {
      try {
        const secret = await deps.secrets.get('pseudonymisation-key', version);
        keys.push({ keyVersion: secret.version, key: Buffer.from(secret.value, 'base64') });
      } catch (err) {
        if (!(err instanceof SecretVersionGoneError)) {
          deps.logger.warn('import.previous-key-unreadable', {
            partyId,
            datasetId,
            keyVersion: version,
            error: errorKind(err),
          });
          throw err;
        }
        // Also when it is the previous snapshot's: import.person-ids-not-carried names the
        // current version, and the operator must learn which one the kept keys need back.
        if (kept.includes(version)) deps.logger.warn('import.kept-key-unavailable', { datasetId, keyVersion: version });
      }
    }
  } catch (err) {
    for (const { key } of keys) key.fill(0);
    throw err;
  }
  const previousKeyVersion = keys.some((k) => k.keyVersion === previous) ? previous : undefined;
  return { previousKeyVersion, keys };
}

/**
 * The snapshot the party's dataset stands at, from the run ledger first: once retention has
 * deleted every record of the current snapshot, its records can no longer tell it. Runs loaded
 * before the ledger kept the order are placed by their records (and have no upload time).
 */
async function standingSnapshot(
  db: Kysely<Database>,
  store: Pick<Store, 'dialect'>,
  file: IncomingExtract,
): Promise<(SnapshotOrder & { readonly runId: string }) | undefined> {
  const ordered = await currentSnapshotOrder(db, file.partyId, file.datasetId);
  if (ordered !== undefined) return ordered;
  const held = await currentSnapshot(db, store, file.partyId, file.datasetId);
  return held === undefined ? undefined : { ...held, uploadedAt: undefined };
}

/**
 * Whether a file whose bytes match a final run is a new snapshot rather than a duplicate: the run
 * is not what the store holds now, and the file is dated after what it holds.
 */
function supersedes(run: ImportRun, current: CurrentSnapshot | undefined, asOf: string): boolean {
  return current !== undefined && current.runId !== run.id && asOf > current.asOf;
}

function prefixed(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [prefix + k, v]));
}

function fileErrorOf(err: FileRejection): FileError {
  return { reason: err.reason, ...err.at };
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

interface LoadInput {
  readonly rows: PreparedRows;
  readonly lenientWidth: boolean;
  readonly asOf: string;
  /** The blob's Last-Modified: orders two snapshots of one date. */
  readonly uploadedAt: string;
  /** The version of the key the rows' identifiers are hashed under. */
  readonly keyVersion: string;
  readonly onBatch: (rows: number) => void;
}

interface LoadResult {
  readonly rows: number;
  readonly loaded: number;
  readonly rowErrors: RowErrorList;
  readonly columns: readonly string[];
  readonly report: ImportReport;
  readonly carryOutcome: CarryOutcome | undefined;
  /** New records given a new person id holding the opt-outs of people the carry lost (opt-out-successors.ts). */
  readonly optOutSuccessors: number;
  /** New records given a new person id holding the opt-outs of people an earlier load removed (opt-out-kept-keys.ts). */
  readonly optOutArrivals: number;
}

interface Counts {
  readonly rows: number;
  readonly loaded: number;
  readonly rejected: number;
}

const SETTLED_ELSEWHERE_GRACE_MS = 10_000;

/**
 * Whether the run's latest load (or rejection) has its access-log entry. A run opened again for
 * a newer file has the entries of its earlier loads too: only one written since the run's file
 * was received counts (`since`; both times are ISO-8601 UTC text). `db`: a transaction's, to read
 * under its lock; `decision`: only an entry of that decision counts.
 */
async function importEntryLogged(
  deps: ImportDependencies,
  runId: string,
  since?: string,
  { db = deps.store.db, decision }: { readonly db?: Kysely<Database>; readonly decision?: 'allow' | 'deny' } = {},
): Promise<boolean> {
  let query = db.selectFrom('access_log').select('seq').where('request_id', '=', runId).where('action', '=', 'import');
  if (since !== undefined) query = query.where('time', '>=', since);
  if (decision !== undefined) query = query.where('decision', '=', decision);
  const entry = await deps.store.dialect.firstRows(query, 1).executeTakeFirst();
  return entry !== undefined;
}

/** What is left of the moment the delivery that finished `run` is given to write its entry (SETTLED_ELSEWHERE_GRACE_MS). */
function graceLeftMs(deps: ImportDependencies, run: Pick<ImportRun, 'finished_at'>): number {
  if (run.finished_at === null) return 0;
  return Math.min(
    SETTLED_ELSEWHERE_GRACE_MS,
    Date.parse(run.finished_at) + SETTLED_ELSEWHERE_GRACE_MS - nowOf(deps).getTime(),
  );
}

/** Waits up to `graceMs` for the run's latest entry (importEntryLogged), and returns whether it is there. */
async function waitForImportEntry(
  deps: ImportDependencies,
  run: { readonly id: string; readonly received_at?: string },
  graceMs: number,
): Promise<boolean> {
  const until = Date.now() + graceMs;
  for (;;) {
    if (await importEntryLogged(deps, run.id, run.received_at)) return true;
    if (Date.now() >= until) return false;
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

/** Another delivery of the same bytes finished the run while this one was reading the file. */
class RunSettledElsewhere extends Error {
  constructor() {
    super('Import run settled by another delivery');
    this.name = 'RunSettledElsewhere';
  }
}

/**
 * Another file of the bytes settled the run, while this delivery was reading or rejecting it, with
 * a rejection about that file as delivered rather than the bytes (rejectedForAnotherDelivery): its
 * attempts spent while this one's was still going (a sixth delivery of the other file rejects the
 * run under the fifth, this file's), or its name refused (`x.dat`) while this one (`x.csv`) reads.
 * This file is still in incoming and had it come a moment later it would have opened the run again;
 * filed as a duplicate of that rejection, it never loaded (found by a defect hunt). Its attempt
 * breaks off instead (ImportFailed; markFailed leaves the settled run as it is), and the queue's
 * retry opens the run again for it (`another-file`). Holding the attempts rejection to its own
 * take-up (finishRun `onlyAt`, as the removal is) would not do: the sixth take-up is the run's
 * latest, and a live fifth cannot be told from a crashed one, which is why attempts are counted at
 * all.
 */
class RunRejectedForAnotherFile extends Error {
  constructor() {
    super('Import run rejected meanwhile for another file of its bytes');
    this.name = 'RunRejectedForAnotherFile';
  }
}

/**
 * The final run a delivery would open again (a copy under another name, the same file uploaded
 * again, a newer snapshot of its bytes) has no access-log entry for its finish, within the grace
 * and after it: its delivery was killed before writing one. Opened, the run is `loading` and the
 * finish is no candidate of logRunsLeftUnlogged: its load or refusal never reached the access log
 * (found by a review). The delivery breaks off instead, and its retry, minutes later, logs the
 * finish before its claim, then opens the run.
 */
class RunFinishNotYetLogged extends Error {
  constructor() {
    super('Import run to open again has no access-log entry for its finish yet');
    this.name = 'RunFinishNotYetLogged';
  }
}

/** Another delivery took the run up before this attempt's own rejection of it (rejectRemoved). */
class RunTakenUpElsewhere extends Error {
  constructor() {
    super('Import run taken up by another delivery');
    this.name = 'RunTakenUpElsewhere';
  }
}

/** Rolls the snapshot transaction back and carries what the report needs. */
class SnapshotRejected extends Error {
  constructor(
    readonly fileErrors: FileError[],
    readonly counts: Counts | undefined,
    readonly rowErrors: RowErrorList | undefined,
  ) {
    super('Snapshot rejected');
    this.name = 'SnapshotRejected';
  }
}

async function loadSnapshot(context: RunContext, input: LoadInput): Promise<LoadResult> {
  const { deps, file, run } = context;
  const entry = deps.agreements.dataset(file.datasetId)!;
  const agreement = deps.agreements.agreement(entry.agreementId)!.agreement;
  const storage = storagePlanFor(entry.dataset, agreement.matching);
  const onRow = deps.hooks?.onRow;
  const { lap } = context;

  const loaded = await deps.store.db.transaction().execute(async (trx) => {
    // Locking the dataset's runs (this one among them) first serialises the loads of this party's
    // dataset: two deliveries of the same bytes can both claim the run, and the second then
    // finds it finished and stands down; two different files are compared with the current
    // snapshot one after the other, each seeing the other's commit.
    const status = await lockDatasetRuns(trx, file.partyId, file.datasetId, run.id);
    if (status === undefined || FINAL_STATUSES.has(status)) throw new RunSettledElsewhere();
    // Snapshots only move forward: an older extract (a late delivery, a retry that outlived a
    // newer file) would put back data the partner has since replaced. Of one date, the later
    // upload stands: a re-issue loads, a retry of an upload made before the current one does
    // not. Runs loaded before the ledger kept the order are placed by their records' date.
    if (datedAfterUpload(input.asOf, new Date(input.uploadedAt))) {
      throw new SnapshotRejected([{ reason: 'future-extract' }], undefined, undefined);
    }
    const incoming = { asOf: input.asOf, uploadedAt: input.uploadedAt };
    const current = await standingSnapshot(trx, deps.store, file);
    if (current !== undefined && isBehind(incoming, current)) {
      throw new SnapshotRejected([{ reason: 'stale-extract' }], undefined, undefined);
    }
    // Read here, with the snapshot the carry compares with: read before the transaction, it could
    // describe a snapshot another extract has since replaced under another key version (found
    // by a review: an extract racing another across a rotation carried nobody by identifier).
    // The kept keys' versions too, for the same reason: another party's load keeps keys in its
    // own transaction, which may have committed since this import began.
    const comparison = await comparisonKeys(deps, trx, file, input.keyVersion);
    const writer = new SnapshotWriter(
      trx,
      deps.store,
      {
        runId: run.id,
        partyId: file.partyId,
        datasetId: file.datasetId,
        asOf: input.asOf,
        keyVersion: input.keyVersion,
        previousKeyVersion: comparison.previousKeyVersion,
        comparisonKeyVersions: comparison.keys.map((k) => k.keyVersion),
      },
      lap,
    );
    await writer.deletePrevious();
    lap('begin, delete previous');

    const header = await input.rows.header();
    if (header === undefined) throw new SnapshotRejected([{ reason: 'empty-file' }], undefined, undefined);
    if (header.problem !== undefined || header.cellProblems !== undefined) {
      throw new SnapshotRejected([{ reason: 'header-unreadable', row: header.row }], undefined, undefined);
    }
    lap('first record');
    const planned = planColumns(header.cells, entry, file.partyId, deps.agreements);
    if (!planned.ok) throw new SnapshotRejected([...planned.errors], undefined, undefined);
    const { columns, unnamedLeading, unnamedTrailing } = planned;
    const plan: RowPlan = {
      columns,
      unnamedLeading,
      unnamedTrailing,
      fields: entry.dataset.fields,
      storage,
      runId: run.id,
      partyId: file.partyId,
      datasetId: file.datasetId,
      asOf: input.asOf,
      lenientWidth: input.lenientWidth,
    };
    await keepAttributeLayout(trx, deps.store.dialect.engine, attributeLayoutOf(plan));

    const rowErrors = new RowErrorList();
    let rows = 0;
    let loaded = 0;
    try {
      for await (const batch of input.rows.rows(plan, comparison.keys)) {
        lap('wait for rows');
        if (onRow !== undefined) for (const row of batch.rows) onRow(row);
        rows += batch.rows.length;
        for (const errors of batch.rowErrors) rowErrors.addRow(errors);
        loaded += writer.addRecords(batch.records);
        writer.addIdentifiers(batch.identifiers);
        writer.addComparisonIdentifiers(batch.comparisonIdentifiers);
        await writer.flush();
        input.onBatch(rows);
        lap('insert');
        // SQLite runs synchronously: give the event loop a turn per batch so the Functions
        // worker stays responsive (heartbeats, other invocations) and the row worker is fed.
        // The turn is where the worker's next batches arrive (and are deserialised).
        await new Promise<void>((resolveTurn) => setImmediate(resolveTurn));
        lap('receive rows');
      }
    } finally {
      // The preparer (or the worker) holds its own copy of the keys.
      for (const { key } of comparison.keys) key.fill(0);
    }
    lap('wait for rows');

    const counts: Counts = { rows, loaded, rejected: rowErrors.badRows };
    if (rows === 0) throw new SnapshotRejected([{ reason: 'no-data-rows' }], counts, rowErrors);
    if (loaded === 0 || rowErrors.badRows / rows > deps.maxBadRowShare) {
      throw new SnapshotRejected([{ reason: 'bad-row-share-exceeded' }], counts, rowErrors);
    }
    await writer.finish();
    const finishedAt = nowOf(deps).toISOString();
    const report = reportOf(context, 'loaded', finishedAt, counts, columns, [], rowErrors);
    // Staged, not published: the report appears in processed/ only after the commit (a failed
    // commit must not leave a report saying `loaded`); the staged copy lets a retry after the
    // commit publish the whole report, row errors and all, though the rows are not read again.
    await stageReport(context, report);
    lap('report');
    await finishRun(trx, run.id, {
      status: 'loaded',
      blobName: file.blobName,
      rowsTotal: rows,
      rowsLoaded: loaded,
      rowsRejected: rowErrors.badRows,
      finishedAt,
      snapshot: incoming,
    });
    return {
      rows,
      loaded,
      rowErrors,
      columns,
      report,
      carryOutcome: writer.carryOutcome,
      optOutSuccessors: writer.optOutSuccessors,
      optOutArrivals: writer.optOutArrivals,
    };
  });
  lap('commit');
  return loaded;
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

function reportOf(
  context: RunContext,
  outcome: ImportReport['outcome'],
  finishedAt: string,
  counts: Counts,
  columns: readonly string[],
  fileErrors: readonly FileError[],
  rowErrors: RowErrorList | undefined,
): ImportReport {
  return {
    runId: context.run.id,
    partyId: context.file.partyId,
    datasetId: context.file.datasetId,
    file: context.file.blobName,
    contentSha256: context.sha256,
    outcome,
    finishedAt,
    counts,
    columns,
    maxBadRowShare: context.deps.maxBadRowShare,
    fileErrors,
    rowErrors: rowErrors?.listed ?? [],
    rowErrorsNotListed: rowErrors?.notListed ?? 0,
  };
}

/**
 * Rejects the file and finishes the run, unless another delivery of the bytes finished it first
 * (then this file is a duplicate of that). `onlyAt`: only while the run is at that take-up
 * (finishRun), else {@link RunTakenUpElsewhere} is thrown, the run left to the delivery now at it.
 */
async function reject(
  context: RunContext,
  fileErrors: readonly FileError[],
  counts: Counts | undefined,
  rowErrors?: RowErrorList,
  onlyAt?: RunAttempt,
): Promise<ImportOutcome> {
  const { deps, file, ids, run } = context;
  const finishedAt = nowOf(deps).toISOString();
  const total: Counts = counts === undefined ? { rows: 0, loaded: 0, rejected: 0 } : { ...counts, loaded: 0 };
  const report = reportOf(context, 'rejected', finishedAt, total, [], fileErrors, rowErrors);
  // Staged under a name of this delivery's own before the run is finished, so that a crash
  // between leaves the report for the retry to publish; published only once this delivery's
  // finish stands. Two deliveries of one file (Event Grid delivers at least once) may reject it
  // at the same time, and the report path is theirs to share: a delivery whose finish did not
  // stand, taking back a report it had written there, took the winner's (found by a defect
  // hunt: the file sat in rejected/ with no report), and one that loaded must not be contradicted.
  const stagedName = stagedReportBlobName(file.blobName, run.id, finishedAt);
  await writeReport(deps.blobs, context.containers, 'rejected', file.blobName, report, stagedName);
  context.lap('report');
  const finished = await finishRun(
    deps.store.db,
    run.id,
    {
      status: 'rejected',
      blobName: file.blobName,
      rowsTotal: total.rows,
      rowsLoaded: 0,
      rowsRejected: total.rejected,
      finishedAt,
      rejectionReason: fileErrors[0]?.reason,
    },
    onlyAt,
  );
  if (!finished) {
    // Another delivery of the bytes finished the run meanwhile (e.g. one still loading when this
    // one found the attempts spent): its result stands.
    await stagedBlob(context, 'rejected', stagedName).deleteIfExists();
    const settled = await findRun(deps.store.db, file.partyId, file.datasetId, context.sha256);
    if (settled !== undefined && rejectedForAnotherDelivery(settled, file.blobName)) {
      throw new RunRejectedForAnotherFile();
    }
    if (settled !== undefined && FINAL_STATUSES.has(settled.status)) {
      await waitForImportEntry(deps, settled, SETTLED_ELSEWHERE_GRACE_MS);
      return settleDuplicate({ ...context, run: settled });
    }
    if (settled !== undefined && onlyAt !== undefined) throw new RunTakenUpElsewhere();
    throw new Error('Import run vanished while being rejected');
  }
  // The rejection's commit: a crash from here on leaves the run rejected with no entry.
  context.lap('commit');
  await publishReport(context, 'rejected', report, stagedName);
  const reasons = [...new Set(fileErrors.map((e) => e.reason))];
  deps.logger.warn('import.rejected', {
    runId: run.id,
    ...ids,
    sha256: context.sha256,
    reasons,
    rows: total.rows,
    badRows: total.rejected,
  });
  // The staged copies go before the entry: nothing reads them once the report is published (or
  // a later one stands), and a delivery killed after the entry, its file overwritten before the
  // retry, is never come back to (the run is logged), leaving them for good; killed before it,
  // the retry or the name's next delivery writes the entry (settleDuplicate, logRunsLeftUnlogged).
  await removeStagedLeftovers(context, finishedAt);
  await appendRunEntry(context, 'deny', reasons[0] ?? 'rejected', []);
  await moveExtract(deps.blobs, context.containers, file.blobName, context.etag, 'rejected');
  return { outcome: 'rejected', runId: run.id, reasons };
}

/** The same bytes were applied (or refused) before: finish what a crashed attempt left, change nothing. */
async function settleDuplicate(context: RunContext): Promise<ImportOutcome> {
  const { deps, file, ids, run } = context;
  const of = run.status === 'loaded' ? 'loaded' : 'rejected';
  deps.logger.info('import.duplicate', {
    runId: run.id,
    ...ids,
    sha256: context.sha256,
    of,
  });
  // The run's own delivery again (a re-delivered event, a retry after a crash): the blob it
  // read, under its name and uploaded before it finished. The same bytes uploaded again under
  // that name later are another file, though the name is the same: a partner who always sends
  // `extract.csv` re-sending Monday's after Tuesday's must not have Monday's report put back
  // over Tuesday's (found by a review).
  const ownDelivery =
    run.blob_name === file.blobName &&
    (run.finished_at === null || context.lastModified.getTime() <= Date.parse(run.finished_at));
  // A crash (or a failed write) after the commit can have lost the report: publish it now.
  if (of === 'loaded' && ownDelivery) await ensureLoadedReport(context);
  if (of === 'rejected' && ownDelivery) await ensureRejectedReport(context);
  // The delivery that finished the run writes its entry just after (the report first): a delivery
  // of the same file that finds the run finished within that moment — Event Grid delivers at least
  // once, and a batch can hand one host the event twice — gives it the moment, and writes the
  // entry only if none comes, as after a crash. Written at once, the import stood in the access log
  // twice (found by a defect hunt). A retry after a crash comes minutes later (host.json), and
  // writes it without waiting; never more than the grace, however far another instance's clock
  // put the finish ahead.
  const logged = ownDelivery
    ? await waitForImportEntry(deps, run, graceLeftMs(deps, run))
    : await importEntryLogged(deps, run.id, run.received_at);
  // A delivery killed between its entry and the mark: marked now, so no later delivery of the
  // name reads the run again (logRunsLeftUnlogged).
  if (logged && run.entry_logged === 0) await markEntryLogged(deps.store.db, run);
  // From the run ledger (standingSnapshot): a current snapshot retention has emptied has no record to tell it.
  const current = of === 'loaded' && (await standingSnapshot(deps.store.db, deps.store, file))?.runId === run.id;
  if (!logged && ownDelivery) {
    // A crash after the commit lost this run's entry: write it now (the run's own delivery).
    const columns = of === 'loaded' ? await loadedColumns(context) : [];
    await appendRunEntry(
      context,
      of === 'loaded' ? 'allow' : 'deny',
      of === 'loaded' ? 'snapshot-loaded' : await rejectionReason(context),
      columns,
    );
  }
  if (run.finished_at !== null) await removeStagedLeftovers(context, run.finished_at);
  const destination: Destination = of === 'loaded' ? 'processed' : 'rejected';
  // Another file with the same bytes: a report of its own, so the party sees why it changed
  // nothing (written before the move, as every report is: `npm run import` relies on it). Not over
  // this run's own report, though: a file this run loaded or rejected under this name whose
  // delivery comes again (the run names a copy that claimed it meanwhile) keeps its verdict.
  const own = async () => {
    const there = await readReport(deps.blobs, context.containers, destination, file.blobName);
    return there?.runId === run.id && there.outcome !== 'duplicate';
  };
  if (!ownDelivery && !(await own())) {
    const finishedAt = nowOf(deps).toISOString();
    await writeReport(deps.blobs, context.containers, destination, file.blobName, {
      ...reportOf(context, 'duplicate', finishedAt, { rows: 0, loaded: 0, rejected: 0 }, [], [], undefined),
      duplicateOf: { file: run.blob_name, outcome: of },
    });
  }
  await moveExtract(deps.blobs, context.containers, file.blobName, context.etag, destination);
  await rejectOverwrittenUnder(context);
  if (current) await afterLoad(context, run.id);
  return { outcome: 'duplicate', runId: run.id, of };
}

/** What a delivery knows of its file before (or without) a run: enough to settle the runs under its name. */
type NameContext = Omit<RunContext, 'run' | 'etag' | 'lastModified' | 'sha256'>;

/**
 * The runs of contents under this file's name that were finished (loaded or rejected) and never
 * got their access-log entry: their process was killed (or their attempt broke off) between the
 * finish and the entry, and the partner overwrote (or deleted) the file before the retry came. The
 * retry then read the later content, another run's, or found the name gone, and nothing went back
 * to the finished one: a load or a rejection the access log did not show, and its staged report
 * left in processed/ or rejected/ for good. Each gets what its own retry would have given it: its
 * report (a load's from the staged copy, else its counts; a rejection's from the staged copy
 * only), unless the name's report there is a later run's, and its entry. Every delivery of the
 * name passes here first, whatever then becomes of it — a load, a duplicate, a rejection before
 * or inside the load, the name found gone — so a later content refused or sent again recovers
 * them too. The runs are locked (an update of their own rows) before they are read again: two
 * deliveries of the name never both write one entry. A run finished within
 * SETTLED_ELSEWHERE_GRACE_MS is left: its delivery may be writing its entry now; the killed
 * delivery's own retry, minutes later, passes here again after the grace, whether it reads the
 * later content or finds the name gone. Not on SQLite in memory, whose log is written on the
 * connection a transaction holds; nothing there outlives a crash.
 */
async function logRunsLeftUnlogged(context: NameContext): Promise<void> {
  const { deps, file } = context;
  if (!entriesWithinStoreTransactions(deps.store)) return;
  const graceStart = new Date(nowOf(deps).getTime() - SETTLED_ELSEWHERE_GRACE_MS).toISOString();
  // Looked for first without a lock: it is rare, and a lock taken on every delivery would wait on
  // the load of the name going on meanwhile.
  const seen = await runsLeftUnlogged(deps.store.db, file, graceStart);
  if (seen.length === 0) return;
  await deps.store.db.transaction().execute(async (trx) => {
    // Locked, then read again: another delivery of the name may have written their entries since.
    const locked = new Set(seen.map((run) => run.id));
    await lockRuns(trx, [...locked]);
    for (const run of (await runsLeftUnlogged(trx, file, graceStart)).filter((run) => locked.has(run.id))) {
      await logRunLeftUnlogged(trx, {
        ...context,
        run,
        etag: NO_BLOB_ETAG,
        lastModified: new Date(run.uploaded_at ?? run.received_at),
        sha256: run.content_sha256,
      });
    }
  });
}

/** The runs under the file's name finished before `graceStart` whose latest finish has no access-log entry. */
function runsLeftUnlogged(db: Kysely<Database>, file: IncomingExtract, graceStart: string): Promise<ImportRun[]> {
  // The unmarked runs alone, which the name's index seeks (migration 0055): the log is read for
  // those, not for every run the name ever had.
  return runsUnderName(db, file.partyId, file.datasetId, file.blobName)
    .selectAll()
    .where('entry_logged', '=', 0)
    .where('status', 'in', ['loaded', 'rejected'])
    .where('finished_at', '<', graceStart)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('access_log')
            .select('access_log.seq')
            .whereRef('access_log.request_id', '=', 'import_run.id')
            .where('access_log.action', '=', 'import')
            .whereRef('access_log.time', '>=', 'import_run.received_at'),
        ),
      ),
    )
    .execute();
}

/** One run logRunsLeftUnlogged found: its report unless a later run's stands there, its entry, its staged copies gone. */
async function logRunLeftUnlogged(trx: Transaction<Database>, context: RunContext): Promise<void> {
  const { deps, containers, file, run } = context;
  const finishedAt = run.finished_at!;
  const loaded = run.status === 'loaded';
  const published = await readReport(deps.blobs, containers, loaded ? 'processed' : 'rejected', file.blobName);
  const laterThere = published !== undefined && isLaterReport(published, { runId: run.id, finishedAt });
  deps.logger.warn('import.entry-recovered', { runId: run.id, ...context.ids, of: run.status });
  // The staged copies go before the entry, once the report is out of them: a recovery killed
  // after the entry is never come back to (the run is logged), and left them beside the report
  // for good; killed before it, the next delivery of the name recovers the run again.
  let entry: { readonly decision: 'allow' | 'deny'; readonly reasonCode: string; readonly columns: readonly string[] };
  if (loaded) {
    // Read before the staged copies go: a load's columns may be in its staged report alone.
    const staged = await readReport(deps.blobs, containers, 'processed', file.blobName, stagedReportName(context));
    const columns = [staged, published].find((report) => report?.runId === run.id)?.columns ?? [];
    if (!laterThere) await ensureLoadedReport(context);
    entry = { decision: 'allow', reasonCode: 'snapshot-loaded', columns };
  } else {
    if (!laterThere) await ensureRejectedReport(context);
    entry = { decision: 'deny', reasonCode: run.rejection_reason ?? 'rejected', columns: [] };
  }
  await removeStagedLeftovers(context, finishedAt);
  await appendAccessLog(context, entry.decision, entry.reasonCode, entry.columns);
  await markEntryLogged(trx, run);
}

/** The afterLoad hook of a loaded run, its failure logged and kept from the import (see ImportHooks). */
async function afterLoad(context: RunContext, runId: string): Promise<void> {
  try {
    await context.deps.hooks?.afterLoad?.(runId);
  } catch (err) {
    context.deps.logger.error('import.after-load-failed', { runId, ...context.ids, error: errorKind(err) });
  }
}

// ---------------------------------------------------------------------------------------------
// The loaded report: staged inside the load's transaction, published after its commit
// ---------------------------------------------------------------------------------------------

/** A load's staged report, in processed/. */
function stagedReportName(context: RunContext): string {
  return stagedReportBlobName(context.file.blobName, context.run.id);
}

/** A staged copy of a report, in the container it is published in. */
function stagedBlob(context: RunContext, destination: 'processed' | 'rejected', stagedName: string) {
  return context.deps.blobs.getContainerClient(context.containers[destination]).getBlockBlobClient(stagedName);
}

async function stageReport(context: RunContext, report: ImportReport): Promise<void> {
  const { deps, containers, file } = context;
  await writeReport(deps.blobs, containers, 'processed', file.blobName, report, stagedReportName(context));
}

/**
 * Publishes a report as `<file>.report.json` in `destination`, then removes its staged copy; not
 * over a later run's report of the name. A delivery stalled between its finish and its report (a
 * pause, a slow storage call) is released after a later content under the name has been read and
 * reported: written unread, its report took the later one's place, and the party saw the older
 * file's verdict for the name (found by a review). Written only over the report read, so one
 * written meanwhile is read again, a few times at most (ReportWriteContended).
 */
async function publishReport(
  context: RunContext,
  destination: 'processed' | 'rejected',
  report: ImportReport,
  stagedName: string,
): Promise<void> {
  const { deps, containers, file } = context;
  for (let attempt = 1; ; attempt++) {
    const there = await readReportVersion(deps.blobs, containers, destination, file.blobName);
    if (there !== undefined && isLaterReport(there.report, report)) break;
    if (await replaceReport(deps.blobs, containers, destination, file.blobName, report, there?.etag)) break;
    if (attempt === REPORT_WRITE_ATTEMPTS) throw new ReportWriteContended();
  }
  await stagedBlob(context, destination, stagedName).deleteIfExists();
}

/**
 * How many times publishReport (and rejectMisplaced) reads the name's report and writes its own
 * over it before it gives up. Another delivery of the name writes it once, so one more read settles that; a report that
 * changes under every write (a lease held on it, a writer outside lintel rewriting it) would keep
 * the delivery in the loop, its queue message invisible, for as long as the host lets it run.
 */
const REPORT_WRITE_ATTEMPTS = 5;

/**
 * A report that stayed contended for REPORT_WRITE_ATTEMPTS writes: the delivery fails, and the
 * queue's retry publishes it (settleDuplicate recovers the report of a finished run).
 */
class ReportWriteContended extends Error {
  constructor() {
    super(`The import report changed under each of ${REPORT_WRITE_ATTEMPTS} conditional writes`);
    this.name = 'ReportWriteContended';
  }
}

/**
 * Whether `published` is a later finish's report than `finish` (a report, or a run's finish):
 * another run's finished no earlier, or the run's own finished later. The same bytes uploaded
 * again open the run again under its id: the delivery of its first finish, stalled and released
 * after the second's report, took that one's place (found by a review).
 */
function isLaterReport(published: ImportReport, finish: Pick<ImportReport, 'runId' | 'finishedAt'>): boolean {
  if (published.runId === finish.runId) return published.finishedAt > finish.finishedAt;
  return published.finishedAt >= finish.finishedAt;
}

async function publishLoadedReport(context: RunContext, report: ImportReport): Promise<void> {
  await publishReport(context, 'processed', report, stagedReportName(context));
}

/**
 * For a loaded run's own file: its report in processed/, unless the one there is already this
 * load's. From the staged copy; failing that (it cannot be missing unless removed by hand), from
 * the run's counts, without row errors or columns.
 */
async function ensureLoadedReport(context: RunContext): Promise<void> {
  const { deps, containers, file, run } = context;
  const published = await readReport(deps.blobs, containers, 'processed', file.blobName);
  if (published?.runId === run.id && published.finishedAt === run.finished_at) return;
  const staged = await readReport(deps.blobs, containers, 'processed', file.blobName, stagedReportName(context));
  const report =
    staged?.runId === run.id && staged.finishedAt === run.finished_at
      ? staged
      : reportOf(
          context,
          'loaded',
          run.finished_at ?? nowOf(deps).toISOString(),
          { rows: run.rows_total ?? 0, loaded: run.rows_loaded ?? 0, rejected: run.rows_rejected ?? 0 },
          [],
          [],
          undefined,
        );
  deps.logger.warn('import.report-recovered', { runId: run.id, fromStaged: report === staged });
  await publishLoadedReport(context, report);
}

/**
 * Removes this file's staged copies of the run's reports that no delivery needs any more, once the
 * run's outcome (finished at `finishedAt`) stands and its report is published: a load's, or a
 * rejection's staged no later than that finish. An attempt killed between staging and finishing
 * left its copy (a load that never committed, a rejection whose finish never happened), and the
 * retry stages under another name, or another file of the same bytes finishes the run: nothing
 * else would ever take it away. A rejection's copy staged after the finish is not touched: it can
 * be a later upload's, which opened the run again and may yet need it. Only names exactly as
 * staged: a partner's file in rejected/ ends in `~` (`handledName`), and a staged copy of another
 * file's report, whose name begins like these, has more after the time.
 */
async function removeStagedLeftovers(context: RunContext, finishedAt: string): Promise<void> {
  const { deps, containers, file, run } = context;
  await stagedBlob(context, 'processed', stagedReportName(context)).deleteIfExists();
  const prefix = stagedReportPrefix(file.blobName, run.id);
  const stood = compactTime(finishedAt);
  for await (const blob of deps.blobs.getContainerClient(containers.rejected).listBlobsFlat({ prefix })) {
    const staged = stagedRejectionFinish(blob.name, file.blobName, run.id);
    if (staged !== undefined && staged <= stood) await stagedBlob(context, 'rejected', blob.name).deleteIfExists();
  }
}

/**
 * For a rejected run's own file: its report in rejected/, unless the one there is already this
 * rejection's, from the copy staged before the run was finished. Without a staged copy nothing
 * is written: the delivery that staged it published it and removed it meanwhile, and the report
 * there now may be a later file's of the same name.
 */
async function ensureRejectedReport(context: RunContext): Promise<void> {
  const { deps, containers, file, run } = context;
  if (run.finished_at === null) return;
  const published = await readReport(deps.blobs, containers, 'rejected', file.blobName);
  if (published?.runId === run.id && published.finishedAt === run.finished_at) return;
  const stagedName = stagedReportBlobName(file.blobName, run.id, run.finished_at);
  const staged = await readReport(deps.blobs, containers, 'rejected', file.blobName, stagedName);
  if (staged === undefined) return;
  deps.logger.warn('import.report-recovered', { runId: run.id, fromStaged: true });
  await publishReport(context, 'rejected', staged, stagedName);
}

/**
 * Whether a rejected run is to be tried again: this blob was uploaded after the rejection. A
 * rejection may be a verdict on something other than the bytes — the attempts ran out
 * (`import-attempts-exhausted`), the agreement did not yet list the party, the dataset or a
 * column, the bad-row threshold was lower — so a partner who sends the same file again, once told
 * it was fixed, has it read again and gets a fresh report. A blob older than the rejection is the
 * rejected file itself (a re-delivered event, or a crash before its move): still a duplicate.
 */
function uploadedAgainAfterRejection(run: ImportRun, lastModified: Date): boolean {
  if (run.status !== 'rejected' || run.finished_at === null) return false;
  return lastModified.getTime() > Date.parse(run.finished_at);
}

/**
 * Whether a rejected run is to be tried again for this file, another of its bytes, whenever this
 * one was uploaded: the run was rejected for something about the rejected file as delivered, not
 * its bytes (reasons.ts, NON_CONTENT_REASONS) — the file was deleted from incoming under its
 * import, its attempts ran out, or its name, metadata or upload time declared what the import
 * refuses (a type it does not read, a date that is none, in the future or behind the current
 * snapshot) — or by reading the bytes, where this file's name reads them another way
 * ({@link readAs}). A partner who sends one extract twice under two names, or whose SFTP rename surfaces
 * as a new blob, and deletes the first while it is read, still has the other in incoming; uploaded
 * before the rejection finished (both were there, then one was deleted), it was filed in rejected/
 * as a duplicate of the removal, and its data never loaded (found by a defect hunt). So was
 * `x.csv`, sent at once after `x.dat` of the same bytes, when `x.dat` was refused as
 * `unsupported-file-type` (found by a review of that fix): the verdict was on the name, and the
 * copy's name is another. Under the rejected file's own name (`blob_name`, the name it was rejected
 * under) {@link uploadedAgainAfterRejection} decides: a blob older than the rejection is that file
 * itself, and a file that keeps crashing its instance must not start its attempts over on each
 * delivery of its own message. No endless round either way: each rejection moves its file out of
 * incoming, and a file opens the run again only on a delivery of its own, which the queue limits.
 * Asked too by a delivery whose own attempt finds the run so settled under it: it breaks off, for
 * its retry to open the run ({@link RunRejectedForAnotherFile}).
 */
function rejectedForAnotherDelivery(run: ImportRun, blobName: string): boolean {
  if (run.status !== 'rejected' || run.blob_name === blobName) return false;
  if (run.rejection_reason === null) return false;
  return NON_CONTENT_REASONS.has(run.rejection_reason as FileReason) || readAs(run.blob_name) !== readAs(blobName);
}

/**
 * How a file's name says it is read (extract-format.ts), for comparing two files of the same
 * bytes: a verdict reached by reading them holds for a copy read the same way only. A comma file
 * named `x.tsv` refused as `wrong-delimiter`, or a text file named `x.xlsx` refused as unreadable,
 * says nothing of `x.csv`, sent beside it: filed as a duplicate of that rejection, its data never
 * loaded (found by a defect hunt). Metadata is left out on both sides, as the rejected file's is
 * not kept: a copy whose name reads the same but whose metadata declares another delimiter is
 * still a duplicate (sent again after the rejection, it is read afresh), and one whose name reads
 * otherwise but whose metadata makes it read alike is read once more, and refused the same.
 */
function readAs(blobName: string): string {
  const format = extractFormatOf(blobName, {});
  return format === undefined ? 'unread' : format.kind === 'xlsx' ? 'xlsx' : `delimited:${format.delimiter}`;
}

/**
 * Why a rejected run was rejected, from the report its rejection wrote before finishing the run
 * (for a recovered access-log entry); `rejected` if that report is not this rejection's.
 */
async function rejectionReason(context: RunContext): Promise<string> {
  const { run } = context;
  const report = await readReport(context.deps.blobs, context.containers, 'rejected', context.file.blobName);
  const own = report?.runId === run.id && report.finishedAt === run.finished_at;
  return (own ? report.fileErrors[0]?.reason : undefined) ?? 'rejected';
}

/** The columns a loaded run stored, from its report (for a recovered access-log entry). */
async function loadedColumns(context: RunContext): Promise<string[]> {
  const report = await readReport(context.deps.blobs, context.containers, 'processed', context.file.blobName);
  return report?.runId === context.run.id ? [...report.columns] : [];
}

/**
 * The import's access-log entry, under `context.run`'s id (since its `received_at`, where it has
 * one, of `decision`), unless one is there already: read and written under `lock`, which every
 * delivery that logs that finish takes, so that the first to take it writes the entry and every
 * later one finds it. Written unread, a delivery merely slow between its finish and its entry (a
 * pause, a slow storage call, a host under load) wrote it after another delivery had written it
 * (recovered it, taking it for dead, or found a misplaced file's report and then no entry), and the
 * access log said the file was imported, or refused, twice (found by defect hunts). The log itself
 * is read, not a mark kept on the run: a delivery killed before the entry leaves nothing that would
 * stop its retry writing it, and none to take over after a grace, which a delivery slower still
 * would outlast. Counted as importEntryLogged counts, of the same decision: a run opened again and
 * loaded while the delivery of its rejection was stalled keeps its load's entry. Once the entry is
 * there (written now or found), `markLogged` marks the run's finish logged under the same lock
 * (`import_run.entry_logged`): that mark only narrows the runs logRunsLeftUnlogged reads, and is
 * never there without the entry; whether to write is still the log's to say.
 *
 * On SQLite in memory (entriesWithinStoreTransactions) read and written without the lock, which a
 * transaction would hold with the connection the log is written on: the deliveries of a name there
 * all run in the one process, which recovers an entry too (settleDuplicate), so a stall is as long
 * there and the check closes it, leaving only the moment between one query and one append.
 */
async function appendEntryOnce(
  context: EntryContext,
  lock: (trx: Transaction<Database>) => Promise<void>,
  decision: 'allow' | 'deny',
  reasonCode: string,
  fields: readonly string[],
  markLogged: (db: Kysely<Database>) => Promise<void>,
): Promise<void> {
  const { deps, run } = context;
  const logged = (db?: Kysely<Database>) => importEntryLogged(deps, run.id, run.received_at, { db, decision });
  if (!entriesWithinStoreTransactions(deps.store)) {
    if (!(await logged())) await appendAccessLog(context, decision, reasonCode, fields);
    await markLogged(deps.store.db);
    return;
  }
  await deps.store.db.transaction().execute(async (trx) => {
    await lock(trx);
    if (!(await logged(trx))) await appendAccessLog(context, decision, reasonCode, fields);
    await markLogged(trx);
  });
}

/**
 * The entry of a run's finish, from a delivery that finished it or found its entry missing
 * (settleDuplicate), under the lock of the run's row, which logRunsLeftUnlogged takes too before it
 * writes the entry of a run finished more than the grace ago.
 */
function appendRunEntry(
  context: RunContext,
  decision: 'allow' | 'deny',
  reasonCode: string,
  fields: readonly string[],
): Promise<void> {
  const lockRun = (trx: Transaction<Database>) => lockRuns(trx, [context.run.id]);
  const markLogged = (db: Kysely<Database>) => markEntryLogged(db, context.run);
  return appendEntryOnce(context, lockRun, decision, reasonCode, fields, markLogged);
}

/**
 * A misplaced file's entry, under the run id its report names, which has no row to lock: every
 * delivery of the upload takes that id from the report (rejectMisplaced), and a lock on it. On SQL
 * Server the lock is takeTransactionLock's; on SQLite the store's one connection, which the
 * transaction holds.
 */
function appendMisplacedEntry(deps: ImportDependencies, ids: LoggedIds, runId: string): Promise<void> {
  const lockRunId = (trx: Transaction<Database>) =>
    takeTransactionLock(deps.store, trx, `lintel-import-misplaced:${runId}`, MISPLACED_ENTRY_LOCK_TIMEOUT_MS);
  // A misplaced upload has no run to mark logged: its report and the log are all there is.
  const noRunToMark = async () => {};
  return appendEntryOnce(
    { deps, ids, purpose: 'import', run: { id: runId } },
    lockRunId,
    'deny',
    'bad-path',
    [],
    noRunToMark,
  );
}

/** How long a misplaced file's delivery waits for another's entry to be written (the lock holds one append). */
const MISPLACED_ENTRY_LOCK_TIMEOUT_MS = 60_000;

/** Who an import's access-log entry is written for: a run's, or a misplaced file's run id, which has no row. */
type EntryContext = Pick<RunContext, 'deps' | 'ids' | 'purpose'> & {
  readonly run: Pick<ImportRun, 'id'> & Partial<Pick<ImportRun, 'received_at'>>;
};

/** The import's one access-log entry, under its run's id (a misplaced file's: its report's). */
async function appendAccessLog(
  context: EntryContext,
  decision: 'allow' | 'deny',
  reasonCode: string,
  fields: readonly string[],
): Promise<void> {
  await context.deps.accessLog.append({
    requestId: context.run.id,
    partyId: context.ids.partyId,
    clientId: CLIENT_ID,
    roles: [],
    purpose: context.purpose,
    action: 'import',
    subjectRef: null,
    datasets: [context.ids.datasetId],
    fields: [...fields],
    decision,
    reasonCode,
  });
}
