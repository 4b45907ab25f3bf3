import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  sql,
  MssqlDialect,
  type MssqlDialectConfig,
  type Dialect as KyselyDialect,
  type MigrationResult,
  type MigrationResultSet,
} from 'kysely';
import * as tarn from 'tarn';
import * as tedious from 'tedious';
import { dialectFor, type Dialect, type Engine } from './dialect.js';
import { makeFolder } from '../make-folder.js';
import { keepStatements } from './kept-statements.js';
import { MigrationFailedError } from './migration-failed-error.js';
import { migrationsFor } from './migrations/index.js';
import {
  HoldTrackingSqliteDialect,
  readsOn,
  SqliteReads,
  type ConnectionHold,
  type ReadQueries,
} from './read-queries.js';
import type { Database } from './schema.js';
import { parseSqlConnection } from './sql-connection.js';
import { WalCheckpointer } from './wal-checkpointer.js';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /**
   * SQLite on disk: the store's file, which connections of their own open to read beside the
   * store's (read-queries.ts, snapshot-transaction.ts). Undefined in memory and on SQL Server.
   */
  readonly file?: string;
  /**
   * SQLite on disk: the file that holds the access log (see accessLogFileOf), written by a
   * connection of its own. Undefined in memory and on SQL Server, where the log is a table of the store.
   */
  readonly accessLogFile?: string;
  /** Where lookups run their reads (read-queries.ts): committed data, even during a long transaction on SQLite. */
  readonly reads: ReadQueries;
  /**
   * SQLite: the connection under `db` (and so under its transactions), for the one statement
   * shape kysely cannot pass on — values bound by name beside values bound by position
   * (batched-insert.ts) — and for lookups' reads while no one holds it (read-queries.ts).
   * Undefined on SQL Server.
   */
  readonly sqlite?: SqliteDatabase.Database;
  close(): Promise<void>;
}

export type StoreOptions =
  { engine: 'sqlite'; path: string } | { engine: 'mssql'; connectionString: string; poolMax?: number };

export function openStore(options: StoreOptions): Store {
  const dialect = dialectFor(options.engine);
  // SQLite on disk: the files other threads open (the log's writer, the read connection, the checkpointer).
  const onDisk =
    options.engine === 'sqlite' && options.path !== ':memory:'
      ? { file: options.path, accessLogFile: accessLogFileOf(options.path) }
      : undefined;
  const hold: ConnectionHold = { since: undefined, onRelease: [] };
  let sqlite: SqliteDatabase.Database | undefined;
  let engineDialect: KyselyDialect;
  if (options.engine === 'sqlite') {
    sqlite = sqliteConnection(options.path, onDisk?.accessLogFile);
    engineDialect = new HoldTrackingSqliteDialect({ database: sqlite }, hold);
  } else {
    engineDialect = mssqlDialect(options.connectionString, options.poolMax);
  }
  const db = new Kysely<Database>({ dialect: engineDialect });
  const reads = onDisk && sqlite ? new SqliteReads(sqlite, hold, onDisk.file) : readsOn(db);
  const checkpointer = onDisk ? new WalCheckpointer([onDisk.file, onDisk.accessLogFile]) : undefined;
  return {
    db,
    dialect,
    file: onDisk?.file,
    accessLogFile: onDisk?.accessLogFile,
    reads,
    sqlite,
    close: async () => {
      await checkpointer?.close();
      await reads.close();
      await db.destroy();
    },
  };
}

/**
 * On SQLite the access log lives in a file of its own beside the store, attached to the store's
 * connection as `audit`, so queries name `access_log` as on SQL Server. Why: its writer commits
 * from another connection (sqlite-access-log-writer.ts), and in one file every such commit would
 * discard the store connection's whole page cache, which made each lookup's queries several
 * times slower; a separate file is also never locked by an import's long transaction.
 */
export function accessLogFileOf(path: string): string {
  return path.replace(/(\.db)?$/, '.access-log.db');
}

/** The store's one SQLite connection, set up for the store (attached log, pragmas, statement cache). */
function sqliteConnection(path: string, accessLogFile: string | undefined): SqliteDatabase.Database {
  if (path !== ':memory:') makeFolder(dirname(path));
  const database = new SqliteDatabase(path);
  if (accessLogFile !== undefined) {
    database.prepare('attach database ? as audit').run(accessLogFile);
    database.pragma('audit.synchronous = FULL');
  }
  // WAL lets readers run beside the single writer; synchronous=FULL makes a commit durable
  // before it returns, which the access log promises.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // On disk, a thread of its own checkpoints (wal-checkpointer.ts), not the commit that fills the WAL.
  if (accessLogFile !== undefined) database.pragma('wal_autocheckpoint = 0');
  keepStatements(database);
  return database;
}

const MSSQL_REQUEST_TIMEOUT_MS = 15 * 60 * 1000;

function mssqlDialect(connectionString: string, poolMax = 10): MssqlDialect {
  const { connection, pool } = mssqlConnectionOptions(connectionString, poolMax);
  return new MssqlDialect({
    tarn: { ...tarn, options: pool },
    tedious: { ...tedious, connectionFactory: () => new tedious.Connection(connection) },
  });
}

/** What the store's SQL Server connections and their pool are made with, from the operator's connection string. */
export function mssqlConnectionOptions(
  connectionString: string,
  poolMax = 10,
): { connection: tedious.ConnectionConfiguration; pool: MssqlDialectConfig['tarn']['options'] } {
  const connection = parseSqlConnection(connectionString);
  return {
    connection: {
      server: connection.server,
      authentication: connection.user
        ? { type: 'default', options: { userName: connection.user, password: connection.password } }
        : { type: 'azure-active-directory-default', options: {} },
      options: {
        database: connection.database,
        port: connection.port,
        encrypt: connection.encrypt,
        trustServerCertificate: connection.trustServerCertificate,
        // tedious cuts every statement off at 15 s by default. A snapshot's delete and load, and
        // the linkage pass's application lock (which waits up to 10 minutes, link-people.ts), run
        // longer than that on a big extract; SQLite has no such limit. Bounded, so a statement
        // stuck behind a lock still ends well before the host's function timeout. An operator's
        // Request Timeout stands over it: one whose host allows longer, or wants a stuck
        // statement given up sooner.
        requestTimeout: connection.requestTimeoutMs ?? MSSQL_REQUEST_TIMEOUT_MS,
        ...(connection.connectTimeoutMs !== undefined && { connectTimeout: connection.connectTimeoutMs }),
      },
    },
    pool: {
      min: 0,
      max: poolMax,
      // The pool retries a refused connection until its acquire timeout, 30 s unless set, so a
      // Connect Timeout alone would not bound how long a caller waits for a server that is not
      // there. As in ADO.NET, the Connect Timeout is also how long a caller waits for the pool,
      // which leaves one connection attempt its whole time. The pool also gives up on a connection
      // it is making after 30 s unless set, and starts another: a longer Connect Timeout is its too.
      ...(connection.connectTimeoutMs !== undefined && {
        acquireTimeoutMillis: connection.connectTimeoutMs,
        createTimeoutMillis: connection.connectTimeoutMs,
      }),
    },
  };
}

function migratorFor(store: Store): Migrator {
  return new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrationsFor(store.dialect) },
    migrationTableName: 'lintel_migration',
    migrationLockTableName: 'lintel_migration_lock',
    // SQLite's migrations run inside the transaction migrateToLatest holds.
    disableTransactions: store.sqlite !== undefined,
  });
}

/**
 * Opens a write transaction on the connection, waiting for another connection's to end without
 * blocking the thread (the busy timeout would: a second store on the file in this process could
 * then never finish its own).
 */
async function beginImmediate(sqlite: SqliteDatabase.Database): Promise<void> {
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  sqlite.pragma('busy_timeout = 0');
  try {
    for (;;) {
      try {
        sqlite.exec('begin immediate');
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
        await sleep(MIGRATION_LOCK_RETRY_MS);
      }
    }
  } finally {
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/** How long a host waits for another's migrations of the same SQLite file before it gives up starting. */
const MIGRATION_LOCK_WAIT_MS = 10 * 60_000;
const MIGRATION_LOCK_RETRY_MS = 50;
/**
 * The busy timeout of the store's connections to its file: how long a write waits for another
 * connection's, and a reader of its own (snapshot-transaction.ts) for the file to be readable.
 */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * On SQLite every migration runs in one transaction that holds the database's write lock from
 * its start. Kysely's migrator runs SQLite migrations statement by statement, with no lock: one
 * broken off part-way (a full disk, a killed process) left half a migration applied and
 * unrecorded, on which every later start failed; and two hosts starting together on one file
 * both ran the same migrations (found by a review). SQLite's DDL is transactional; a second
 * host waits for the first's commit, then finds the migrations done.
 */
export async function migrateToLatest(store: Store): Promise<MigrationResult[]> {
  const sqlite = store.sqlite;
  if (sqlite !== undefined) await beginImmediate(sqlite);
  let run: MigrationResultSet | undefined;
  try {
    run = await migratorFor(store).migrateToLatest();
  } finally {
    if (sqlite?.inTransaction) sqlite.exec(run !== undefined && run.error === undefined ? 'commit' : 'rollback');
  }
  const { error, results } = run;
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration ran: the store could not be reached or signed in to, which is no migration's
    // failure, and its error (the driver's or the credential's) is the caller's to name.
    if (failed === undefined) throw error;
    throw new MigrationFailedError(failed, error, refusalReason(error));
  }
  await refuseShadowedAccessLog(store);
  return results ?? [];
}

/** What a statement's refusal says, from the database itself; undefined for any other cause. */
function refusalReason(cause: unknown): string | undefined {
  return cause instanceof SqliteDatabase.SqliteError || cause instanceof tedious.RequestError
    ? cause.message
    : undefined;
}

/**
 * On SQLite an unqualified name finds the store file's own table before the attached log's, so
 * an `access_log` table or view planted in the store file (by anyone who can write it) would
 * show every reader — verification, the DPO's views, the checkpointer — a frozen copy while the
 * log's own thread kept writing the real one. Migration 0009 moved the log out; from then on
 * nothing named `access_log` may stand in the store file, and lintel will not run beside one; nor
 * named `access_log_subject_id` (migration 0050), whose copy would hide entries from a subject
 * access request, nor `access_log_subject_id_filled` (0051), whose copy could say that index
 * filled where it is not.
 */
export class ShadowedAccessLogError extends Error {
  constructor() {
    super('An access_log table or view in the store file hides the access log file: refusing to run');
    this.name = 'ShadowedAccessLogError';
  }
}

export async function refuseShadowedAccessLog(store: Store): Promise<void> {
  if (await accessLogShadowed(store)) throw new ShadowedAccessLogError();
}

/** Whether the store file holds a table or view that hides the log file's (see ShadowedAccessLogError). */
export async function accessLogShadowed(store: Store): Promise<boolean> {
  if (store.dialect.engine !== 'sqlite') return false;
  const attached = await sql<{ name: string }>`select name from pragma_database_list where name = 'audit'`.execute(
    store.db,
  );
  if (attached.rows.length === 0) return false;
  const shadows = await sql<{ name: string }>`
    select name from main.sqlite_master
    where name collate nocase in ('access_log', 'access_log_subject_id', 'access_log_subject_id_filled') and type in ('table', 'view')`.execute(
    store.db,
  );
  return shadows.rows.length > 0;
}

/** Every migration lintel has, in order, with when it was applied to this store (undefined: not yet). */
export async function migrationState(store: Store): Promise<{ name: string; appliedAt: Date | undefined }[]> {
  return (await migratorFor(store).getMigrations()).map((m) => ({ name: m.name, appliedAt: m.executedAt }));
}

export type { Engine };
