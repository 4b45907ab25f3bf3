/**
 * The Functions entry point (`main` in package.json). Importing a trigger module registers it;
 * the list below is every function lintel has.
 */
import './health.js';
import './import-blob.js';
import './people-search.js';
import './people-view.js';
import './consents-record.js';
import './consents-view.js';
import './consents-withdraw.js';
import './duplicate-checks.js';
import './openapi.js';
import './docs.js';
import './audit-verify.js';
import './audit-inclusion-proof.js';
import './audit-consistency-proof.js';
import './audit-checkpoint.js';
import './audit-watch.js';
import './audit-person-accesses.js';
import './audit-person-accesses-search.js';
import './audit-client-activity.js';
import './audit-alerts.js';
import './audit-alerts-evaluate.js';
import './audit-breach-open.js';
import './audit-breaches.js';
import './audit-breach.js';
import './audit-breach-step.js';
import './link-pending.js';
import './enforce-retention.js';
import './export-curated.js';
import './heal-curated.js';
import './link-candidates.js';
import './link-candidate.js';
import './link-candidate-confirm.js';
import './link-candidate-reject.js';

export { registrations } from './registry.js';
