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
