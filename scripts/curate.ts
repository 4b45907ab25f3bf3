/**
 * `npm run curate`   a planning export now, as the monthly timer makes it (each run is one more
 *                    release to compare with the last: in production, leave it to the timer)
 *
 * Runs against the configured store and blob storage (local settings by default: start the
 * local stack with `npm start` first). Prints, for each export, where its files went and how
 * many lines they hold, and the records left out awaiting linkage as the manifest gives them
 * (withheld below the minimum cell, rounded above it); the counts are in the files, never printed.
 * Takes no options but `--help`. Exit status: 0 exported, 1 failed (a run that lost the export's
 * lock part way among them: it stops, and names the exports it did not finish), 2 an unknown
 * option, or another export running (the monthly timer's, another operator's): then nothing is
 * touched.
 */
import { exportCurated, publishedAwaiting } from '../shared/curated/curated-export.js';
import type { Services } from '../shared/services.js';
import { failureLine, parseOptions } from './cli.js';
import { stackServices } from './stack-services.js';

// Every run publishes a release, so an option mistyped (or one hoped for, like --dry-run) is
// refused rather than ignored.
parseOptions('curate', 'npm run curate   (a planning export now: one more release, as the monthly timer makes)', {
  options: {},
});
let services: Services | undefined;
try {
  services = await stackServices();
  const minCell = services.settings.CURATED_MIN_CELL;
  const summaries = await exportCurated({ ...services, minCell, historyDays: services.settings.CURATED_HISTORY_DAYS });
  // A run that finds the export lock held touches no target, so it is all of them or none.
  if (summaries.some((s) => s.outcome === 'busy')) {
    process.stderr.write(
      "curate: another planning export is running (the monthly timer's, or another operator's); nothing was written: run it again once that one has ended\n",
    );
    process.exitCode = 2;
  }
  // Another run may have taken the lock over: this one wrote nothing more, and the next run heals
  // what it left part way.
  const stopped = summaries.filter((s) => s.outcome === 'lease-lost');
  if (stopped.length > 0) {
    process.stderr.write(
      `curate: this export lost its lock part way (it stalled, or its renewals failed) and stopped, writing nothing more, for: ${stopped.map((s) => `${s.partyId} (${s.purposeId}, ${s.datasetId})`).join(', ')}; run it again once no other export is running\n`,
    );
    process.exitCode = 1;
  }
  // An operator's run publishes anew (no skipReleasedToday): written or refused, nothing else.
  for (const s of summaries.filter((s) => s.outcome === 'written' || s.outcome === 'denied')) {
    process.stdout.write(
      s.outcome === 'written'
        ? `curated/${s.folder}latest/: ${s.lines} lines for ${s.partyId} (${s.purposeId}); ${publishedAwaiting(s.recordsAwaitingLinkage, minCell)} records awaiting linkage left out\n`
        : `${s.partyId} (${s.purposeId}, ${s.datasetId}): refused by the policy; nothing written, and its earlier releases withdrawn\n`,
    );
  }
  if (summaries.length === 0) process.stdout.write('no agreement grants an export\n');
} catch (err) {
  process.stderr.write(failureLine('curate', err));
  process.exitCode = 1;
} finally {
  await services?.close();
}
