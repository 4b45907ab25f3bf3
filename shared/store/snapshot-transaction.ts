import { sql, type Kysely } from 'kysely';
import type { Store } from './database.js';
import type { Database } from './schema.js';

/**
 * A transaction every read of which sees one state of the store. On SQL Server, SNAPSHOT
 * isolation: under the default read-committed snapshot each statement would see the latest
 * commit, and a write to a row changed since the snapshot fails the transaction (update
 * conflict). SQLite's one connection already gives its transaction one state.
 *
 * On SQL Server the isolation level is the session's, and a pooled connection keeps it after the
 * commit, so the transaction sets it back to read committed before it ends: otherwise whatever
 * ran next on that connection — an import's transaction, say — would run under SNAPSHOT too.
 */
export function snapshotTransaction<T>(store: Store, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (store.dialect.engine !== 'mssql') return store.db.transaction().execute(work);
  return store.db
    .transaction()
    .setIsolationLevel('snapshot')
    .execute(async (trx) => {
      try {
        return await work(trx);
      } finally {
        await sql`set transaction isolation level read committed`.execute(trx).catch(() => undefined);
      }
    });
}
