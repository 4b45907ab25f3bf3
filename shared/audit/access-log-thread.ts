/**
 * Worker-thread entry of the SQLite access-log writer (see sqlite-access-log-writer.ts for why
 * it exists). It owns a connection of its own to the store's file and writes one batch per
 * message, each in a BEGIN IMMEDIATE transaction, so the sequence numbers it reads are the
 * writer's own until the commit. It assigns them, encodes the rows and their leaf hashes,
 * inserts them (and, for an entry about several people, their ids' rows of access_log_subject_id),
 * commits with synchronous=FULL, and answers with the first sequence number.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { numberedEntries, subjectIdRows, toRow } from './access-log-rows.js';
import type { AccessLogBatch, AccessLogBatchResult, AccessLogThreadOptions } from './sqlite-access-log-writer.js';

const options = workerData as AccessLogThreadOptions;
const db = new SqliteDatabase(options.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
// The store's checkpointer thread copies the log's WAL back (shared/store/wal-checkpointer.ts).
db.pragma('wal_autocheckpoint = 0');

// Prepared on first use, not at start: the thread may start before the migrations have run.
let statements:
  | { maxSeq: SqliteDatabase.Statement; insert: SqliteDatabase.Statement; insertSubjectId: SqliteDatabase.Statement }
  | undefined;

function prepared() {
  statements ??= {
    maxSeq: db.prepare('select max(seq) as max from access_log').pluck(),
    insert: db.prepare(
      'insert into access_log (seq, time, request_id, party_id, client_id, roles, purpose, action, subject_ref, datasets, fields, decision, reason_code, leaf_hash) ' +
        'values (@seq, @time, @request_id, @party_id, @client_id, @roles, @purpose, @action, @subject_ref, @datasets, @fields, @decision, @reason_code, @leaf_hash)',
    ),
    insertSubjectId: db.prepare('insert into access_log_subject_id (person_id, seq) values (@person_id, @seq)'),
  };
  return statements;
}

const writeBatch = db.transaction((batch: AccessLogBatch): number => {
  const { maxSeq, insert, insertSubjectId } = prepared();
  const first = Number(maxSeq.get() ?? 0) + 1;
  const entries = numberedEntries(batch.records, first, batch.time);
  for (const entry of entries) {
    insert.run(toRow(entry));
  }
  for (const row of subjectIdRows(entries)) insertSubjectId.run(row);
  return first;
});

parentPort!.on('message', (batchJson: string) => {
  let result: AccessLogBatchResult;
  try {
    result = { ok: true, firstSeq: writeBatch.immediate(JSON.parse(batchJson) as AccessLogBatch) };
  } catch (err) {
    // A schema change (a table renamed away, a migration) invalidates the statements.
    statements = undefined;
    const code = (err as { code?: unknown }).code;
    result = { ok: false, code: typeof code === 'string' ? code : 'unknown', name: (err as Error).name };
  }
  parentPort!.postMessage(result);
});
