import { loadLocalSettings, requireRunningAzurite } from '../local/settings.js';
import { loadConfig } from '../shared/config.js';
import { createServices, type Services } from '../shared/services.js';

/**
 * The services of the configured store, for a script that works on it (curate, relink,
 * purge-dataset, audit): local settings read first, and a mistaken setting named before the local
 * stack is looked for (a missing Azurite would hide it), then the host's own services.
 */
export async function stackServices(): Promise<Services> {
  loadLocalSettings();
  loadConfig(process.env);
  await requireRunningAzurite();
  return createServices(loadConfig(process.env), undefined, { operatorScript: true });
}
