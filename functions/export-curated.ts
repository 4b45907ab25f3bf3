import { exportCurated } from '../shared/curated/curated-export.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * Every hour: the planning export of every `export` grant to the curated container, where Power
 * BI's scheduled refresh reads it (shared/curated/curated-export.ts).
 */
registerTimer({
  name: 'exportCurated',
  schedule: '0 0 * * * *',
  handler: async () => {
    const services = await getServices();
    await exportCurated({ ...services, minCell: services.settings.CURATED_MIN_CELL });
  },
});
