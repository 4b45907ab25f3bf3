import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { MOVE_COMMIT_MARGIN_MS } from '../../shared/people/current-person-id.js';
import { gate } from '../support/gate.js';
import { afterMatch, beforePassCommits } from '../support/pass-at-consent-check.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A lookup that straddles a linking pass is answered again on the people the pass left
 * (settled-answer.ts). Whether a pass committed while the lookup ran was judged by the stamp on
 * its moves, less a margin, but a pass stamps its moves before the rest of its work and its
 * commit: a pass whose stamp-to-commit time outruns the margin (many moves, written in chunks on
 * SQL Server) commits moves whose stamp reads as long settled. Here a real full pass merges
 * Kettering's record of Aisha (id A) into Corby's and Wellingborough's (id B); the clock moves on
 * past the margin between its stamp and its commit, and a search by her NI number matches A
 * before the commit and reads A's records after it.
 */
describe('a search straddling a pass that commits long after stamping its moves', () => {
  let t: TestHost;
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
  const A = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
  const B = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('finds her under the id she was merged into, not "no match" under the id given away', async () => {
    const s = t.host.services;
    await insertRecord(s, { ...aishaOnKeyways(), personId: A });
    for (const partyId of ['corby-borough-council', 'wellingborough-borough-council']) {
      await insertRecord(s, { ...aishaOnKeyways(), partyId, personId: B, identifiers: {} });
    }

    // The clock stands still but where the test moves it, so the pass's stamp and its commit are
    // where the test says.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const matched = gate();
    const committed = gate();
    const requestId = randomUUID();
    let search: Promise<Awaited<ReturnType<typeof callApi>>> | undefined;
    // The search's match returns on the people as last committed, then waits for the commit.
    const race = afterMatch(s, async () => {
      matched.open();
      await committed.opened;
    });
    try {
      const { store, secrets, agreements, logger } = s;
      await beforePassCommits(
        s,
        async () => {
          // The moves are stamped; the pass goes on past the margin before it commits, and the
          // search begins then, matching the people as last committed.
          vi.setSystemTime(Date.now() + MOVE_COMMIT_MARGIN_MS + 30_000);
          search = callApi(t, '/v1/people/search', {
            ...RP,
            body: { niNumber: AISHA_NI },
            headers: { 'x-request-id': requestId },
          });
          await matched.opened;
        },
        () => linkPeople({ store, secrets, agreements, logger }, 'keyways-housing-allocation', 'full'),
      );
      committed.open();
      const answer = await search!;
      expect(race.reached(), 'the search made no match to race').toBe(true);

      const entries = await store.db
        .selectFrom('access_log')
        .select(['subject_ref', 'reason_code'])
        .where('request_id', '=', requestId)
        .execute();
      expect(
        { status: answer.status, entries },
        'answered from the records the merge left under the id given away',
      ).toEqual({ status: 200, entries: [{ subject_ref: B, reason_code: 'granted' }] });
    } finally {
      race.restore();
    }
  }, 60_000);
});
