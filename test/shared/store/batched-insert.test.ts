import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchedInsert, type Param } from '../../../shared/store/batched-insert.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

const SHARED = { key_version: 'v7' };
const COLUMNS = ['record_id', 'kind', 'hash'];

/** 1,001 identifiers (more than two full statements), each row's own values only. */
function rows(prefix: string): Param[] {
  const values: Param[] = [];
  for (let i = 0; i < 1001; i++)
    values.push(`${prefix}:${String(i).padStart(10, '0')}`, 'nhs', `h${i}`.padEnd(64, '0'));
  return values;
}

async function stored(store: Store, prefix: string) {
  return store.db
    .selectFrom('record_identifier')
    .selectAll()
    .where('record_id', 'like', `${prefix}:%`)
    .orderBy('record_id')
    .execute();
}

describe('BatchedInsert on SQLite', () => {
  let store: Store;
  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-batched-')), 'store.db') });
    await migrateToLatest(store);
  });
  afterEach(async () => {
    await store.close();
  });

  it('stores the shared values in every row, bound by name on the connection as repeated through kysely', async () => {
    await store.db.transaction().execute(async (trx) => {
      const direct = new BatchedInsert('sqlite', 'record_identifier', COLUMNS, {
        shared: SHARED,
        sqlite: store.sqlite,
      });
      direct.pushRows(rows('direct'));
      await direct.flush(trx, true);
      const viaKysely = new BatchedInsert('sqlite', 'record_identifier', COLUMNS, { shared: SHARED });
      viaKysely.pushRows(rows('kysely'));
      await viaKysely.flush(trx, true);
    });
    const direct = await stored(store, 'direct');
    expect(direct).toHaveLength(1001);
    expect(direct.every((row) => row.key_version === 'v7')).toBe(true);
    expect(direct.map((row) => ({ ...row, record_id: row.record_id.slice(6) }))).toEqual(
      (await stored(store, 'kysely')).map((row) => ({ ...row, record_id: row.record_id.slice(6) })),
    );
  });

  it('without a statement journal, a failed insert still leaves nothing once its transaction rolls back', async () => {
    const duplicated = [...rows('dup'), 'dup:0000000500', 'nhs', 'x'];
    await expect(
      store.db.transaction().execute(async (trx) => {
        const insert = new BatchedInsert('sqlite', 'record_identifier', COLUMNS, {
          shared: SHARED,
          sqlite: store.sqlite,
          rollbackOnError: true,
        });
        insert.pushRows(duplicated);
        await insert.flush(trx, true);
      }),
    ).rejects.toThrow(/UNIQUE/);
    expect(await stored(store, 'dup')).toEqual([]);
  });
});
