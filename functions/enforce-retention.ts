import { enforceAllRetention } from '../shared/retention/enforce-retention.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * Every 30 minutes: every agreement's joint-system retention rules, applied to what linking has
 * placed. Each import applies its own agreement's rules after it is linked; this pass catches up
 * when that failed, and after linkPending has linked what an import left.
 */
registerTimer({
  name: 'enforceRetention',
  schedule: '0 */30 * * * *',
  handler: async () => {
    await enforceAllRetention(await getServices());
  },
});
