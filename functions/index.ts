/**
 * The Functions entry point (`main` in package.json). Importing a trigger module registers it;
 * the list below is every function lintel has.
 */
import './health.js';
import './import-blob.js';
import './people-search.js';
import './people-view.js';
import './consents-record.js';
import './consents-withdraw.js';

export { registrations } from './registry.js';
