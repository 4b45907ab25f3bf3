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
import './audit-verify.js';
import './audit-inclusion-proof.js';
import './audit-consistency-proof.js';
import './audit-checkpoint.js';

export { registrations } from './registry.js';
