import { catchUpRetention } from '../shared/retention/enforce-retention.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * Every 30 minutes: every agreement's joint-system retention rules. Each import applies its own
 * agreement's rules after it is linked; this pass catches up when that failed (shared/retention).
 */
registerTimer({
  name: 'enforceRetention',
  schedule: '0 */30 * * * *',
  handler: async () => {
    await catchUpRetention(await getServices());
  },
});
