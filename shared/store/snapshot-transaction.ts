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
 * commit, so the transaction sets it back to read committed before it ends: otherwise statements
 * run outside a transaction on that connection would run under SNAPSHOT too. (A transaction
 * begun without a level is begun at read committed by the driver.) A failed reset fails the
 * transaction; after a failure of the work itself it is only tried, so the work's error stands.
 */
export function snapshotTransaction<T>(store: Store, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (store.dialect.engine !== 'mssql') return store.db.transaction().execute(work);
  return store.db
    .transaction()
    .setIsolationLevel('snapshot')
    .execute(async (trx) => {
      const reset = () => sql`set transaction isolation level read committed`.execute(trx);
      let result: T;
      try {
        result = await work(trx);
      } catch (err) {
        await reset().catch(() => undefined);
        throw err;
      }
      await reset();
      return result;
    });
}
