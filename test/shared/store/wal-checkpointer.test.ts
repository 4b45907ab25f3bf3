import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { WalCheckpointer } from '../../../shared/store/wal-checkpointer.js';
import { sourceRecordRow } from '../../support/records.js';

/**
 * Commits no longer copy the WAL back into the database file themselves (that stalled the commit
 * that crossed the threshold); a thread of the store does, while the store stays open. What an
 * operator notices: the database file takes the committed pages within a second or so, and the
 * WAL does not grow without bound.
 */
describe('WAL checkpoints on their own thread', () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('copies committed pages into the store file while it stays open', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-wal-')), 'lintel.db');
    store = openStore({ engine: 'sqlite', path });
    await migrateToLatest(store);
    await new Promise((r) => setTimeout(r, 500));
    const before = statSync(path).size;
    for (let start = 0; start < 4000; start += 40) {
      await store.db
        .insertInto('source_record')
        .values(
          Array.from({ length: 40 }, (_, i) =>
            sourceRecordRow(`r-${start + i}`, `p-${start + i}`, {
              attributes: JSON.stringify({ note: 'x'.repeat(500) }),
            }),
          ),
        )
        .execute();
    }
    const deadline = Date.now() + 5000;
    while (statSync(path).size < before + 2_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(statSync(path).size).toBeGreaterThan(before + 2_000_000);
  });

  it('flushing a long transaction’s WAL to disk leaves its write lock held against other processes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-wal-')), 'lintel.db');
    store = openStore({ engine: 'sqlite', path });
    await migrateToLatest(store);
    const connection = store.sqlite!;
    connection.exec('begin immediate');
    try {
      // Past the page cache, so the transaction's pages spill into the WAL, past the size the thread flushes from.
      connection.exec(`with recursive n(i) as (select 1 union all select i + 1 from n where i < 30000)
        insert into source_record (id, import_run_id, party_id, dataset_id, row_number, attributes, as_of)
        select 'r-' || i, 'run', 'party', 'dataset', i, hex(randomblob(300)), '2026-01-01' from n`);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(8 * 1024 * 1024);
      // Rounds of the checkpoint thread, each flushing the WAL written since the one before.
      await new Promise((r) => setTimeout(r, 800));
      const other = execFileSync(process.execPath, [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(path)}); db.pragma('busy_timeout = 0');
         try { db.exec('begin immediate'); console.log('locked out: no'); } catch (e) { console.log('locked out: ' + e.code); }`,
      ]).toString();
      expect(other.trim()).toBe('locked out: SQLITE_BUSY');
    } finally {
      connection.exec('rollback');
    }
  });
});

/**
 * Every store starts a checkpoint thread, which from source takes a few tenths of a second to
 * load. A store closed straight after opening (a test, a CLI refusing its arguments, a cold start
 * that fails) stops it where it is rather than waiting for it to load only to be told to close.
 */
describe('a checkpointer closed straight after it starts', () => {
  it('stops its thread before the thread has opened the files it checkpoints', async () => {
    // A file the thread's connection would create on opening it: its absence shows the thread never got that far.
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-wal-')), 'never-opened.db');
    const checkpointer = new WalCheckpointer([path]);
    await checkpointer.close();
    expect(existsSync(path)).toBe(false);
  });
});

describe('a lost checkpoint thread', () => {
  it('is started again, and the WAL is still copied back', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-wal-')), 'log.db');
    const writer = new SqliteDatabase(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('create table t (x text)');
    const checkpointer = new WalCheckpointer([path], 50);
    try {
      // Stopped from outside, as a crash of the thread would stop it.
      await (checkpointer as unknown as { worker: Worker }).worker.terminate();
      const before = statSync(path).size;
      const insert = writer.prepare('insert into t (x) values (?)');
      writer.transaction(() => {
        for (let i = 0; i < 4000; i++) insert.run('x'.repeat(500));
      })();
      const deadline = Date.now() + 5000;
      while (statSync(path).size < before + 1_000_000 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(checkpointer.restarts).toBe(1);
      expect(statSync(path).size).toBeGreaterThan(before + 1_000_000);
    } finally {
      await checkpointer.close();
      writer.close();
    }
  });

  it('does not keep close() waiting when it was lost just before', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-wal-')), 'log.db');
    new SqliteDatabase(path).pragma('journal_mode = WAL');
    const checkpointer = new WalCheckpointer([path], 50);
    await (checkpointer as unknown as { worker: Worker }).worker.terminate();
    await checkpointer.close();
    expect(checkpointer.restarts).toBe(0);
  });
});
