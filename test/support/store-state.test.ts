import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, openStore } from '../../shared/store/database.js';
import { createImportHarness, freshTables, startAfresh } from '../shared/imports/import-harness.js';
import { restoreStoreState, storeState } from './store-state.js';

/**
 * A case that times out keeps running and may hold a transaction open on the shared store's one
 * connection. A reset run inside it would be a savepoint its rollback later undoes, foreign keys
 * still on: the next case would fail on a lock, a foreign key or rows it never wrote. Each reset
 * says what happened instead.
 */
const LEFT_OPEN = /inside a transaction an earlier case left open \(did it time out\?\); this case cannot start afresh/;

describe('a shared store’s reset while an earlier case holds a transaction open', () => {
  it('restoreStoreState refuses, naming the open transaction, and works once it is closed', async () => {
    const store = openStore({
      engine: 'sqlite',
      path: join(mkdtempSync(join(tmpdir(), 'lintel-reset-')), 'lintel.db'),
    });
    try {
      await migrateToLatest(store);
      const migrated = storeState(store);
      store.sqlite!.exec('begin');
      expect(() => restoreStoreState(store, migrated)).toThrow(LEFT_OPEN);
      store.sqlite!.exec('rollback');
      expect(() => restoreStoreState(store, migrated)).not.toThrow();
    } finally {
      await store.close();
    }
  });

  it('startAfresh refuses, naming the open transaction, and works once it is closed', async () => {
    const h = await createImportHarness();
    try {
      const fresh = freshTables(h);
      h.store.sqlite!.exec('begin');
      await expect(startAfresh(h, fresh)).rejects.toThrow(LEFT_OPEN);
      h.store.sqlite!.exec('rollback');
      await expect(startAfresh(h, fresh)).resolves.toBeUndefined();
    } finally {
      await h.close();
    }
  });
});

describe('startAfresh', () => {
  it('takes away a trigger, index and table a case planted, and puts back an index it dropped', async () => {
    const h = await createImportHarness();
    const sqlite = h.store.sqlite!;
    const objects = () =>
      sqlite.prepare(`select type, name from main.sqlite_master order by type, name`).all() as {
        type: string;
        name: string;
      }[];
    try {
      const fresh = freshTables(h);
      const migrated = objects();
      const anIndex = migrated.find((o) => o.type === 'index' && !o.name.startsWith('sqlite_'))!.name;
      sqlite.exec(`create trigger refuse_loaded before update of status on import_run when new.status = 'loaded'
        begin select raise(abort, 'commit refused'); end`);
      sqlite.exec('create table planted (id integer primary key)');
      sqlite.exec('create index planted_run_status on import_run (status)');
      sqlite.exec(`drop index "${anIndex}"`);
      await startAfresh(h, fresh);
      expect(objects()).toEqual(migrated);
    } finally {
      await h.close();
    }
  });
});
