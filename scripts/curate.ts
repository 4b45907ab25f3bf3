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
 * touched. A run whose withdrawal of what no grant allows any more loses the lock says so, and
 * exits 1, even with no export left to name.
 */
import type { Services } from '../shared/services.js';
import { failureLine, parseOptions } from './cli.js';

// Every run publishes a release, so an option mistyped (or one hoped for, like --dry-run) is
// refused rather than ignored.
parseOptions('curate', 'npm run curate   (a planning export now: one more release, as the monthly timer makes)', {
  options: {},
});
// The stack's graph (the store, its drivers, every migration) is loaded only once the command
// line is read: a mistyped option or --help is answered without it, as token's is (it took tsx
// some 2 s to load first).
const { exportCurated } = await import('../shared/curated/curated-export.js');
const { curateReport } = await import('./curate-report.js');
const { stackServices } = await import('./stack-services.js');
let services: Services | undefined;
try {
  services = await stackServices();
  const minCell = services.settings.CURATED_MIN_CELL;
  const run = await exportCurated({ ...services, minCell, historyDays: services.settings.CURATED_HISTORY_DAYS });
  const report = curateReport(run, minCell);
  process.stdout.write(report.stdout);
  process.stderr.write(report.stderr);
  process.exitCode = report.exitCode;
} catch (err) {
  process.stderr.write(failureLine('curate', err));
  process.exitCode = 1;
} finally {
  await services?.close();
}
