import { publishedAwaiting, type CuratedExportRun } from '../shared/curated/curated-export.js';

/**
 * What `npm run curate` prints of a run, and its exit status: apart from the script, which runs
 * as it is imported, so that what an operator is told of each outcome can be tested without
 * staging it against a live run (a withdrawal that loses the lock, say).
 */
export function curateReport(
  { summaries, withdrawalStopped }: CuratedExportRun,
  minCell: number,
): { stdout: string; stderr: string; exitCode: number } {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  // A run that finds the export lock held touches no target, so it is all of them or none.
  if (summaries.some((s) => s.outcome === 'busy')) {
    stderr +=
      "curate: another planning export is running (the monthly timer's, or another operator's); nothing was written: run it again once that one has ended\n";
    exitCode = 2;
  }
  // Said whether or not targets are named below: a run with none left would otherwise say only
  // that no agreement grants an export, while what it was to withdraw may still be published.
  if (withdrawalStopped === 'lease-lost') {
    stderr +=
      'curate: this export lost its lock (another run holds it now) as it withdrew what no grant allows any more, and stopped: what it was to withdraw may still be published; run it again once no other export is running\n';
    exitCode = 1;
  }
  // Another run may have taken the lock over: this one wrote nothing more, and the next run heals
  // what it left part way.
  const stopped = summaries.filter((s) => s.outcome === 'lease-lost');
  if (stopped.length > 0) {
    stderr += `curate: this export lost its lock part way (it stalled, or its renewals failed) and stopped, writing nothing more, for: ${stopped.map((s) => `${s.partyId} (${s.purposeId}, ${s.datasetId})`).join(', ')}; run it again once no other export is running\n`;
    exitCode = 1;
  }
  // An operator's run publishes anew (no skipReleasedToday): written or refused, nothing else.
  for (const s of summaries.filter((s) => s.outcome === 'written' || s.outcome === 'denied')) {
    stdout +=
      s.outcome === 'written'
        ? `curated/${s.folder}latest/: ${s.lines} lines for ${s.partyId} (${s.purposeId}); ${publishedAwaiting(s.recordsAwaitingLinkage, minCell)} records awaiting linkage left out\n`
        : `${s.partyId} (${s.purposeId}, ${s.datasetId}): refused by the policy; nothing written, and its earlier releases withdrawn\n`;
  }
  if (summaries.length === 0) stdout += 'no agreement grants an export\n';
  return { stdout, stderr, exitCode };
}
