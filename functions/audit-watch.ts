import { runWatch } from '../shared/audit/watch-rules.js';
import { getServices } from '../shared/services.js';
import { registerTimer } from './registry.js';

/** Every five minutes: run the watch rules over the access log; each new firing becomes one alert. */
registerTimer({
  name: 'auditWatch',
  schedule: '0 */5 * * * *',
  handler: async () => {
    await runWatch(await getServices(), new Date());
  },
});
