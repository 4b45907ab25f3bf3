import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HISTORY_IDS, recordPersonIdMoves } from '../../../shared/linkage/person-id-history.js';
import { currentPersonId } from '../../../shared/people/current-person-id.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { sourceRecordRow } from '../../support/records.js';

describe('currentPersonId', () => {
  let store: Store;
  let rows = 0;
  const holds = (personId: string) =>
    store.db
      .insertInto('source_record')
      .values(sourceRecordRow(`record-${++rows}`, personId))
      .execute();
  const move = (from: string, to: string | string[], at: string) =>
    recordPersonIdMoves(
      store.db,
      (Array.isArray(to) ? to : [to]).map((id) => ({ from, to: id })),
      `2026-${at}T00:00:00.000Z`,
    );

  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-current-')), 'c.db') });
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('is the id itself while a record holds it', async () => {
    await holds('kept');
    await move('kept', 'elsewhere', '01-01');
    expect(await currentPersonId(store, 'kept')).toEqual({ kind: 'current', personId: 'kept' });
  });

  it('follows merges through several ids to the one holding the records', async () => {
    await move('m1', 'm2', '01-01');
    await move('m2', 'm3', '02-01');
    await holds('m3');
    expect(await currentPersonId(store, 'm1')).toEqual({ kind: 'current', personId: 'm3' });
  });

  it('follows only the latest move out of an id whose records came and went more than once', async () => {
    await move('a', 'b', '01-01');
    await move('b', 'a', '02-01');
    await move('a', 'c', '03-01');
    await holds('b'); // b got other records since; a's went to c in March
    await holds('c');
    expect(await currentPersonId(store, 'a')).toEqual({ kind: 'current', personId: 'c' });
  });

  it('names no one when the records went to two people', async () => {
    await move('s', ['s1', 's2'], '01-01');
    await holds('s1');
    await holds('s2');
    expect(await currentPersonId(store, 's')).toEqual({ kind: 'split' });
    // Joined again later: one person once more.
    await store.db.updateTable('source_record').set({ person_id: 's2' }).where('person_id', '=', 's1').execute();
    await move('s1', 's2', '02-01');
    expect(await currentPersonId(store, 's')).toEqual({ kind: 'current', personId: 's2' });
  });

  it('ends on a cycle of moves, and on a chain past the bound, with no one', async () => {
    await move('x', 'y', '01-01');
    await move('y', 'x', '02-01');
    await move('x', 'y', '03-01');
    await move('y', 'x', '04-01');
    expect(await currentPersonId(store, 'x')).toEqual({ kind: 'gone' });
    const chain = Array.from({ length: MAX_HISTORY_IDS + 5 }, (_, i) => `chain-${i}`);
    for (let i = 1; i < chain.length; i++) await move(chain[i - 1]!, chain[i]!, '01-01');
    await holds(chain.at(-1)!);
    expect(await currentPersonId(store, chain[0]!)).toEqual({ kind: 'gone' });
  });
});
