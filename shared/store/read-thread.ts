/**
 * Worker-thread entry of the store's read connection on SQLite (see read-queries.ts for why it
 * exists). A read-only connection of its own to the store's file; each message is one compiled
 * query, answered with its rows in the order the queries came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { keepStatements } from './kept-statements.js';
import type { ReadReply, ReadRequest, ReadThreadOptions } from './read-queries.js';

const options = workerData as ReadThreadOptions;
const db = new SqliteDatabase(options.file, { readonly: true, fileMustExist: true });
db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);

/** The same few statements serve every lookup, kept as the store connection's are. */
const forgetStatements = keepStatements(db);

parentPort!.on('message', (request: ReadRequest) => {
  let reply: ReadReply;
  try {
    reply = { ok: true, rows: db.prepare(request.sql).all(...request.parameters) as unknown[] };
  } catch (err) {
    // A schema change (a migration) invalidates what was prepared.
    forgetStatements();
    const code = (err as { code?: unknown }).code;
    reply = { ok: false, code: typeof code === 'string' ? code : 'unknown' };
  }
  parentPort!.postMessage(reply);
});
