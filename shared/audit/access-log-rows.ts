import type { Selectable } from 'kysely';
import type { AccessLogSubjectIdTable, AccessLogTable } from '../store/schema.js';
import type { AccessLogRecord } from './access-log.js';
import { indexedSubjectIds } from './entry-subjects.js';
import { encodeEntry, encodeEntryUnchecked, type AccessLogEntry } from './entry-codec.js';
import { leafHash } from './merkle.js';

/** A batch's records as entries: consecutive sequence numbers from `firstSeq`, one time for all. */
export function numberedEntries(records: readonly AccessLogRecord[], firstSeq: number, time: string): AccessLogEntry[] {
  return records.map((record, i) => ({ ...record, seq: firstSeq + i, time }));
}

/** The columns of an entry's row ({@link toRow}), in the order a multi-row insert names them. */
export const ACCESS_LOG_COLUMNS = [
  'seq',
  'time',
  'request_id',
  'party_id',
  'client_id',
  'roles',
  'purpose',
  'action',
  'subject_ref',
  'datasets',
  'fields',
  'decision',
  'reason_code',
  'leaf_hash',
] as const satisfies readonly (keyof AccessLogTable)[];

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

/**
 * The rows of `access_log_subject_id` for entries: one a person each entry about several names, to
 * be inserted in the entries' own transaction; none for an entry about one person or none.
 */
export function subjectIdRows(entries: readonly AccessLogEntry[]): AccessLogSubjectIdTable[] {
  return entries.flatMap((entry) =>
    indexedSubjectIds(entry.subjectRef).map((id) => ({ person_id: id, seq: entry.seq })),
  );
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

/**
 * Whether a row's list columns (roles, datasets, fields) hold exactly the text {@link toRow}
 * writes: JSON.stringify of an array of strings. Other JSON for the same list (a `\u0065`
 * escape, an object with numbered keys and a length) reads back as the same entry and so
 * hashes alike, yet no longer says the same thing to SQL that searches the text (the watch
 * rules' `like`) nor to the DPO's views: the verifier counts such a row as altered.
 */
export function listColumnsAsWritten(row: Pick<Selectable<AccessLogTable>, 'roles' | 'datasets' | 'fields'>): boolean {
  return [row.roles, row.datasets, row.fields].every((text) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return false;
    }
    return Array.isArray(parsed) && parsed.every((v) => typeof v === 'string') && JSON.stringify(parsed) === text;
  });
}

/**
 * A stored row as verification judges it: the canonical bytes its columns encode to (its leaf
 * hash's input), and whether its list columns are as written. The verifier and the checkpointer
 * both judge rows by this, so they cannot disagree about one. Throws when the row cannot be read
 * back into an entry.
 */
export function storedRowBytes(row: Selectable<AccessLogTable>): { bytes: Buffer; asWritten: boolean } {
  return { bytes: encodeEntryUnchecked(fromRow(row)), asWritten: listColumnsAsWritten(row) };
}
