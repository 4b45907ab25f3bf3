import { randomBytes } from 'node:crypto';
import { BlobClient, BlockBlobClient } from '@azure/storage-blob';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_IMPORT_ATTEMPTS } from '../../../shared/imports/reasons.js';
import { DEFAULT_ZIP_LIMITS } from '../../../shared/imports/zip-directory.js';
import {
  importFixture,
  oneHarnessAfresh,
  queueRetryClock,
  reshapeRowsRead,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';
import { buildZip, repetitiveSheet, sharedStringsPart, workbookSources } from './zip-builder.js';

/**
 * What becomes of a file when importing it goes wrong for reasons other than its rows: caps
 * checked before anything is inflated, a bounded number of attempts, failures of the blob
 * stream that are not the file's fault, and a loaded report that only a commit publishes.
 */

const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';
const path = (file: string) => `${HOUSING}/${MDI}/${file}`;
const MiB = 1024 * 1024;

const runOf = (h: ImportHarness, blobName: string) =>
  h.store.db.selectFrom('import_run').selectAll().where('blob_name', '=', blobName).executeTakeFirstOrThrow();
const importEntries = (h: ImportHarness, runId: string) =>
  h.store.db
    .selectFrom('access_log')
    .select(['decision', 'reason_code'])
    .where('request_id', '=', runId)
    .where('action', '=', 'import')
    .orderBy('seq')
    .execute();

/** `count` distinct strings of random hex: text that deflates about 2 to 1, as real names do not beat by much. */
function randomStrings(count: number): string[] {
  return Array.from({ length: count }, () => randomBytes(20).toString('hex'));
}

const header = ['firstName', 'lastName', 'dateOfBirth'];

/** Every case's own deliveries, on one harness put back afresh before each. */
let h: ImportHarness;
oneHarnessAfresh((shared) => (h = shared));

describe('XLSX caps, checked from the zip directory before anything is inflated', () => {
  it('keeps the caps low enough for one instance and high enough for a million-row extract', () => {
    // Measured with the synthetic generator (shared/imports/README.md): 1,000,000 rows of 13
    // columns are 519 MiB uncompressed, 27 MiB of them shared strings.
    expect(DEFAULT_ZIP_LIMITS.maxUncompressedBytes).toBe(768 * MiB);
    expect(DEFAULT_ZIP_LIMITS.maxSharedStringsBytes).toBe(64 * MiB);
    expect(DEFAULT_ZIP_LIMITS.maxParsedPartBytes).toBe(16 * MiB);
  });

  it('rejects a workbook whose shared strings would be too large to hold in memory, with a report', async () => {
    // ~2.7 MB of strings said to be 100 MiB: a ratio of about 70, well inside the ratio check.
    const bytes = await buildZip(
      workbookSources(() => repetitiveSheet(header, [], 0), undefined, {
        content: () => sharedStringsPart(randomStrings(60_000)),
        declaredSize: 100 * MiB,
      }),
    );
    const rows: number[] = [];
    const outcome = await h.importFile(path('big-strings.xlsx'), bytes, undefined, {
      hooks: { onRow: (row) => void rows.push(row) },
    });
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-shared-strings-too-large'] });
    expect(rows).toEqual([]);
    expect(await h.report('rejected', path('big-strings.xlsx'))).toMatchObject({
      outcome: 'rejected',
      fileErrors: [{ reason: 'xlsx-shared-strings-too-large' }],
    });
    expect(await h.exists('rejected', path('big-strings.xlsx'))).toBe(true);
    expect(await h.exists('incoming', path('big-strings.xlsx'))).toBe(false);
  });

  it('rejects a workbook larger uncompressed than the total cap, though no entry is compressed hard', async () => {
    // 6 MiB of incompressible bytes said to be 780 MiB: ratio 130, under 2 GiB, over 768 MiB.
    const media = randomBytes(6 * MiB);
    const bytes = await buildZip([
      ...workbookSources(() => repetitiveSheet(header, ['Ann', 'Lee', '2001-02-03'], 1)),
      { name: 'xl/media/image1.bin', content: () => [media], declaredSize: 780 * MiB },
    ]);
    const outcome = await h.importFile(path('big-total.xlsx'), bytes);
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-uncompressed-too-large'] });
    expect(await h.report('rejected', path('big-total.xlsx'))).toMatchObject({
      fileErrors: [{ reason: 'xlsx-uncompressed-too-large' }],
    });
  }, 30_000);
});

describe('attempts per run', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const failing = {
    hooks: {
      onRow: () => {
        throw new Error('injected fault');
      },
    },
  };

  it('rejects a file whose attempts all broke off, with a report, instead of trying it again', async () => {
    const name = path('crashes.csv');
    await h.drop(name, importFixture('good.csv'));
    for (let attempt = 1; attempt <= MAX_IMPORT_ATTEMPTS; attempt++) {
      if (attempt === 3) {
        // A crash (e.g. out of memory) leaves the run `loading`, not `failed`: it counts the same.
        await h.store.db.updateTable('import_run').set({ status: 'loading' }).where('blob_name', '=', name).execute();
      }
      await expect(h.run(name, failing)).rejects.toMatchObject({ name: 'ImportFailed' });
      expect(await runOf(h, name)).toMatchObject({ attempt });
    }
    const rows: number[] = [];
    const outcome = await h.run(name, { hooks: { onRow: (row) => void rows.push(row) } });
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['import-attempts-exhausted'] });
    expect(rows).toEqual([]);
    const run = await runOf(h, name);
    expect(run).toMatchObject({ status: 'rejected', attempt: MAX_IMPORT_ATTEMPTS + 1 });
    expect(await h.report('rejected', name)).toMatchObject({
      runId: run.id,
      outcome: 'rejected',
      fileErrors: [{ reason: 'import-attempts-exhausted' }],
    });
    expect(await h.exists('incoming', name)).toBe(false);
    expect(await h.exists('rejected', name)).toBe(true);
    expect(await importEntries(h, run.id)).toEqual([{ decision: 'deny', reason_code: 'import-attempts-exhausted' }]);
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual([]);
  });

  it('tries the same bytes again when they are uploaded again after their attempts ran out', async () => {
    const name = path('crashes.csv');
    await h.drop(name, importFixture('good.csv'));
    for (let attempt = 1; attempt <= MAX_IMPORT_ATTEMPTS; attempt++)
      await expect(h.run(name, failing)).rejects.toMatchObject({ name: 'ImportFailed' });
    const exhausted = await h.run(name);
    expect(exhausted).toMatchObject({ outcome: 'rejected', reasons: ['import-attempts-exhausted'] });

    // Blob storage keeps Last-Modified to the second: upload again in a later second.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await h.importFile(name, importFixture('good.csv'));
    expect(again).toMatchObject({ outcome: 'loaded', loaded: 40, runId: (await runOf(h, name)).id });
    expect(await runOf(h, name)).toMatchObject({ status: 'loaded', attempt: 1 });
    expect(await h.report('processed', name)).toMatchObject({ outcome: 'loaded' });
    expect(await storedRecords(h.store, HOUSING, MDI)).toHaveLength(40);
  });

  it('reads a rejected file again when it is uploaded again, as after a change of threshold', async () => {
    const name = path('threshold.csv');
    const first = await h.importFile(name, importFixture('some-bad-rows.csv'), undefined, { maxBadRowShare: 0.04 });
    expect(first).toMatchObject({ outcome: 'rejected', reasons: ['bad-row-share-exceeded'] });
    // Blob storage keeps Last-Modified to the second: upload again in a later second.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await h.importFile(name, importFixture('some-bad-rows.csv'));
    expect(again).toMatchObject({ outcome: 'loaded', loaded: 57, runId: (first as { runId: string }).runId });
    expect(await h.report('processed', name)).toMatchObject({ outcome: 'loaded', counts: { loaded: 57 } });
  });

  it('answers the rejected upload itself, delivered again, as a duplicate without reading it', async () => {
    const name = path('redelivered.csv');
    // Rejected "later" than the blob was written, as a re-delivered event finds it (or a copy a
    // crash left in incoming before the move).
    const later = new Date(Date.now() + 60 * 60_000);
    const first = await h.importFile(name, importFixture('some-bad-rows.csv'), undefined, {
      maxBadRowShare: 0.04,
      now: () => later,
    });
    expect(first).toMatchObject({ outcome: 'rejected' });
    const replay = await h.importFile(name, importFixture('some-bad-rows.csv'), undefined, {
      now: queueRetryClock(later),
    });
    expect(replay).toEqual({ outcome: 'duplicate', runId: (first as { runId: string }).runId, of: 'rejected' });
  });

  it('gives a renamed copy of a rejected file a report of its own, in rejected/', async () => {
    const later = new Date(Date.now() + 60 * 60_000);
    const first = await h.importFile(path('refused.csv'), importFixture('some-bad-rows.csv'), undefined, {
      maxBadRowShare: 0.04,
      now: () => later,
    });
    expect(first).toMatchObject({ outcome: 'rejected' });
    const copy = await h.importFile(path('refused-again.csv'), importFixture('some-bad-rows.csv'));
    expect(copy).toEqual({ outcome: 'duplicate', runId: (first as { runId: string }).runId, of: 'rejected' });
    expect(await h.exists('rejected', path('refused-again.csv'))).toBe(true);
    expect(await h.report('rejected', path('refused-again.csv'))).toMatchObject({
      outcome: 'duplicate',
      duplicateOf: { file: path('refused.csv'), outcome: 'rejected' },
      counts: { rows: 0, loaded: 0, rejected: 0 },
    });
  });

  it('writes a lost rejection entry on the next delivery with the rejection’s own reason', async () => {
    const name = path('entry-lost.csv');
    const accessLog = h.deps().accessLog;
    // The rejection is decided and its run finished, then the entry cannot be written (as if
    // the instance died there): the delivery fails and the file stays in incoming.
    const unwritable = Object.create(accessLog, {
      append: { value: () => Promise.reject(new Error('log down')) },
    }) as typeof accessLog;
    await h.drop(name, importFixture('some-bad-rows.csv'));
    await expect(h.run(name, { maxBadRowShare: 0.04, accessLog: unwritable })).rejects.toMatchObject({
      name: 'ImportFailed',
    });
    const run = await runOf(h, name);
    expect(run.status).toBe('rejected');
    expect(await importEntries(h, run.id)).toEqual([]);

    expect(await h.run(name, { now: queueRetryClock() })).toEqual({
      outcome: 'duplicate',
      runId: run.id,
      of: 'rejected',
    });
    expect(await importEntries(h, run.id)).toEqual([{ decision: 'deny', reason_code: 'bad-row-share-exceeded' }]);
  });

  it('does not count a delivery that finds the run finished, and leaves the kill-and-retry path alone', async () => {
    const name = path('once.csv');
    await h.drop(name, importFixture('good.csv'));
    await expect(h.run(name, failing)).rejects.toMatchObject({ name: 'ImportFailed' });
    expect(await h.run(name)).toMatchObject({ outcome: 'loaded' });
    for (let k = 0; k < MAX_IMPORT_ATTEMPTS + 1; k++)
      expect(await h.importFile(name, importFixture('good.csv'))).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    expect(await runOf(h, name)).toMatchObject({ status: 'loaded', attempt: 2 });
  });
});

describe('a download that breaks off is not the file’s fault', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('ends the attempt failed, not rejected, when an XLSX’s stream errors part-way; a later delivery loads it', async () => {
    const name = path('flaky.xlsx');
    const bytes = importFixture('good.xlsx');
    await h.drop(name, bytes);
    // Break the rows' read off after its first bytes, lazily, as a download does: the error comes
    // when the reader gets that far.
    reshapeRowsRead(async function* breaksOff(body) {
      let sent = 0;
      for await (const chunk of body) {
        const part = (chunk as Buffer).subarray(0, 2048 - sent);
        sent += part.length;
        yield part;
        if (sent >= 2048) {
          body.destroy();
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
        }
      }
    });

    await expect(h.run(name)).rejects.toMatchObject({ name: 'ImportFailed' });
    vi.mocked(BlobClient.prototype.download).mockRestore();
    const run = await runOf(h, name);
    expect(run.status).toBe('failed');
    expect(await h.exists('incoming', name)).toBe(true);
    expect(await h.report('rejected', name)).toBeUndefined();

    const retried = await h.run(name);
    expect(retried).toMatchObject({ outcome: 'loaded', runId: run.id, loaded: 20 });
    expect(await h.exists('processed', name)).toBe(true);
  });
});

describe('the loaded report, published only after the commit', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('leaves no loaded report when the load’s transaction does not commit', async () => {
    const name = path('uncommitted.csv');
    await h.drop(name, importFixture('good.csv'));
    // The run's own update to `loaded` is the load transaction's last statement: refuse it.
    await sql`create trigger refuse_loaded before update of status on import_run when new.status = 'loaded'
      begin select raise(abort, 'commit refused'); end`.execute(h.store.db);
    await expect(h.run(name)).rejects.toMatchObject({ name: 'ImportFailed' });
    expect(await h.report('processed', name)).toBeUndefined();
    expect(await runOf(h, name)).toMatchObject({ status: 'failed' });
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual([]);

    await sql`drop trigger refuse_loaded`.execute(h.store.db);
    const retried = await h.run(name);
    expect(retried).toMatchObject({ outcome: 'loaded', loaded: 40 });
    expect(await h.report('processed', name)).toMatchObject({ outcome: 'loaded', runId: (await runOf(h, name)).id });
  });

  it('publishes the whole report on the retry when writing it failed after the commit', async () => {
    const name = path('unreported.csv');
    // good.csv with one bad row, so the report has a row error to carry over.
    const content = Buffer.from(
      importFixture('good.csv')
        .toString('utf8')
        .replace(/\n([^\n]*)\n/, (_, first: string) => `\n${first.replace(/\d{4}-\d{2}-\d{2}/, '31-31-2001')}\n`),
    );
    await h.drop(name, content);
    const upload = BlockBlobClient.prototype.upload;
    vi.spyOn(BlockBlobClient.prototype, 'upload').mockImplementation(function (this: BlockBlobClient, ...args) {
      if (this.containerName === h.containers.processed && this.name.endsWith('.report.json'))
        return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return upload.apply(this, args);
    });
    await expect(h.run(name)).rejects.toMatchObject({ name: 'ImportFailed' });
    vi.mocked(BlockBlobClient.prototype.upload).mockRestore();
    const run = await runOf(h, name);
    expect(run).toMatchObject({ status: 'loaded' });
    expect(await h.report('processed', name)).toBeUndefined();
    expect(await h.exists('incoming', name)).toBe(true);

    const retried = await h.run(name, { now: queueRetryClock() });
    expect(retried).toEqual({ outcome: 'duplicate', runId: run.id, of: 'loaded' });
    const report = await h.report('processed', name);
    expect(report).toMatchObject({
      runId: run.id,
      outcome: 'loaded',
      finishedAt: run.finished_at,
      counts: { rows: run.rows_total, loaded: run.rows_loaded, rejected: run.rows_rejected },
    });
    expect(report!.columns).toContain('nhsNumber');
    expect(report!.rowErrors.length).toBe(run.rows_rejected);
    expect(run.rows_rejected).toBe(1);
    expect((await importEntries(h, run.id)).map((e) => e.decision)).toEqual(['allow']);
    expect(await h.exists('processed', name)).toBe(true);
    // Nothing staged is left behind.
    expect(await h.blobNames('processed')).toEqual([name, `${name}.report.json`].sort());
  });
});
