import { describe, expect, it } from 'vitest';
import type { CuratedExportRun, CuratedExportSummary } from '../../shared/curated/curated-export.js';
import { curateReport } from '../../scripts/curate-report.js';

const run = (targets: CuratedExportSummary[], withdrawalStopped?: 'lease-lost'): CuratedExportRun =>
  withdrawalStopped === undefined ? { summaries: targets } : { summaries: targets, withdrawalStopped };

const WITHDRAWAL_STOPPED =
  'curate: this export lost its lock (another run holds it now) as it withdrew what no grant allows any more, and stopped: what it was to withdraw may still be published; run it again once no other export is running\n';

/**
 * A run whose only grant had gone, so all it did was withdraw, and whose withdrawal found another
 * run holding the export lock: `npm run curate` said "no agreement grants an export" and exited
 * 0, where its usage says a run that lost the lock exits 1, and what it was to withdraw could
 * still be published.
 */
describe('npm run curate, when its withdrawal loses the export lock', () => {
  it('says the withdrawal stopped because another run holds the lock, and exits 1, with no export left to name', () => {
    expect(curateReport(run([], 'lease-lost'), 10)).toEqual({
      stdout: 'no agreement grants an export\n',
      stderr: WITHDRAWAL_STOPPED,
      exitCode: 1,
    });
  });

  it('says so beside the exports it stopped for', () => {
    const target: CuratedExportSummary = {
      agreementId: 'isa',
      purposeId: 'service-planning',
      datasetId: 'indicators',
      partyId: 'la-housing',
      outcome: 'lease-lost',
      folder: 'la-housing/service-planning/indicators/',
      lines: 0,
      recordsAwaitingLinkage: 0,
      peopleCounted: 0,
    };
    const report = curateReport(run([target], 'lease-lost'), 10);
    expect(report.exitCode).toBe(1);
    expect(report.stderr.split('\n').filter(Boolean)).toEqual([
      WITHDRAWAL_STOPPED.trim(),
      expect.stringContaining('for: la-housing (service-planning, indicators);'),
    ]);
  });

  it('exits 0 with nothing on stderr when nothing stopped', () => {
    expect(curateReport(run([]), 10)).toEqual({ stdout: 'no agreement grants an export\n', stderr: '', exitCode: 0 });
  });
});
