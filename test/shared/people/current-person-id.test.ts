import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HISTORY_IDS, recordPersonIdMoves } from '../../../shared/linkage/person-id-history.js';
import {
  currentPersonId,
  lastMoveOutCommitted,
  lastMoveOutCommittedIn,
  lastMoveOutTimes,
} from '../../../shared/people/current-person-id.js';
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
      'sqlite',
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

/**
 * When a move out of an id took effect, for a settled answer (settled-answer.ts): its pass's
 * commit, else the time the pass finished its work, else — a move noted before migration 0030,
 * or outside a pass — its stamp; never before the stamp.
 */
describe('lastMoveOutCommitted', () => {
  let store: Store;
  const at = (time: string) => `2026-${time}T00:00:00.000Z`;
  const pass = async (id: string, times: { finished: string | null; committed: string | null }) =>
    store.db
      .insertInto('link_run')
      .values({
        id,
        agreement_id: 'an-agreement',
        kind: 'full',
        started_at: at('01-01'),
        finished_at: times.finished === null ? null : at(times.finished),
        committed_at: times.committed === null ? null : at(times.committed),
        summary: null,
      })
      .execute();
  const move = (from: string, stamped: string, runId?: string) =>
    recordPersonIdMoves(store.db, 'sqlite', [{ from, to: `${from}-to` }], at(stamped), runId);

  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-committed-')), 'c.db') });
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('is the commit of the pass that moved the records, not its stamp', async () => {
    await pass('run-committed', { finished: '01-03', committed: '01-04' });
    await move('committed', '01-02', 'run-committed');
    expect(await lastMoveOutTimes(store, 'committed')).toEqual({ stamped: at('01-02'), committed: at('01-04') });
    expect(await lastMoveOutCommittedIn(store.db, 'committed')).toBe(at('01-04'));
  });

  it('is when the pass finished its work where its commit time was lost, and the stamp where there is no pass', async () => {
    await pass('run-lost', { finished: '01-03', committed: null });
    await move('lost', '01-02', 'run-lost');
    expect(await lastMoveOutCommitted(store, 'lost')).toBe(at('01-03'));
    await move('no-pass', '01-02');
    expect(await lastMoveOutCommitted(store, 'no-pass')).toBe(at('01-02'));
    expect(await lastMoveOutCommitted(store, 'never-moved')).toBe('');
  });

  it("is the latest over the id's moves, each by its own time", async () => {
    // An earlier pass's late commit, then a move with no pass stamped after it; then a pass
    // whose commit comes after both.
    await pass('run-early', { finished: '02-02', committed: '02-05' });
    await move('several', '02-01', 'run-early');
    await move('several', '02-03');
    expect(await lastMoveOutCommitted(store, 'several')).toBe(at('02-05'));
    await pass('run-late', { finished: '02-07', committed: '02-08' });
    await move('several', '02-06', 'run-late');
    expect(await lastMoveOutTimes(store, 'several')).toEqual({ stamped: at('02-06'), committed: at('02-08') });
  });
});
