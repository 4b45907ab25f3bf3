import type SqliteDatabase from 'better-sqlite3';

/** Bounded, since a query with a variable IN list has one text per list length. */
const MAX_KEPT_STATEMENTS = 500;

/**
 * Makes the connection's `prepare` keep what it prepares and hand the same statement back for
 * the same text. Why: Kysely prepares every statement it runs, and the same few statements run
 * on every request. Returns a function that forgets them all (after a schema change, say).
 */
export function keepStatements(database: SqliteDatabase.Database): () => void {
  const kept = new Map<string, SqliteDatabase.Statement>();
  const prepare = database.prepare.bind(database);
  database.prepare = ((source: string) => {
    let statement = kept.get(source);
    if (!statement) {
      if (kept.size >= MAX_KEPT_STATEMENTS) kept.clear();
      statement = prepare(source);
      kept.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
  return () => kept.clear();
}
