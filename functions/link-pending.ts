import { linkPendingRecords } from '../shared/linkage/pending-links.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/**
 * Every five minutes: link records an import loaded but no linking pass has yet placed in a
 * person, and agreements re-signed since their last pass (shared/linkage/pending-links.ts).
 */
registerTimer({
  name: 'linkPending',
  schedule: '0 */5 * * * *',
  handler: async () => {
    await linkPendingRecords(await getServices());
  },
});
