import { sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';

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
  /** Statement that proves the connection is alive. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pings work whatever the schema
  ping(db: Kysely<any>): Promise<void>;
}

const sqlite: Dialect = {
  engine: 'sqlite',
  text: () => 'text',
  timestamp: () => 'text',
  bytes: () => 'blob',
  bigInteger: () => 'integer',
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
  ping: async (db) => {
    await sql`select 1 as ok`.execute(db);
  },
};

export function dialectFor(engine: Engine): Dialect {
  return engine === 'sqlite' ? sqlite : mssql;
}
