import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { BlobClient, BlobServiceClient, BlockBlobClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, expect, inject, vi } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import type { CuratedExportDependencies } from '../../../shared/curated/curated-export.js';
import type { ImportContainers } from '../../../shared/imports/extract-blob.js';
import type { ImportReport } from '../../../shared/imports/import-report.js';
import { importExtract, type ImportDependencies, type ImportOutcome } from '../../../shared/imports/import-extract.js';
import { claimRun } from '../../../shared/imports/import-runs.js';
import { warmRowWorker } from '../../../shared/imports/row-worker-client.js';
import type { RetentionDependencies } from '../../../shared/retention/enforce-retention.js';
import type { LinkDependencies } from '../../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { withAttributes } from '../../../shared/store/record-attributes.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { gate } from '../../support/gate.js';
import { refuseResetInTransaction, restoreStoreState, storeState, type StoreState } from '../../support/store-state.js';

/**
 * A real import setup for tests: the shared Azurite with containers of the harness's own (so
 * suites running in parallel, or a local host's blob watcher, never see each other's files),
 * a private SQLite store, the real agreements and a local key file. Every log line is kept.
 */
export interface ImportHarness {
  readonly store: Store;
  readonly blobs: BlobServiceClient;
  readonly containers: ImportContainers;
  readonly logLines: string[];
  readonly secrets: LocalSecretSource;
  readonly paths: { readonly sqlite: string; readonly secrets: string };
  deps(overrides?: Partial<ImportDependencies>): ImportDependencies;
  /** What the linking pass needs, on the harness's store, keys and agreements. */
  linkDeps(): LinkDependencies;
  /** What retention enforcement needs, with the harness's access log. */
  retentionDeps(): RetentionDependencies;
  /**
   * What a planning export needs, into `container` (a test's own), with the harness's access log:
   * cells under 10 suppressed, 400 days of history, the store's consents, on 2026-12-02 at 09:00.
   */
  exportDeps(container: string, overrides?: Partial<CuratedExportDependencies>): CuratedExportDependencies;
  /** Creates a blob container for exportDeps, the test's own; close() removes it with the harness's. */
  exportContainer(): Promise<string>;
  /** Uploads `content` to incoming at `party/dataset/fileName`. */
  drop(blobName: string, content: Buffer | string, metadata?: Record<string, string>): Promise<void>;
  run(blobName: string, overrides?: Partial<ImportDependencies>): Promise<ImportOutcome>;
  /** Drops and imports. */
  importFile(
    blobName: string,
    content: Buffer | string,
    metadata?: Record<string, string>,
    overrides?: Partial<ImportDependencies>,
  ): Promise<ImportOutcome>;
  /** Drops and imports a file that must load, then links its records as the host does after an import. */
  importAndLink(blobName: string, content: Buffer | string): Promise<void>;
  report(destination: 'processed' | 'rejected', blobName: string): Promise<ImportReport | undefined>;
  exists(container: keyof ImportContainers, blobName: string): Promise<boolean>;
  /** The names of the blobs in one of the harness's containers, sorted. */
  blobNames(container: keyof ImportContainers): Promise<string[]>;
  close(): Promise<void>;
}

export const AGREEMENTS_DIR = resolve('agreements');

/** The import fixture corpus: test/fixtures/imports, written by make-fixtures.ts. */
export const IMPORT_FIXTURES = new URL('../../fixtures/imports/', import.meta.url);

/** A file of the import fixture corpus, its bytes as a partner would upload them. */
export function importFixture(name: string): Buffer {
  return readFileSync(new URL(name, IMPORT_FIXTURES));
}

/**
 * The clock of a delivery the import queue retries after one failed at `failedAt`: the message
 * comes back once its visibility timeout (five minutes, host.json) has passed. A retry at once
 * is a duplicate delivery of the moment instead, which gives the finishing delivery 10 s to write
 * its access-log entry before writing a lost one itself.
 */
export function queueRetryClock(failedAt: Date = new Date()): () => Date {
  return () => new Date(failedAt.getTime() + 5 * 60_000);
}

export async function createImportHarness(
  options: {
    maxBadRowShare?: number;
    rowWorkerMinBytes?: number;
    agreementsDir?: string;
    /**
     * Starts a spare row worker when created and after each run, as the host does
     * (functions/import-blob.ts): the next file's thread loads its modules while this file's
     * outcome is checked, rather than inside the next import. Off by default, for tests that
     * count the threads an import starts.
     */
    spareRowWorker?: boolean;
    /**
     * The store in memory (SQLITE_PATH=:memory:), whose access log is written on the store's one
     * connection, not within its transactions. Its deliveries run in this process only: a child's
     * (kill-at-phase.ts) has a store of its own.
     */
    inMemory?: boolean;
  } = {},
): Promise<ImportHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-import-'));
  const paths = { sqlite: join(dir, 'lintel.db'), secrets: join(dir, 'secrets.json') };
  const store = openStore({ engine: 'sqlite', path: options.inMemory === true ? ':memory:' : paths.sqlite });
  await migrateToLatest(store);
  const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
  const tag = randomUUID().slice(0, 8);
  const containers: ImportContainers = { incoming: `in-${tag}`, processed: `done-${tag}`, rejected: `rej-${tag}` };
  for (const name of Object.values(containers)) await blobs.getContainerClient(name).createIfNotExists();
  const logLines: string[] = [];
  const logger = createLogger('debug', (line) => logLines.push(line));
  const agreements = loadAgreements(options.agreementsDir ?? AGREEMENTS_DIR);
  const secrets = new LocalSecretSource(paths.secrets);
  const accessLog = new AccessLog(store, logger);
  const deps = (overrides: Partial<ImportDependencies> = {}): ImportDependencies => ({
    store,
    blobs,
    agreements,
    secrets,
    logger,
    accessLog,
    maxBadRowShare: options.maxBadRowShare ?? 0.05,
    containers,
    rowWorkerMinBytes: options.rowWorkerMinBytes,
    ...overrides,
  });
  const drop = async (blobName: string, content: Buffer | string, metadata?: Record<string, string>) => {
    const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    await blobs
      .getContainerClient(containers.incoming)
      .getBlockBlobClient(blobName)
      .upload(body, body.length, { metadata });
  };
  const linkDeps = (): LinkDependencies => ({ store, secrets, agreements, logger });
  const exportContainers: string[] = [];
  const run = (blobName: string, overrides?: Partial<ImportDependencies>) => {
    const [partyId = '', datasetId = '', ...rest] = blobName.split('/');
    const outcome = importExtract(deps(overrides), { blobName, partyId, datasetId, fileName: rest.join('/') });
    return options.spareRowWorker === true ? outcome.finally(warmRowWorker) : outcome;
  };
  if (options.spareRowWorker === true) warmRowWorker();
  return {
    store,
    blobs,
    containers,
    logLines,
    secrets,
    paths,
    deps,
    linkDeps,
    retentionDeps: () => ({ store, agreements, accessLog, logger }),
    exportDeps: (container, overrides) => ({
      store,
      agreements,
      consents: new StoreConsentRegister(store),
      accessLog,
      blobs,
      secrets,
      logger,
      minCell: 10,
      historyDays: 400,
      container,
      now: () => new Date('2026-12-02T09:00:00.000Z'),
      ...overrides,
    }),
    async exportContainer() {
      const name = `cur-${randomUUID().slice(0, 8)}`;
      await blobs.getContainerClient(name).create();
      exportContainers.push(name);
      return name;
    },
    drop,
    run,
    async importFile(blobName, content, metadata, overrides) {
      await drop(blobName, content, metadata);
      return run(blobName, overrides);
    },
    async importAndLink(blobName, content) {
      await drop(blobName, content);
      const outcome = await run(blobName);
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ outcome: 'loaded' });
      await linkAfterImport(linkDeps(), (outcome as { runId: string }).runId);
    },
    async report(destination, blobName) {
      const blob = blobs.getContainerClient(containers[destination]).getBlobClient(`${blobName}.report.json`);
      if (!(await blob.exists())) return undefined;
      return JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as ImportReport;
    },
    exists(container, blobName) {
      return blobs.getContainerClient(containers[container]).getBlobClient(blobName).exists();
    },
    async blobNames(container) {
      const found: string[] = [];
      for await (const blob of blobs.getContainerClient(containers[container]).listBlobsFlat()) found.push(blob.name);
      return found.sort();
    },
    async close() {
      await accessLog.drain();
      await store.close();
      for (const name of [...Object.values(containers), ...exportContainers])
        await blobs.getContainerClient(name).deleteIfExists();
    },
  };
}

/**
 * The import run in the harness's store, for a test that sends one content (under one name or
 * several, delivered once or many times): its files and attempts all share the one run.
 */
export async function theRun(h: ImportHarness) {
  return (await h.store.db.selectFrom('import_run').selectAll().execute())[0]!;
}

/** The access-log entries of a run (its id is their request id), oldest first, as [decision, reason code]. */
export async function runEntries(h: ImportHarness, runId: string): Promise<string[][]> {
  const entries = await h.store.db
    .selectFrom('access_log')
    .selectAll()
    .where('request_id', '=', runId)
    .orderBy('seq')
    .execute();
  return entries.map((e) => [e.decision, e.reason_code]);
}

/**
 * Secrets that hold a delivery where it reads the key (after its claim, before its rows):
 * `holding` settles once it is held there, and it carries on when `release` is called.
 */
export function heldAtKeyRead(h: ImportHarness): {
  secrets: SecretSource;
  holding: Promise<void>;
  release: () => void;
} {
  const holding = gate();
  const release = gate();
  const secrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        holding.open();
        await release.opened;
        return h.secrets.get(...args);
      },
    },
  });
  return { secrets, holding: holding.opened, release: release.open };
}

/**
 * `times` earlier deliveries of `bytes` under `blobName` that each took the run up and broke off
 * (crashed, leaving it `loading`), as claimRun counts them.
 */
export async function spendAttempts(h: ImportHarness, blobName: string, bytes: Buffer, times: number): Promise<void> {
  const [partyId, datasetId] = blobName.split('/');
  const claim = {
    runId: 'earlier',
    partyId: partyId!,
    datasetId: datasetId!,
    blobName,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    now: new Date().toISOString(),
  };
  for (let i = 0; i < times; i++) await claimRun(h.store.db, claim);
}

/** Identifier rows whose record is gone: a replaced or deleted record must take them with it. */
export async function orphanIdentifiers(store: Store): Promise<{ record_id: string }[]> {
  return store.db
    .selectFrom('record_identifier')
    .select('record_id')
    .where('record_id', 'not in', (eb) => eb.selectFrom('source_record').select('id'))
    .execute();
}

/** The stored records of a party's dataset, their attributes read as the product reads them. */
export async function storedRecords(store: Store, partyId: string, datasetId: string) {
  const rows = await store.db
    .selectFrom('source_record')
    .select([
      'import_run_id',
      'row_number',
      'given_name',
      'family_name',
      'first3',
      'date_of_birth',
      'postcode',
      'address',
      'attributes',
      'as_of',
    ])
    .where('party_id', '=', partyId)
    .where('dataset_id', '=', datasetId)
    .orderBy('row_number')
    .execute();
  return withAttributes(rows, store.db);
}

export async function storedIdentifiers(store: Store, partyId: string, datasetId: string) {
  return store.db
    .selectFrom('record_identifier as ri')
    .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
    .select(['sr.row_number', 'ri.kind', 'ri.hash', 'ri.key_version'])
    .where('sr.party_id', '=', partyId)
    .where('sr.dataset_id', '=', datasetId)
    .orderBy('sr.row_number')
    .orderBy('ri.kind')
    .execute();
}

/**
 * Holds the first `method` call on a blob in `container` (whichever delivery makes it) until
 * `release`; `reached` resolves once it is held. The call then goes to the storage as made. For
 * a race test: one delivery waits at a known point while another runs. Undone by
 * `vi.restoreAllMocks()`.
 */
export function holdFirstBlobCall(
  method: 'upload' | 'deleteIfExists',
  container: string,
): { reached: Promise<void>; release: () => void } {
  const reached = gate();
  const released = gate();
  let held = false;
  const real = BlockBlobClient.prototype[method] as (this: BlockBlobClient, ...args: unknown[]) => Promise<unknown>;
  vi.spyOn(BlockBlobClient.prototype, method).mockImplementation(async function (
    this: BlockBlobClient,
    ...args: unknown[]
  ) {
    if (this.containerName === container && !held) {
      held = true;
      reached.open();
      await released.opened;
    }
    return real.apply(this, args);
  } as never);
  return { reached: reached.opened, release: released.open };
}

/**
 * Makes the first deletion of a blob whose name `matches` fail, as storage gone away would (for a
 * delivery killed there: it goes no further); every other deletion goes to the storage as made.
 * `failed` tells whether it has failed yet. Undone by `vi.restoreAllMocks()`.
 */
export function failFirstBlobDeletion(matches: (blobName: string) => boolean): { readonly failed: boolean } {
  const real = BlockBlobClient.prototype.deleteIfExists;
  let failed = false;
  vi.spyOn(BlockBlobClient.prototype, 'deleteIfExists').mockImplementation(function (this: BlockBlobClient, ...args) {
    if (!failed && matches(this.name)) {
      failed = true;
      return Promise.reject(new Error('storage unavailable'));
    }
    return real.apply(this, args);
  });
  return {
    get failed() {
      return failed;
    },
  };
}

/**
 * Makes an import's read of a file's rows deliver what `reshape` makes of the downloaded bytes
 * (broken off, held back at some point): the second whole download of a blob, the first being
 * the hash pass. Other downloads are left alone. Undone by `vi.restoreAllMocks()`.
 */
export function reshapeRowsRead(reshape: (body: Readable) => AsyncIterable<Buffer>): void {
  const download = BlobClient.prototype.download;
  let wholeReads = 0;
  vi.spyOn(BlobClient.prototype, 'download').mockImplementation(async function (this: BlobClient, ...args) {
    const response = await download.apply(this, args);
    const [offset, count] = args;
    if (!(offset === 0 && count === undefined) || ++wholeReads !== 2) return response;
    const body = response.readableStreamBody as Readable;
    return { ...response, readableStreamBody: Readable.from(reshape(body), { objectMode: false }) };
  });
}

/** The harness's store file as migrations leave it: what startAfresh puts back. */
export type FreshTables = StoreState;

/**
 * The harness's store file (`main`) as `createImportHarness` left it, migrated and empty of what
 * any test did: its tables, indexes and triggers and their rows. The access log's file is left out.
 */
export function freshTables(h: ImportHarness): FreshTables {
  return storeState(h.store, ['main']);
}

/**
 * Puts one harness back as a fresh one, for cases (or property runs) that share it: its store
 * file is as it was when migrated (restoreStoreState: rows, and any trigger, index or table a case
 * planted or dropped), its containers hold no blob and it has kept no log line (a case may read
 * its own). A harness of its own per case cost more than most cases: the store's threads (access
 * log, reads, checkpoints) each load their modules again, some 7 s apiece through tsx on a loaded
 * 2-core machine (a bundle's now, in a `vitest run`: most of a second). The access log is
 * append-only and keeps what earlier cases logged, as a council's does: a case reads it by its own
 * run ids, never an earlier case's. The keys go on too, rotations and all: records are hashed
 * under the key current when they are sent, as on a fresh key file.
 */
export async function startAfresh(h: ImportHarness, fresh: FreshTables): Promise<void> {
  refuseResetInTransaction(h.store);
  for (const container of ['incoming', 'processed', 'rejected'] as const)
    for (const name of await h.blobNames(container))
      await h.blobs.getContainerClient(h.containers[container]).deleteBlob(name);
  h.logLines.length = 0;
  restoreStoreState(h.store, fresh);
}

/**
 * One harness for the cases of the suite (or file) that calls it, created before the first and
 * closed after the last. What it returns puts the harness back afresh (startAfresh) and hands it
 * to `use`: a hook for the cases, or the suites, that must not see what another did.
 */
export function oneHarness(
  use: (h: ImportHarness) => void,
  options?: Parameters<typeof createImportHarness>[0],
): () => Promise<void> {
  let h: ImportHarness | undefined;
  let fresh: FreshTables;
  beforeAll(async () => {
    h = await createImportHarness(options);
    fresh = freshTables(h);
  });
  afterAll(async () => {
    await h?.close();
  });
  return async () => {
    await startAfresh(h!, fresh);
    use(h!);
  };
}

/** One harness for the cases of the suite (or file) that calls it, put back afresh before each. */
export function oneHarnessAfresh(
  use: (h: ImportHarness) => void,
  options?: Parameters<typeof createImportHarness>[0],
): void {
  beforeEach(oneHarness(use, options));
}
