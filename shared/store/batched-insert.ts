import type SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Engine } from './dialect.js';
import type { Database } from './schema.js';

/**
 * Many rows into one table in multi-row statements, with the statement text built once per
 * engine and batch size and sent as a compiled query: the query builder would otherwise rebuild
 * the same thousands-of-parameters statement for every batch. SQL Server takes at most 2,100
 * parameters a statement and 1,000 rows a `values` list, which size its batches; SQLite takes
 * 32,766 parameters.
 *
 * Given the store's SQLite connection ({@link BatchedInsertOptions.sqlite}), the statements run
 * on it directly, so that the values every row shares ({@link BatchedInsertOptions.shared}) are
 * bound once a statement, by name, beside the rows' own values: binding is much of what a
 * SQLite insert costs (a snapshot's run, party, dataset and date would otherwise be a third of
 * its records' values). Elsewhere the shared values are repeated in every row.
 *
 * A read or write naming many ids is sized by the same limits ({@link inSlices}).
 */

export type Param = string | number | Uint8Array | null;

export interface BatchHook {
  beforeBatch(db: Kysely<Database>, written: number): Promise<void>;
}

export interface BatchedInsertOptions {
  /** Columns whose value is the same in every row, with that value; rows carry the other columns only. */
  readonly shared?: Readonly<Record<string, Param>>;
  /**
   * The SQLite connection under the caller's transaction (Store.sqlite): statements run on it
   * directly, with the shared values bound by name.
   */
  readonly sqlite?: SqliteDatabase.Database;
  /**
   * The caller rolls its whole transaction back when a statement fails, so SQLite need not undo
   * a failed statement on its own (`insert or fail`): it then keeps no statement journal, which
   * copies every page a multi-row insert touches before changing it.
   */
  readonly rollbackOnError?: boolean;
}

const MAX_PARAMETERS: Record<Engine, number> = { sqlite: 32_766, mssql: 2_100 };
/**
 * Rows a statement: on SQLite past a few hundred bigger statements stop paying; SQL Server takes
 * at most 1,000 rows a `values` list, which a table of one or two columns would pass by parameters.
 */
const MAX_ROWS: Record<Engine, number> = { sqlite: 400, mssql: 1_000 };
const NAME = /^[a-z_][a-z0-9_]*$/;
/** Parameters a statement naming many ids keeps for its own other values (party, action, kind…). */
const OWN_PARAMETERS = 100;

function rowsPerStatement(engine: Engine, columns: number): number {
  return Math.min(MAX_ROWS[engine], Math.floor((MAX_PARAMETERS[engine] - 1) / columns));
}

/**
 * Ids a statement may test one by one, each its own term of an OR. SQLite parses `a OR b OR …`
 * as a tree as deep as it has terms, and refuses one deeper than 1,000 (SQLITE_MAX_EXPR_DEPTH),
 * however few its parameters: room is left for the statement's other conditions and each term's
 * own depth. SQL Server has no such fixed limit, but long OR chains are reported to fail there
 * (8623, the query processor ran out of internal resources; 191, nested too deeply), and its
 * parameters alone would let a statement hold some 666 terms of three parameters: it is kept to
 * the same 500, about the thousand comparisons of the 1,000-id `in` lists it is sent elsewhere.
 */
const OR_TERMS = 500;

/** How the ids of a read are named in its statement ({@link idsPerStatement}). */
export interface IdsNamed {
  /** Parameters an id: an `in` list's one (the default), or the several of a test per id. */
  readonly perId?: number;
  /** Each id is a term of one OR, not an item of an `in` list. */
  readonly orTerms?: boolean;
}

/**
 * How many ids one statement may name, beside a few parameters of its own: a read about
 * everyone an opt-out was recorded for is sent in as many statements as the engine's limits
 * take. On SQLite that is thousands of people a statement in an `in` list, so one as before for
 * any opt-out recorded; on SQL Server a statement of more than 2,100 parameters is refused. As
 * terms of an OR, on either, at most {@link OR_TERMS}.
 */
function idsPerStatement(engine: Engine, { perId = 1, orTerms = false }: IdsNamed): number {
  const byParameters = Math.floor((MAX_PARAMETERS[engine] - OWN_PARAMETERS) / perId);
  return orTerms ? Math.min(OR_TERMS, byParameters) : byParameters;
}

/**
 * `statement` for each slice of `ids` one statement may name ({@link idsPerStatement}), their
 * rows together: a read's, or a write's results (a delete or update naming the ids).
 */
export async function inSlices<T>(
  engine: Engine,
  ids: readonly string[],
  statement: (slice: readonly string[]) => Promise<readonly T[]>,
  named: IdsNamed = {},
): Promise<T[]> {
  const rows: T[] = [];
  const perStatement = idsPerStatement(engine, named);
  for (let k = 0; k < ids.length; k += perStatement) rows.push(...(await statement(ids.slice(k, k + perStatement))));
  return rows;
}

export class BatchedInsert {
  private params: Param[] = [];
  private rows = 0;
  private readonly perStatement: number;
  /** Shared values repeated in every row (kysely path), or bound by name (direct path). */
  private readonly repeated: readonly Param[];
  private readonly named: Readonly<Record<string, Param>> | undefined;
  private readonly sqlite: SqliteDatabase.Database | undefined;
  private readonly statements = new Map<number, string>();
  /** `insert into "table" (columns)`: what every statement starts with. */
  private readonly head: string;
  private readonly tuple: (next: () => string) => string;

  constructor(
    private readonly engine: Engine,
    private readonly table: string,
    /** The columns each row carries, in the order of its values. */
    private readonly columns: readonly string[],
    options: BatchedInsertOptions = {},
  ) {
    const shared = Object.entries(options.shared ?? {});
    for (const [name] of shared) if (!NAME.test(name)) throw new RangeError(`${table}: bad column name`);
    this.sqlite = engine === 'sqlite' ? options.sqlite : undefined;
    const quote = (name: string) => (engine === 'mssql' ? `[${name}]` : `"${name}"`);
    const all = [...columns, ...shared.map(([name]) => name)];
    const verb = engine === 'sqlite' && options.rollbackOnError ? 'insert or fail' : 'insert';
    // A table in an attached database (`audit.access_log_subject_id`) is named by its schema too.
    this.head = `${verb} into ${table.split('.').map(quote).join('.')} (${all.map(quote).join(',')})`;
    if (this.sqlite !== undefined) {
      this.named = Object.fromEntries(shared);
      this.repeated = [];
      const names = shared.map(([name]) => `:${name}`).join(',');
      this.tuple = (next) => `(${columns.map(next).join(',')}${names === '' ? '' : `,${names}`})`;
    } else {
      this.named = undefined;
      this.repeated = shared.map(([, value]) => value);
      this.tuple = (next) => `(${all.map(next).join(',')})`;
    }
    this.perStatement = rowsPerStatement(engine, columns.length + this.repeated.length);
  }

  /** Appends one row's values (in column order) to the pending batch. */
  push(values: readonly Param[]): void {
    this.pushRows(values);
  }

  /** Appends whole rows' values, row after row in column order; returns how many rows. */
  pushRows(values: readonly Param[]): number {
    const width = this.columns.length;
    const rows = values.length / width;
    if (!Number.isInteger(rows)) throw new RangeError(`${this.table}: values do not fill whole rows`);
    const repeated = this.repeated;
    if (repeated.length === 0) {
      for (let i = 0; i < values.length; i++) this.params.push(values[i]!);
    } else {
      for (let i = 0; i < values.length; i += width) {
        for (let c = 0; c < width; c++) this.params.push(values[i + c]!);
        for (const value of repeated) this.params.push(value);
      }
    }
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
    const width = this.columns.length + this.repeated.length;
    while (this.rows >= this.perStatement || (all && this.rows > 0)) {
      await hook?.beforeBatch(db, this.written);
      const rows = Math.min(this.rows, this.perStatement);
      const params = rows === this.rows ? this.params : this.params.slice(0, rows * width);
      const sqlText = this.statement(rows);
      if (this.sqlite !== undefined) this.sqlite.prepare(sqlText).run(params, this.named!);
      else await db.executeQuery(CompiledQuery.raw(sqlText, params));
      this.params = rows === this.rows ? [] : this.params.slice(rows * width);
      this.rows -= rows;
      written += rows;
      this.written += rows;
    }
    return written;
  }

  /** The statement for `rows` rows; built once per size (the store's connection caches what it prepares). */
  private statement(rows: number): string {
    let text = this.statements.get(rows);
    if (text === undefined) {
      let n = 0;
      const next = this.engine === 'mssql' ? () => `@${++n}` : () => '?';
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) tuples.push(this.tuple(next));
      text = `${this.head} values ${tuples.join(',')}`;
      if (rows === this.perStatement) this.statements.set(rows, text);
    }
    return text;
  }
}
