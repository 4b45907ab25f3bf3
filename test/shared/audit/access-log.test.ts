import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessLog, AccessLogUnavailableError, type AccessLogRecord } from '../../../shared/audit/access-log.js';
import { verifyAccessLog } from '../../../shared/audit/verify-log.js';
import { createLogger } from '../../../shared/logging.js';
import { dialectFor } from '../../../shared/store/dialect.js';
import { accessLogFileOf, migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';
import { readsOn } from '../../../shared/store/read-queries.js';
import type { Database } from '../../../shared/store/schema.js';

const record = (n: number): AccessLogRecord => ({
  requestId: `req-${n}`,
  partyId: 'clarion-housing',
  clientId: '00000000-0000-0000-0000-000000000001',
  roles: ['rp-lettings'],
  purpose: 'housing-allocation',
  action: 'person.search',
  subjectRef: n % 2 === 0 ? `subject-${n}` : null,
  datasets: ['housing-register'],
  fields: ['inTemporaryAccommodation'],
  decision: 'allow',
  reasonCode: 'granted',
});

describe('access log on SQLite', () => {
  let store: Store;
  let log: AccessLog;

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-log-')), 'log.db') });
    await migrateToLatest(store);
    log = new AccessLog(store, createLogger('error'));
  });
  afterEach(async () => {
    await store.close();
  });

  it('gives concurrent appends one strict gap-free sequence', async () => {
    const entries = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(record(i))));
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const more = await log.append(record(500));
    expect(more.seq).toBe(501);
    const stored = await store.db.selectFrom('access_log').select(['seq']).orderBy('seq').execute();
    expect(stored.map((r) => Number(r.seq))).toEqual(Array.from({ length: 501 }, (_, i) => i + 1));
  });

  it('refuses UPDATE and DELETE in the database itself', async () => {
    await log.append(record(1));
    await expect(sql`update access_log set decision = 'deny'`.execute(store.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from access_log`.execute(store.db)).rejects.toThrow(/append-only/);
  });

  it('rejects every caller in a batch when the log cannot be written', async () => {
    await sql`drop table access_log`.execute(store.db);
    const results = await Promise.allSettled([log.append(record(1)), log.append(record(2))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AccessLogUnavailableError);
    }
  });
});

const logger = createLogger('error');

/**
 * On SQLite the access log is a file of its own beside the store (lintel.access-log.db), written
 * by its own connection on a worker thread. What an operator and a DPO rely on: the entries are
 * in that file, readable through the store as before, still append-only, and still verify; a
 * store from before the move keeps every entry; and an import's long write transaction does
 * not hold up the log entry of a lookup.
 */
describe('the access log in its own SQLite file', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  const newStore = async (path = join(mkdtempSync(join(tmpdir(), 'lintel-logfile-')), 'lintel.db')) => {
    const store = openStore({ engine: 'sqlite', path });
    open.push(store);
    await migrateToLatest(store);
    return { store, path };
  };

  it('writes entries to lintel.access-log.db, readable through the store and append-only there', async () => {
    const { store, path } = await newStore();
    const log = new AccessLog(store, logger);
    open.push(log);
    await Promise.all([1, 2, 3].map((n) => log.append(record(n))));

    const logFile = accessLogFileOf(path);
    expect(logFile).toBe(path.replace(/\.db$/, '.access-log.db'));
    expect(existsSync(logFile)).toBe(true);
    const direct = new SqliteDatabase(logFile, { readonly: true });
    expect(direct.prepare('select request_id from access_log order by seq').pluck().all()).toEqual([
      'req-1',
      'req-2',
      'req-3',
    ]);
    direct.close();
    const inStore = await store.db.selectFrom('access_log').select('seq').orderBy('seq').execute();
    expect(inStore.map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    const mainTables = await sql<{
      name: string;
    }>`select name from main.sqlite_master where name = 'access_log'`.execute(store.db);
    expect(mainTables.rows).toEqual([]);
    await expect(sql`update access_log set decision = 'deny'`.execute(store.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from access_log`.execute(store.db)).rejects.toThrow(/append-only/);
    expect((await verifyAccessLog(store, [], new Map())).ok).toBe(true);
  });

  it('moves the log of a store made before the move, keeping every entry and its hash', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-logfile-')), 'lintel.db');
    // The layout before: one file, no `audit` attached, the log written on the store's own connection.
    const before = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(path) }) });
    const migrations = migrationsFor(dialectFor('sqlite'));
    const migrator = new Migrator({
      db: before,
      provider: { getMigrations: async () => migrations },
      migrationTableName: 'lintel_migration',
      migrationLockTableName: 'lintel_migration_lock',
    });
    expect((await migrator.migrateTo('0007-linkage')).error).toBeUndefined();
    const oldStore: Store = {
      db: before,
      dialect: dialectFor('sqlite'),
      reads: readsOn(before),
      close: () => before.destroy(),
    };
    const oldLog = new AccessLog(oldStore, logger);
    await Promise.all(Array.from({ length: 25 }, (_, i) => oldLog.append(record(i + 1))));
    const hashesBefore = await before.selectFrom('access_log').select(['seq', 'leaf_hash']).orderBy('seq').execute();
    await oldLog.close();
    await before.destroy();

    const { store } = await newStore(path);
    const hashesAfter = await store.db.selectFrom('access_log').select(['seq', 'leaf_hash']).orderBy('seq').execute();
    expect(hashesAfter).toEqual(hashesBefore);
    expect((await verifyAccessLog(store, [], new Map())).ok).toBe(true);
    const log = new AccessLog(store, logger);
    open.push(log);
    expect((await log.append(record(26))).seq).toBe(26);
    const indexes = await sql<{
      name: string;
    }>`select name from audit.sqlite_master where type in ('index', 'trigger') order by name`.execute(store.db);
    expect(indexes.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'access_log_subject',
        'access_log_client_time',
        'access_log_time',
        // Made after the move (0035), in the log's own file.
        'access_log_request',
        'access_log_no_update',
        'access_log_no_delete',
      ]),
    );
  });

  it("does not wait for an import's write transaction on the store", async () => {
    const { store } = await newStore();
    const log = new AccessLog(store, logger);
    open.push(log);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Holds the store's write lock, as a snapshot load does, until the log entry is durable.
    const importLike = store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('import_run')
        .values({
          id: 'run-1',
          party_id: 'p',
          dataset_id: 'd',
          blob_name: 'b',
          content_sha256: 'x'.repeat(64),
          status: 'loading',
          received_at: new Date().toISOString(),
        })
        .execute();
      await held;
    });
    const entrySeq = (await log.append(record(1))).seq;
    release();
    await importLike;
    expect(entrySeq).toBe(1);
  });
});

describe('access log on SQLite in memory', () => {
  // There the log is written on the store's own connection, whose commit needs no turn of the
  // event loop: the second append is committed before the turn its batch was scheduled for.
  it('closes after appends one after another', async () => {
    const store = openStore({ engine: 'sqlite', path: ':memory:' });
    try {
      await migrateToLatest(store);
      const log = new AccessLog(store, createLogger('error'));
      expect((await log.append(record(1))).seq).toBe(1);
      expect((await log.append(record(2))).seq).toBe(2);
      await log.close();
      expect(await store.db.selectFrom('access_log').select('seq').orderBy('seq').execute()).toEqual([
        { seq: 1 },
        { seq: 2 },
      ]);
    } finally {
      await store.close();
    }
  });
});
