import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { carryConsentEvents, type PersonIdMove } from '../../../shared/consents/carry-consents.js';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { sourceRecordRow } from '../../support/records.js';

const T = new Date('2026-03-02T09:00:00.000Z');
const officer = { partyId: 'dudley-housing-options', clientId: 'officer-client' };

/**
 * carryConsentEvents on its own, with the moves a linking pass would hand it: the shapes of
 * merge and split that real extracts make only with much set-up (split-consents.test.ts has the
 * wrong merge undone end to end).
 */
describe('carrying consents across person-id moves', () => {
  let store: Store;
  let register: StoreConsentRegister;
  let records = 0;

  /** Records holding the person id, as the linker leaves them; none for an id no record holds. */
  const hold = async (personId: string, count = 1) => {
    for (let n = 0; n < count; n++) {
      await store.db
        .insertInto('source_record')
        .values(sourceRecordRow(`record-${++records}`, personId))
        .execute();
    }
  };
  /** A pass: carries, then moves the records (`from` → `to`, all of `from`'s unless `count`). */
  const pass = async (moves: (PersonIdMove & { count?: number })[]) => {
    const after = new Map<string, string>();
    const rows = await store.db.selectFrom('source_record').select(['id', 'person_id']).orderBy('id').execute();
    const left = new Map(moves.map((m) => [m, m.count ?? Infinity]));
    for (const row of rows) {
      const move = moves.find((m) => m.from === row.person_id && left.get(m)! > 0);
      if (move === undefined) continue;
      left.set(move, left.get(move)! - 1);
      after.set(row.id, move.to);
    }
    const held = new Set(rows.map((row) => after.get(row.id) ?? row.person_id!));
    const result = await store.db
      .transaction()
      .execute((trx) => carryConsentEvents(trx, 'sqlite', moves, held, T.toISOString()));
    for (const [id, to] of after) {
      await store.db.updateTable('source_record').set({ person_id: to }).where('id', '=', id).execute();
    }
    return result;
  };
  const consentOf = (subjectKey: string) =>
    register.record({
      subjectKey,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: `form-${subjectKey}`,
      by: officer,
      at: T,
    });
  const consents = (subjectKey: string) => register.currentConsent(subjectKey, 'research-evaluation', T);

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-carry-')), 'lintel.db') });
    await migrateToLatest(store);
    register = new StoreConsentRegister(store);
  });
  afterEach(async () => store.close());

  it('gives a consent to no one when the records of an id that gave way go to two people', async () => {
    await hold('a', 2);
    await hold('b', 2);
    await hold('d', 2);
    const given = await consentOf('a');
    await register.record({ subjectKey: 'a', kind: 'opt-out', purposeId: null, evidenceRef: 'n', by: officer, at: T });

    // One of a's records joins b, the other d: neither is known to be the person who consented.
    const result = await pass([
      { from: 'a', to: 'b', count: 1 },
      { from: 'a', to: 'd', count: 1 },
    ]);
    expect(result).toEqual({ carried: 2, detached: 0 });
    for (const part of ['b', 'd']) {
      expect(await consents(part)).toBe(false);
      expect(await register.isOptedOut(part, T)).toBe(true);
    }
    expect(await register.find(given.consentId)).toMatchObject({ subjectKey: 'a', withdrawnAt: null });
  });

  it('keeps a carried consent detached when the id that held it is merged on', async () => {
    await hold('a');
    await hold('b', 3);
    await hold('d', 5);
    const own = await consentOf('b');
    const given = await consentOf('a');
    expect(await pass([{ from: 'a', to: 'b' }])).toEqual({ carried: 1, detached: 0 });
    expect(await consents('b')).toBe(true);

    // b is split: the part keeping the id keeps neither consent, its own nor a's (nothing tells
    // that the part with most records is the person who gave either).
    expect(await pass([{ from: 'b', to: 'n', count: 1 }])).toEqual({ carried: 0, detached: 2 });
    const standing = await register.subjectsWith('consent', 'research-evaluation');
    expect([...standing].sort()).toEqual(['a']);
    expect(await consents('n')).toBe(false);
    expect(await consents('b')).toBe(false);
    // Detached, not withdrawn: its party can still withdraw it, and a's stands under a.
    expect(await register.find(own.consentId)).toMatchObject({ subjectKey: 'b', withdrawnAt: null });
    await register.withdraw(own.consentId, officer, T);
    expect(await register.find(given.consentId)).toMatchObject({ subjectKey: 'a', withdrawnAt: null });

    // b is then merged into d: d takes a's consent over as detached, so does not hold it either.
    await pass([{ from: 'b', to: 'd' }]);
    expect(await consents('d')).toBe(false);
    expect(await register.subjectsWith('consent', 'research-evaluation')).toEqual(new Set(['a']));
  });
});
