import { resolve } from 'node:path';
import { sql } from 'kysely';
import { loadAgreements } from '../../shared/agreements/load.js';
import type { AccessLogRecord } from '../../shared/audit/access-log.js';
import { accessesToPerson, auditScope } from '../../shared/audit/dpo-views.js';
import type { Store } from '../../shared/store/database.js';

/**
 * The access-log entry of a Housing officer's link confirmation, the kind of entry that names two
 * people or more in its subject (`subjectRef`, ids space-separated): for tests of how entries
 * about several people are found.
 */
export function housingLinkConfirmation(requestId: string, subjectRef: string): AccessLogRecord {
  return {
    requestId,
    partyId: 'la-housing',
    clientId: 'la-housing-officer',
    roles: ['housing-officer'],
    purpose: 'homelessness-prevention',
    action: 'link.confirm',
    subjectRef,
    datasets: ['multiple-disadvantage-indicators'],
    fields: [],
    decision: 'allow',
    reasonCode: 'granted',
  };
}

const housingScope = auditScope(loadAgreements(resolve('agreements')), ['social-care-education-housing']);

/** The request ids a Housing DPO's subject access request for `personId` lists, oldest first. */
export async function requestsFoundFor(store: Store, personId: string): Promise<string[]> {
  const page = await accessesToPerson(store, housingScope, personId, { after: 0, limit: 10 });
  return page.entries.map((e) => e.requestId);
}

/**
 * The log's entries as an instance on the code before migration 0050 leaves them: without their
 * rows of the index of subjects (the table is append-only, so its guard goes first).
 */
export async function dropSubjectIndexRows(store: Store): Promise<void> {
  await sql`drop trigger access_log_subject_id_no_delete`.execute(store.db);
  await sql`delete from access_log_subject_id`.execute(store.db);
}
