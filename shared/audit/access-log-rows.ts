import type { Selectable } from 'kysely';
import type { AccessLogTable } from '../store/schema.js';
import type { AccessLogRecord } from './access-log.js';
import { encodeEntry, type AccessLogEntry } from './entry-codec.js';
import { leafHash } from './merkle.js';

/** A batch's records as entries: consecutive sequence numbers from `firstSeq`, one time for all. */
export function numberedEntries(records: readonly AccessLogRecord[], firstSeq: number, time: string): AccessLogEntry[] {
  return records.map((record, i) => ({ ...record, seq: firstSeq + i, time }));
}

/** An entry as the table stores it, with its leaf hash computed from the canonical bytes. */
export function toRow(entry: AccessLogEntry): Selectable<AccessLogTable> {
  return {
    seq: entry.seq,
    time: entry.time,
    request_id: entry.requestId,
    party_id: entry.partyId,
    client_id: entry.clientId,
    roles: JSON.stringify(entry.roles),
    purpose: entry.purpose,
    action: entry.action,
    subject_ref: entry.subjectRef,
    datasets: JSON.stringify(entry.datasets),
    fields: JSON.stringify(entry.fields),
    decision: entry.decision,
    reason_code: entry.reasonCode,
    leaf_hash: leafHash(encodeEntry(entry)),
  };
}

export function fromRow(row: Selectable<AccessLogTable>): AccessLogEntry {
  return {
    seq: Number(row.seq),
    time: row.time,
    requestId: row.request_id,
    partyId: row.party_id,
    clientId: row.client_id,
    roles: JSON.parse(row.roles) as string[],
    purpose: row.purpose,
    action: row.action,
    subjectRef: row.subject_ref,
    datasets: JSON.parse(row.datasets) as string[],
    fields: JSON.parse(row.fields) as string[],
    decision: row.decision,
    reasonCode: row.reason_code,
  };
}
