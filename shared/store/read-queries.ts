import { performance } from 'node:perf_hooks';
import type SqliteDatabase from 'better-sqlite3';
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type Kysely } from 'kysely';
import { siblingModule } from '../threads/module-worker.js';
import { RequestWorker } from '../threads/request-worker.js';
import type { Database } from './schema.js';

/**
 * Where the API's lookups run their read queries: a compiled query in, its rows out. Always
 * committed data: never inside a transaction of the caller's.
 */
export interface ReadQueries {
  execute<Row>(query: CompiledQuery<Row>): Promise<Row[]>;
  close(): Promise<void>;
}

/** Reads on the store's own connection or pool (SQL Server, SQLite in memory). */
export function readsOn(db: Kysely<Database>): ReadQueries {
  return {
    execute: async <Row>(query: CompiledQuery<Row>) => (await db.executeQuery(query)).rows,
    close: async () => {},
  };
}

export interface ReadThreadOptions {
  file: string;
  busyTimeoutMs: number;
}

export interface ReadRequest {
  sql: string;
  parameters: readonly unknown[];
}

/** Rows as structured clone delivers them: BLOB columns arrive as Uint8Array, not Buffer. */
export type ReadReply = { ok: true; rows: unknown[] } | { ok: false; code: string };

export class ReadQueryError extends Error {
  constructor(readonly code: string) {
    super(`A read query failed (${code})`);
    this.name = 'ReadQueryError';
  }
}

/** Since when the store's one SQLite connection has been held, while it is (performance.now() ms). */
export interface ConnectionHold {
  since: number | undefined;
  /** Called, and cleared, when the connection is given back. */
  readonly onRelease: (() => void)[];
}

/** SQLite's dialect, noting in `hold` when its single connection is taken and given back. */
export class HoldTrackingSqliteDialect extends SqliteDialect {
  constructor(
    config: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly hold: ConnectionHold,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const hold = this.hold;
    return {
      init: () => driver.init(),
      acquireConnection: async () => {
        const connection = await driver.acquireConnection();
        hold.since = performance.now();
        return connection;
      },
      releaseConnection: async (connection: DatabaseConnection) => {
        hold.since = undefined;
        const waiting = hold.onRelease.splice(0);
        await driver.releaseConnection(connection);
        for (const resume of waiting) resume();
      },
      beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
      commitTransaction: (connection) => driver.commitTransaction(connection),
      rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
      savepoint: (connection, name, compile) => driver.savepoint!(connection, name, compile),
      rollbackToSavepoint: (connection, name, compile) => driver.rollbackToSavepoint!(connection, name, compile),
      releaseSavepoint: (connection, name, compile) => driver.releaseSavepoint!(connection, name, compile),
      destroy: () => driver.destroy(),
    };
  }
}

/** A hold this long is a long transaction (a snapshot load, a linkage pass), not a query. */
const LONG_HOLD_MS = 100;

/**
 * The lookups' reads on SQLite on disk. While the store's own connection is free they run on
 * it at once, synchronously: no transaction can be open on it then, and nothing else can run
 * until the read returns, so it sees exactly the committed data, and a lookup skips Kysely's
 * connection queue and the promises around it (two reads a lookup, on every request). While it
 * is briefly held they wait for it to be free; while a long transaction holds it, they read on a
 * read-only connection of their own on a worker thread ({@link SqliteReadThread}). Why: the one
 * connection is held for the length of every transaction, and a snapshot load or a linkage
 * pass holds it for seconds to minutes, which every lookup had to wait out; in WAL mode a
 * second connection reads the last committed state beside the writer, so lookups go on
 * answering during an import.
 */
export class SqliteReads implements ReadQueries {
  private readonly thread: SqliteReadThread;

  constructor(
    /** The store's connection; its `prepare` keeps statements (database.ts). */
    private readonly connection: SqliteDatabase.Database,
    private readonly hold: ConnectionHold,
    file: string,
  ) {
    this.thread = new SqliteReadThread(file);
  }

  execute<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    if (this.hold.since === undefined) return this.readNow(query);
    return this.whileHeld(query);
  }

  /**
   * A read that finds the connection held waits for it to be given back, but no longer than the
   * hold takes to count as long: a read queued on the connection behind a transaction just begun
   * would wait out the whole snapshot load that turned out to be (found by a review).
   */
  private async whileHeld<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    for (;;) {
      const since = this.hold.since;
      // Checked at the moment of reading: the read runs synchronously, so nothing takes the
      // connection between the check and the read.
      if (since === undefined) return this.readNow(query);
      const held = performance.now() - since;
      if (held >= LONG_HOLD_MS) return this.thread.execute(query);
      await this.releasedOrLong(LONG_HOLD_MS - held);
    }
  }

  private releasedOrLong(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const at = this.hold.onRelease.indexOf(done);
        if (at !== -1) this.hold.onRelease.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.hold.onRelease.push(done);
    });
  }

  private async readNow<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    const statement = this.connection.prepare(query.sql);
    // Only a query that reads may take the connection outside Kysely's queue.
    if (!statement.reader) throw new TypeError('SqliteReads: not a read query');
    return statement.all(query.parameters as unknown[]) as Row[];
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/**
 * Reads on a worker thread with a read-only connection of its own to the store's file: the
 * committed state, whatever transaction the store's connection is in.
 */
export class SqliteReadThread implements ReadQueries {
  private readonly thread: RequestWorker<ReadRequest, ReadReply>;

  constructor(file: string, busyTimeoutMs = 5000) {
    this.thread = new RequestWorker(
      siblingModule('read-thread', import.meta.url),
      { workerData: { file, busyTimeoutMs } satisfies ReadThreadOptions },
      'read',
    );
  }

  async execute<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    const reply = await this.thread.request({ sql: query.sql, parameters: query.parameters });
    if (!reply.ok) throw new ReadQueryError(reply.code);
    return reply.rows as Row[];
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
