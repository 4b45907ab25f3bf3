import { linkPendingRecords } from '../shared/linkage/pending-links.js';
import { enforceAllRetention } from '../shared/retention/enforce-retention.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * Every 30 minutes: every agreement's joint-system retention rules. Each import applies its own
 * agreement's rules after it is linked; this pass catches up when that failed. It links what is
 * pending first (as linkPending does), since a rule waits while any record is unlinked.
 */
registerTimer({
  name: 'enforceRetention',
  schedule: '0 */30 * * * *',
  handler: async () => {
    const services = await getServices();
    await linkPendingRecords(services);
    await enforceAllRetention(services);
  },
});
