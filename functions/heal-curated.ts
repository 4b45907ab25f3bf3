import { healCurated } from '../shared/curated/curated-export.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * Daily at 05:00 UTC: heals what a planning export whose process died left in the curated
 * container, with no export (healCurated): otherwise it waits for the next export, a month away
 * once the monthly run's retries are spent, while Power BI reads a half-written latest/; and
 * withdraws what no grant allows any more, which would otherwise stay readable as long. Its own
 * daily timer rather than the half-hourly retention pass: it takes the export lock, and one taken
 * every half hour would in time meet the monthly export's 06:00 run or its retries (until 12:00),
 * which would then write nothing and report `busy`. Seconds of reads most days: nothing to heal.
 * A pass that finds the lock held (`busy`) or loses it part way (`lease-lost`, logged as
 * `curated.heal-stopped`) ends as succeeded: the run that holds the lock heals as it goes.
 */
registerTimer({
  name: 'healCurated',
  schedule: '0 0 5 * * *',
  handler: async () => {
    const services = await getServices();
    await healCurated({
      ...services,
      minCell: services.settings.CURATED_MIN_CELL,
      historyDays: services.settings.CURATED_HISTORY_DAYS,
    });
  },
});
