import { expect } from 'vitest';
import {
  DummyDriver,
  Kysely,
  MssqlAdapter,
  MssqlIntrospector,
  MssqlQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type QueryResult,
} from 'kysely';
import type { Store } from '../../shared/store/database.js';
import { dialectFor } from '../../shared/store/dialect.js';
import { readsOn } from '../../shared/store/read-queries.js';
import type { Database } from '../../shared/store/schema.js';

/**
 * A store on Azure SQL's dialect with no server behind it (none can run on these machines): the
 * product's own code runs against it, each statement is compiled by Kysely's SQL Server compiler
 * exactly as it would be sent, kept in `statements`, and answered by `answer` (no rows unless
 * told), a write's count of rows by `affected` (none reported unless told). For checking today's
 * queries against SQL Server's rules without a server; what only a server can judge (plans,
 * locks, collations of data) it cannot.
 */
export function sqlServerStatements(
  answer: (query: CompiledQuery) => readonly unknown[] = () => [],
  affected: (query: CompiledQuery) => number | undefined = () => undefined,
): {
  store: Store;
  statements: CompiledQuery[];
} {
  const statements: CompiledQuery[] = [];
  const connection: DatabaseConnection = {
    executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
      statements.push(query);
      const count = affected(query);
      return { rows: answer(query) as R[], numAffectedRows: count === undefined ? undefined : BigInt(count) };
    },
    streamQuery: () => {
      throw new Error('not used');
    },
  };
  class RecordingDriver extends DummyDriver {
    override async acquireConnection(): Promise<DatabaseConnection> {
      return connection;
    }
  }
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new MssqlAdapter(),
      createDriver: () => new RecordingDriver(),
      createIntrospector: (k) => new MssqlIntrospector(k),
      createQueryCompiler: () => new MssqlQueryCompiler(),
    },
  });
  const store: Store = { db, dialect: dialectFor('mssql'), reads: readsOn(db), close: () => db.destroy() };
  return { store, statements };
}

/** SQL Server's limit on the parameters of one statement (sp_executesql). */
export const SQL_SERVER_MAX_PARAMETERS = 2_100;

/** SQL Server's limit on the rows of one `insert … values` list. */
export const SQL_SERVER_MAX_VALUES_ROWS = 1_000;

/**
 * What in a compiled statement SQL Server refuses, by rules that need no server: SQLite's
 * spellings of a row limit, a boolean literal as a predicate, `||` concatenation, `returning`,
 * `on conflict`, `is [not] distinct from`, an `indexed by` hint, too many parameters or rows in one `values` list. String
 * literals are left out of the search. Empty when none is found (not a proof it runs).
 */
export function refusedBySqlServer(query: CompiledQuery): string[] {
  const text = query.sql.replace(/'(?:[^']|'')*'/g, "''").toLowerCase();
  const rules: [string, RegExp][] = [
    ['limit (SQL Server: top or offset … fetch)', /\blimit\s+(@\d+|\d+)/],
    [
      'boolean literal',
      /\b(where|and|or|on|when|not|then|else|=)\s+(true|false)\b|\b(true|false)\s+(and|or|then|end)\b/,
    ],
    ['|| concatenation', /\|\|/],
    ['returning', /\breturning\b/],
    ['on conflict', /\bon\s+conflict\b/],
    ['is distinct from', /\bis\s+(not\s+)?distinct\s+from\b/],
    ['indexed by', /\bindexed\s+by\b/],
  ];
  const refused = rules.filter(([, rule]) => rule.test(text)).map(([name]) => name);
  // A table value constructor takes at most 1,000 rows.
  const values = /^insert\b[^]*?\bvalues\s*(\([^]*)$/.exec(text)?.[1];
  const rows = values === undefined ? 0 : values.split(/\)\s*,\s*\(/).length;
  if (rows > SQL_SERVER_MAX_VALUES_ROWS)
    refused.push(`${rows} rows in one values list (at most ${SQL_SERVER_MAX_VALUES_ROWS})`);
  if (query.parameters.length > SQL_SERVER_MAX_PARAMETERS)
    refused.push(`${query.parameters.length} parameters (at most ${SQL_SERVER_MAX_PARAMETERS})`);
  return refused;
}

/** That the statements are some, and SQL Server refuses none of them by {@link refusedBySqlServer}'s rules. */
export function expectAccepted(statements: readonly CompiledQuery[]): void {
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements)
    expect({ sql: statement.sql, refused: refusedBySqlServer(statement) }).toEqual({
      sql: statement.sql,
      refused: [],
    });
}
