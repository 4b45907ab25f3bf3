import { TableNode, type KyselyPlugin } from 'kysely';
import { afterEach, expect, it, vi } from 'vitest';
import type { AccessLog } from '../../../shared/audit/access-log.js';
import { rejectMisplacedExtract } from '../../../shared/imports/import-extract.js';
import { gate } from '../../support/gate.js';
import { createImportHarness, holdFirstBlobCall, importFixture, type ImportHarness } from './import-harness.js';

/**
 * Event Grid delivers at least once, so one upload in the wrong folder can be rejected as
 * `bad-path` by two hosts at the same time. No run is claimed for such a file: the report in
 * rejected/ is what tells a delivery that the upload was already rejected. Both deliveries found
 * no report, each rejected the file under a run id of its own, and the DPO's access log showed
 * two imports denied for one upload, one of them under a run no report names. Here the first
 * delivery's report write is held until the second has rejected the file and returned.
 */
const file = 'la-housing/extract-misplaced.csv';
let h: ImportHarness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

it('writes one access-log entry, under the run its report names, when two deliveries reject a misplaced file at once', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));

  const firstWriting = holdFirstBlobCall('upload', h.containers.rejected);

  const first = rejectMisplacedExtract(h.deps(), file);
  await firstWriting.reached;
  const second = await rejectMisplacedExtract(h.deps(), file);
  firstWriting.release();
  const outcomes = [await first, second];

  const report = await h.report('rejected', file);
  expect(report).toMatchObject({ outcome: 'rejected', fileErrors: [{ reason: 'bad-path' }] });
  const entries = await h.store.db.selectFrom('access_log').selectAll().where('action', '=', 'import').execute();
  expect(entries.map((e) => [e.request_id, e.decision, e.reason_code])).toEqual([[report!.runId, 'deny', 'bad-path']]);
  expect(outcomes).toEqual([
    { outcome: 'rejected', runId: report!.runId, reasons: ['bad-path'] },
    { outcome: 'rejected', runId: report!.runId, reasons: ['bad-path'] },
  ]);
  expect(await h.exists('incoming', file)).toBe(false);
  expect(await h.blobNames('rejected')).toEqual([file, `${file}.report.json`]);
});

// The second delivery found the first's report and checked for its entry while the first, past its
// own check, was still writing it (a slow group commit, a paused host): both wrote one, and the
// access log showed the upload denied twice. Here the first delivery's entry is held until the
// second has found its report (its `import.rejected`, just before its check).
it('writes one access-log entry when a second delivery finds the report of a first still writing its entry', async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
  const accessLog = h.deps().accessLog;
  const firstAppending = gate();
  const released = gate();
  const held: AccessLog = Object.create(accessLog, {
    append: {
      value: async (...args: Parameters<AccessLog['append']>) => {
        firstAppending.open();
        await released.opened;
        return accessLog.append(...args);
      },
    },
  });

  const first = rejectMisplacedExtract(h.deps({ accessLog: held }), file);
  await firstAppending.opened;
  const second = rejectMisplacedExtract(h.deps(), file);
  while (h.logLines.filter((line) => line.includes('"import.rejected"')).length < 2) {
    await new Promise((resolveTurn) => setImmediate(resolveTurn));
  }
  released.open();
  const outcomes = await Promise.all([first, second]);

  const report = await h.report('rejected', file);
  const entries = await h.store.db.selectFrom('access_log').selectAll().where('action', '=', 'import').execute();
  expect(entries.map((e) => [e.request_id, e.decision, e.reason_code])).toEqual([[report!.runId, 'deny', 'bad-path']]);
  expect(outcomes).toEqual([
    { outcome: 'rejected', runId: report!.runId, reasons: ['bad-path'] },
    { outcome: 'rejected', runId: report!.runId, reasons: ['bad-path'] },
  ]);
});

// A delivery whose report write lost to another upload's report (the name's earlier upload, its
// report written again meanwhile), and which then wrote its own, waited the 10 s a delivery gives
// another whose report it took, for an entry only it would write, polling the access log all the
// while: its queue message held, the file left in incoming. Counted here by the delivery's
// access-log lookups, which must be as many as a rejection that lost no write makes.
it("writes the entry at once when its report write lost to another upload's report and its next write stood", async () => {
  h = await createImportHarness();
  let lookups = 0;
  const lookupCounter: KyselyPlugin = {
    transformQuery: (args) => {
      const from = args.node.kind === 'SelectQueryNode' ? args.node.from?.froms[0] : undefined;
      if (from !== undefined && TableNode.is(from) && from.table.identifier.name === 'access_log') lookups++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  const counted = () => h.deps({ store: { ...h.store, db: h.store.db.withPlugin(lookupCounter) } });
  await h.drop(file, importFixture('good.csv'));
  const earlier = await rejectMisplacedExtract(counted(), file);
  const lookupsUncontended = lookups;
  lookups = 0;

  await h.drop(file, importFixture('good-second-snapshot.csv'));
  const writing = holdFirstBlobCall('upload', h.containers.rejected);
  const delivery = rejectMisplacedExtract(counted(), file);
  await writing.reached;
  const earlierReport = h.blobs.getContainerClient(h.containers.rejected).getBlockBlobClient(`${file}.report.json`);
  const earlierBytes = await earlierReport.downloadToBuffer();
  await earlierReport.upload(earlierBytes, earlierBytes.length);
  writing.release();
  const outcome = await delivery;

  const report = await h.report('rejected', file);
  expect(outcome).toEqual({ outcome: 'rejected', runId: report!.runId, reasons: ['bad-path'] });
  expect(report!.runId).not.toBe((earlier as { runId: string }).runId);
  const entries = await h.store.db
    .selectFrom('access_log')
    .select('request_id')
    .where('action', '=', 'import')
    .execute();
  expect(entries.map((e) => e.request_id)).toEqual([(earlier as { runId: string }).runId, report!.runId]);
  expect(lookups, 'access-log lookups of the delivery that lost a write').toBe(lookupsUncontended);
});
