import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { ReadQueryError, SqliteReadThread } from '../../../shared/store/read-queries.js';
import { sourceRecordRow } from '../../support/records.js';

/**
 * On SQLite the lookups' reads (store.reads) go to a connection of their own while a long
 * transaction holds the store's. What a caller notices: a lookup answers from the last committed
 * data while an import's transaction is open, instead of waiting for it to finish; it never
 * sees the import half done.
 */
describe('the store read connection on SQLite', () => {
  let store: Store;
  afterEach(async () => {
    await store?.close();
  });

  const personRecords = (personId: string) =>
    store.reads.execute<{ id: string }>(
      store.db.selectFrom('source_record').select('id').where('person_id', '=', personId).orderBy('id').compile(),
    );

  it('answers from committed data during another transaction, without waiting for it', async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-reads-')), 'lintel.db') });
    await migrateToLatest(store);
    await store.db.insertInto('source_record').values(sourceRecordRow('r1', 'p1')).execute();

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const importLike = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('source_record').values(sourceRecordRow('r2', 'p1')).execute();
      await held;
    });
    // Long enough to be a long transaction rather than a query in passing.
    await new Promise((r) => setTimeout(r, 300));
    const seenDuring = await personRecords('p1');
    release();
    await importLike;

    expect(seenDuring).toEqual([{ id: 'r1' }]);
    expect(await personRecords('p1')).toEqual([{ id: 'r1' }, { id: 'r2' }]);
  });

  it('answers a read that arrives just as a long transaction begins before that transaction ends', async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-reads-')), 'lintel.db') });
    await migrateToLatest(store);
    await store.db.insertInto('source_record').values(sourceRecordRow('r1', 'p1')).execute();

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let began!: () => void;
    const begun = new Promise<void>((r) => (began = r));
    const importLike = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('source_record').values(sourceRecordRow('r2', 'p1')).execute();
      began();
      await held;
    });
    await begun;
    // The transaction is held until the read answers (or, failing, for ten seconds).
    const answered = await Promise.race([
      personRecords('p1'),
      new Promise((r) => setTimeout(() => r('still waiting'), 10_000)),
    ]);
    release();
    await importLike;
    expect(answered).toEqual([{ id: 'r1' }]);
  }, 30_000);

  it('never sees a transaction that has just begun, and never writes', async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-reads-')), 'lintel.db') });
    await migrateToLatest(store);
    await store.db.insertInto('source_record').values(sourceRecordRow('r1', 'p1')).execute();

    // Read in each turn while a short transaction opens, writes and commits beside the reads.
    const seen: string[][] = [];
    const reading = (async () => {
      for (let i = 0; i < 50; i++) {
        seen.push((await personRecords('p1')).map((r) => r.id));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('source_record').values(sourceRecordRow('r2', 'p1')).execute();
      await new Promise((r) => setTimeout(r, 20));
      await trx.insertInto('source_record').values(sourceRecordRow('r3', 'p1')).execute();
    });
    await reading;
    for (const ids of seen) expect([['r1'], ['r1', 'r2', 'r3']]).toContainEqual(ids);

    const write = store.db.insertInto('source_record').values(sourceRecordRow('r4', 'p1')).compile();
    await expect(store.reads.execute(write)).rejects.toThrow(/not a read query/);
    expect(await personRecords('p1')).toEqual([{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }]);
  });

  it('reads on its own thread report a failed query by its code and go on answering', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-reads-')), 'lintel.db');
    store = openStore({ engine: 'sqlite', path });
    await migrateToLatest(store);
    const thread = new SqliteReadThread(path);
    const broken = thread.execute({
      sql: 'select * from no_such_table',
      parameters: [],
      query: undefined as never,
      queryId: undefined as never,
    });
    await expect(broken).rejects.toBeInstanceOf(ReadQueryError);
    await expect(broken).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
    expect(await thread.execute(store.db.selectFrom('source_record').select('id').compile())).toEqual([]);
    await thread.close();
  });
});
