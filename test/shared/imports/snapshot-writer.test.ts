import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnapshotWriter } from '../../../shared/imports/snapshot-writer.js';
import { attributeLayout, attributesOf, attributesText } from '../../../shared/store/record-attributes.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

const PARTY = 'la-housing';
const DATASET = 'multiple-disadvantage-indicators';

async function indexes(store: Store): Promise<{ name: string; sql: string }[]> {
  const result = await sql<{ name: string; sql: string }>`
    select name, sql from sqlite_master
    where type = 'index' and tbl_name in ('source_record', 'record_identifier') and sql is not null
    order by name`.execute(store.db);
  return result.rows;
}

/** Writes a snapshot of `rows` records (one NHS hash each) for `party`; `fail` throws before the commit. */
async function writeSnapshot(store: Store, party: string, rows: number, fail = false): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    const snapshot = {
      runId: `${party}-run`,
      partyId: party,
      datasetId: DATASET,
      asOf: '2026-01-01',
      keyVersion: 'v1',
    };
    const writer = new SnapshotWriter(trx, store, snapshot);
    await writer.deletePrevious();
    for (let row = 2; row < rows + 2; row++) {
      const id = `${party}-run:${String(row).padStart(10, '0')}`;
      writer.addRecord([id, row, 'ANA', 'SMITH', 'ANA', '1990-01-02', 'SW1A 1AA', null, '{}']);
      writer.addIdentifier([id, 'nhs', `${party}-${row}`.padEnd(64, '0')]);
      await writer.flush();
    }
    if (fail) throw new Error('load failed');
    await writer.finish();
  });
}

async function countOf(store: Store, party: string): Promise<number> {
  const row = await store.db
    .selectFrom('source_record')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('party_id', '=', party)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('SnapshotWriter on SQLite', () => {
  let store: Store;
  let before: { name: string; sql: string }[];

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-writer-')), 'store.db') });
    await migrateToLatest(store);
    before = await indexes(store);
  });
  afterEach(async () => {
    await store.close();
  });

  it('leaves every index in place after a big snapshot, and lookups by hash and name find its rows', async () => {
    await writeSnapshot(store, PARTY, 30_000);
    expect(await indexes(store)).toEqual(before);
    expect(await countOf(store, PARTY)).toBe(30_000);
    const plan = await sql<{ detail: string }>`
      explain query plan select record_id from record_identifier where kind = 'nhs' and hash = ${`${PARTY}-12345`.padEnd(64, '0')}`.execute(
      store.db,
    );
    expect(plan.rows.map((r) => r.detail).join(' ')).toContain('record_identifier_lookup');
    const found = await store.db
      .selectFrom('record_identifier')
      .select('record_id')
      .where('kind', '=', 'nhs')
      .where('hash', '=', `${PARTY}-12345`.padEnd(64, '0'))
      .execute();
    expect(found).toEqual([{ record_id: `${PARTY}-run:0000012345` }]);
  });

  it('a big snapshot that fails leaves the previous snapshot and every index as they were', async () => {
    await writeSnapshot(store, PARTY, 100);
    await expect(writeSnapshot(store, PARTY, 30_000, true)).rejects.toThrow('load failed');
    expect(await indexes(store)).toEqual(before);
    expect(await countOf(store, PARTY)).toBe(100);
  });

  it('keeps the rows of other snapshots whether or not their indexes are rebuilt', async () => {
    await writeSnapshot(store, 'other-party', 25_000);
    await writeSnapshot(store, PARTY, 21_000);
    await writeSnapshot(store, PARTY, 30_000);
    expect(await indexes(store)).toEqual(before);
    expect(await countOf(store, 'other-party')).toBe(25_000);
    expect(await countOf(store, PARTY)).toBe(30_000);
  });
});

describe('attributesText', () => {
  it('writes what JSON.stringify writes for the layout id and the values in order, and reads back as the non-empty values by name', () => {
    const value = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const name = fc.stringMatching(/^[a-z][A-Za-z0-9]{0,20}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 15 }), (pairs) => {
        // The row holds the values in another order than the layout's names, as a file's columns may.
        const row = [...pairs].reverse().map(([, v]) => v);
        const layout = attributeLayout(pairs.map(([n]) => n));
        const text = attributesText(
          layout.id,
          pairs.map((_, i) => pairs.length - 1 - i),
          row,
        );
        expect(text).toBe(JSON.stringify([layout.id, ...pairs.map(([, v]) => v)]));
        const expected: Record<string, unknown> = {};
        for (const [n, v] of pairs) if (v !== null) expected[n] = JSON.parse(JSON.stringify(v));
        expect(attributesOf(JSON.parse(text), (id) => (id === layout.id ? layout.names : undefined))).toEqual(expected);
      }),
    );
  });
});
