import { scheduledExport } from '../shared/curated/curated-export.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * On the 1st of each month at 06:00 UTC: the planning export of every `export` grant to the
 * curated container, where Power BI's scheduled refresh reads it (shared/curated/curated-export.ts).
 * Monthly, not more often: every release is one more to compare with the last, and enough of
 * them would average the counts' noise away (README, "Planning counts for Power BI").
 * A failed run, or one that found another run exporting, is tried again that morning (retry),
 * not left to next month; a retry publishes nothing the day already has a release of.
 */
registerTimer({
  name: 'exportCurated',
  schedule: '0 0 6 1 * *',
  // A failed run (the store or Key Vault briefly out), or one that found another run exporting
  // (which may yet fail), would otherwise wait a month. Every 30 minutes until 12:00 UTC at most:
  // still the release day, so a retry publishes only what that day has no release of yet.
  retry: { strategy: 'fixedDelay', maxRetryCount: 12, delayInterval: 30 * 60 * 1000 },
  handler: async () => {
    const services = await getServices();
    await scheduledExport({
      ...services,
      minCell: services.settings.CURATED_MIN_CELL,
      historyDays: services.settings.CURATED_HISTORY_DAYS,
    });
  },
});
