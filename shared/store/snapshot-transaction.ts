import SqliteDatabase from 'better-sqlite3';
import { Kysely, sql, SqliteDialect } from 'kysely';
import { BUSY_TIMEOUT_MS, type Store } from './database.js';
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

/**
 * A snapshot for reads alone, which must not hold up the store's writers while it reads (the
 * curated export streams a whole dataset). On SQLite on disk, a read-only connection of its own
 * to the store's file, in a transaction: in WAL mode a read transaction keeps the state of its
 * first read while the store's connection goes on committing. In a transaction on the store's
 * one connection (snapshotTransaction), every write — an import's load, a consent recorded or
 * withdrawn, a link-review decision, a linking pass — waited until the reads ended. Nothing can
 * be written through `trx`: the caller writes on the store after the reads. In memory no other
 * connection can see the store, so the reads hold its one connection as before; on SQL Server
 * SNAPSHOT isolation already leaves the writers be.
 */
export async function snapshotReads<T>(store: Store, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (store.dialect.engine !== 'sqlite' || store.file === undefined) return snapshotTransaction(store, work);
  const connection = new SqliteDatabase(store.file, { readonly: true, fileMustExist: true });
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
  try {
    connection.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return await db.transaction().execute(work);
  } finally {
    await db.destroy();
    // Kysely closes only a connection it has used.
    if (connection.open) connection.close();
  }
}
