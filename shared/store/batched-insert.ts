import { CompiledQuery, type Kysely } from 'kysely';
import type { Engine } from './dialect.js';
import type { Database } from './schema.js';

/**
 * Many rows into one table in multi-row statements, with the statement text built once per
 * engine and batch size and sent as a compiled query: the query builder would otherwise rebuild
 * the same thousands-of-parameters statement for every batch. SQL Server takes at most 2,100
 * parameters a statement, which sizes its batches; SQLite takes 32,766.
 */

export type Param = string | number | null;

export interface BatchHook {
  beforeBatch(db: Kysely<Database>, written: number): Promise<void>;
}

const MAX_PARAMETERS: Record<Engine, number> = { sqlite: 32_766, mssql: 2_100 };
/** Rows a statement on SQLite: past a few hundred, bigger statements stop paying. */
const SQLITE_ROWS = 400;

function rowsPerStatement(engine: Engine, columns: number): number {
  const byParameters = Math.floor((MAX_PARAMETERS[engine] - 1) / columns);
  return engine === 'sqlite' ? Math.min(SQLITE_ROWS, byParameters) : byParameters;
}

function insertSql(engine: Engine, table: string, columns: readonly string[], rows: number): string {
  const quote = (name: string) => (engine === 'mssql' ? `[${name}]` : `"${name}"`);
  let n = 0;
  const placeholder = engine === 'mssql' ? () => `@${++n}` : () => '?';
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) tuples.push(`(${columns.map(placeholder).join(',')})`);
  return `insert into ${quote(table)} (${columns.map(quote).join(',')}) values ${tuples.join(',')}`;
}

export class BatchedInsert {
  private readonly fullSql: string;
  private params: Param[] = [];
  private rows = 0;
  private readonly perStatement: number;

  constructor(
    private readonly engine: Engine,
    private readonly table: string,
    private readonly columns: readonly string[],
  ) {
    this.perStatement = rowsPerStatement(engine, columns.length);
    this.fullSql = insertSql(engine, table, columns, this.perStatement);
  }

  /** Appends one row's values (in column order) to the pending batch. */
  push(values: readonly Param[]): void {
    this.pushRows(values);
  }

  /** Appends whole rows' values, row after row in column order; returns how many rows. */
  pushRows(values: readonly Param[]): number {
    const rows = values.length / this.columns.length;
    if (!Number.isInteger(rows)) throw new RangeError(`${this.table}: values do not fill whole rows`);
    for (let i = 0; i < values.length; i++) this.params.push(values[i]!);
    this.rows += rows;
    return rows;
  }

  get full(): boolean {
    return this.rows >= this.perStatement;
  }

  /** Rows written so far. */
  written = 0;

  /**
   * Writes the full batches, or with `all` everything pending. `hook.beforeBatch` runs before
   * each statement with the rows written so far (the snapshot writer drops indexes there).
   */
  async flush(db: Kysely<Database>, all: boolean, hook?: BatchHook): Promise<number> {
    let written = 0;
    while (this.rows >= this.perStatement || (all && this.rows > 0)) {
      await hook?.beforeBatch(db, this.written);
      const rows = Math.min(this.rows, this.perStatement);
      const width = this.columns.length;
      const params = rows === this.rows ? this.params : this.params.slice(0, rows * width);
      const sqlText =
        rows === this.perStatement ? this.fullSql : insertSql(this.engine, this.table, this.columns, rows);
      await db.executeQuery(CompiledQuery.raw(sqlText, params));
      this.params = rows === this.rows ? [] : this.params.slice(rows * width);
      this.rows -= rows;
      written += rows;
      this.written += rows;
    }
    return written;
  }
}
