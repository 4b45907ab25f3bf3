import type { AccessLogRecord } from '../../shared/audit/access-log.js';

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
