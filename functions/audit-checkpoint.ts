import { checkpointNow } from '../shared/audit/audit-service.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/** Every five minutes: sign the log's size and root and append it to the WORM anchor blob. */
registerTimer({
  name: 'auditCheckpoint',
  schedule: '0 */5 * * * *',
  handler: async () => {
    await checkpointNow(await getServices());
  },
});
