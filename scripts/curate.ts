/**
 * `npm run curate`   a planning export now, as the monthly timer makes it (each run is one more
 *                    release to compare with the last: in production, leave it to the timer)
 *
 * Runs against the configured store and blob storage (local settings by default: start the
 * local stack with `npm start` first). Prints, for each export, where its files went and how
 * many lines they hold, and the records left out awaiting linkage as the manifest gives them
 * (withheld below the minimum cell, rounded above it); the counts are in the files, never printed.
 */
import { loadLocalSettings, useRunningAzurite } from '../local/settings.js';
import { loadConfig } from '../shared/config.js';
import { exportCurated, publishedAwaiting } from '../shared/curated/curated-export.js';
import { createServices } from '../shared/services.js';

loadLocalSettings();
useRunningAzurite();
const services = await createServices(loadConfig(process.env));
try {
  const summaries = await exportCurated({
    ...services,
    minCell: services.settings.CURATED_MIN_CELL,
    historyDays: services.settings.CURATED_HISTORY_DAYS,
  });
  for (const s of summaries) {
    process.stdout.write(
      s.outcome === 'written'
        ? `curated/${s.folder}latest/: ${s.lines} lines for ${s.partyId} (${s.purposeId}); ${publishedAwaiting(s.recordsAwaitingLinkage, services.settings.CURATED_MIN_CELL)} records awaiting linkage left out\n`
        : `${s.partyId} (${s.purposeId}, ${s.datasetId}): refused by the policy; nothing written\n`,
    );
  }
  if (summaries.length === 0) process.stdout.write('no agreement grants an export\n');
} finally {
  await services.close();
}
