import { resolve } from 'node:path';
import { loadLocalSettings } from '../local/settings.js';
import type { AgreementSet } from '../shared/agreements/agreement-set.js';
import { loadAgreements } from '../shared/agreements/load.js';
import { loadConfig } from '../shared/config.js';

/**
 * The agreements the configured settings name (local settings read first), read from their files
 * without the store: for a script to refuse an id they do not define before it loads the stack's
 * graph (some 1-2 s for tsx). A mistaken setting or agreement file throws as stackServices would.
 */
export function configuredAgreements(): AgreementSet {
  return loadAgreements(resolve(configuredAgreementsDir()));
}

/** The agreements folder the configured settings name (local settings read first), as given. */
export function configuredAgreementsDir(): string {
  loadLocalSettings();
  return loadConfig(process.env).AGREEMENTS_DIR;
}
