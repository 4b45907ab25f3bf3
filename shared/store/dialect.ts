import {
  sql,
  type ColumnDataType,
  type CreateTableBuilder,
  type Expression,
  type Kysely,
  type RawBuilder,
  type SelectQueryBuilder,
  type SqlBool,
} from 'kysely';

/**
 * The one place where SQLite and Azure SQL differ. Migrations and queries ask for a kind of
 * column or an operation here instead of spelling engine-specific SQL themselves.
 */
export type Engine = 'sqlite' | 'mssql';

type DataType = ColumnDataType | Expression<unknown>;

export interface Dialect {
  readonly engine: Engine;
  /** Unicode text; bounded where the column is indexed (SQL Server cannot index nvarchar(max)). */
  text(maxLength?: number): DataType;
  /** ISO-8601 UTC timestamps stored as text. */
  timestamp(): DataType;
  /** Raw bytes such as hashes and signatures. */
  bytes(maxLength?: number): DataType;
  /** Integers beyond 2^31 (sequence numbers, row counts). */
  bigInteger(): DataType;
  /**
   * Make a table refuse UPDATE and DELETE: an append-only ledger table on Azure SQL (the engine
   * itself refuses, and its ledger digests make tampering evident), triggers on SQLite.
   */
  appendOnly<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, never>;
  /**
   * The triggers of {@link appendOnly} on SQLite. `schema`: the attached database holding the
   * table (the access log's file, `audit`), where SQLite must make its triggers too.
   */
  protectAppendOnly(db: Kysely<unknown>, table: string, schema?: string): Promise<void>;
  /** The first `n` rows of an ordered query: LIMIT on SQLite, TOP on SQL Server. */
  firstRows<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>, n: number): SelectQueryBuilder<DB, TB, O>;
  /**
   * {@link firstRows} for a raw statement: `select ${top} … ${limit}` takes its first `n` rows on
   * either engine (one of the two is empty).
   */
  firstRowsClauses(n: number): { readonly top: RawBuilder<unknown>; readonly limit: RawBuilder<unknown> };
  /**
   * Bytes as hexadecimal text, upper-case on both engines: a hash read this way reaches
   * JavaScript as one string instead of a Buffer made per row, which a full-log read notices.
   * SQLite gives '' for null, SQL Server null.
   */
  hex(bytes: Expression<Uint8Array>): RawBuilder<string | null>;
  /**
   * That `text` holds `part` anywhere, its characters compared as `=` compares them on the engine:
   * instr on SQLite, charindex on SQL Server. Not LIKE, which reads `%` and `_` in the part as
   * wildcards, and T-SQL's `[ ]` and `^` besides.
   */
  holds(text: Expression<string | null>, part: Expression<string>): RawBuilder<SqlBool>;
  /** Statement that proves the connection is alive. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pings work whatever the schema
  ping(db: Kysely<any>): Promise<void>;
}

/** A count spliced into SQL text, so only ever a positive integer. */
function rowCount(n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError('A number of rows is a positive integer.');
  return n;
}

const sqlite: Dialect = {
  engine: 'sqlite',
  text: () => 'text',
  timestamp: () => 'text',
  bytes: () => 'blob',
  bigInteger: () => 'integer',
  appendOnly: (table) => table,
  firstRows: (query, n) => query.limit(n),
  firstRowsClauses: (n) => ({ top: sql.raw(''), limit: sql.raw(`limit ${rowCount(n)}`) }),
  hex: (bytes) => sql<string | null>`hex(${bytes})`,
  holds: (text, part) => sql<SqlBool>`instr(${text}, ${part}) > 0`,
  protectAppendOnly: async (db, table, schema) => {
    for (const operation of ['update', 'delete']) {
      await sql
        .raw(
          `create trigger ${schema === undefined ? '' : `${schema}.`}${table}_no_${operation} before ${operation} on ${table} ` +
            `begin select raise(abort, '${table} is append-only'); end`,
        )
        .execute(db);
    }
  },
  ping: async (db) => {
    await sql`select 1`.execute(db);
  },
};

const mssql: Dialect = {
  engine: 'mssql',
  text: (maxLength) => (maxLength ? sql.raw(`nvarchar(${maxLength})`) : sql.raw('nvarchar(max)')),
  timestamp: () => sql.raw('varchar(32)'),
  bytes: (maxLength) => (maxLength ? sql.raw(`varbinary(${maxLength})`) : sql.raw('varbinary(max)')),
  bigInteger: () => 'bigint',
  firstRows: (query, n) => query.top(n),
  firstRowsClauses: (n) => ({ top: sql.raw(`top(${rowCount(n)})`), limit: sql.raw('') }),
  // Style 2: hex digits without the 0x prefix.
  hex: (bytes) => sql<string | null>`convert(varchar(max), ${bytes}, 2)`,
  holds: (text, part) => sql<SqlBool>`charindex(${part}, ${text}) > 0`,
  appendOnly: (table) => table.modifyEnd(sql`with (ledger = on (append_only = on))`),
  protectAppendOnly: async () => undefined,
  ping: async (db) => {
    await sql`select 1 as ok`.execute(db);
  },
};

export function dialectFor(engine: Engine): Dialect {
  return engine === 'sqlite' ? sqlite : mssql;
}
