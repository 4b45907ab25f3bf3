import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterRead, commitRecordMove } from '../support/pass-at-consent-check.js';
import { aishaOnKeyways, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A view by reference whose person a linking pass merges into another id while it is answered:
 * the pass commits at each of the view's reads in turn. A reference followed after a merge shows
 * the person under the id their records hold now (currentPersonId); one followed during it
 * should not answer that nobody matched.
 */
describe('a view by reference straddling a merge', () => {
  let t: TestHost;
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the person under the id they were merged into, at any read the merge commits', async () => {
    const s = t.host.services;
    const answers: { status: number; type: unknown; entries: string[]; corby: boolean }[] = [];
    for (let nth = 1; ; nth++) {
      // Kettering's record of the applicant, referenced by her NI number; Corby's, without it,
      // under another id, which the pass merges Kettering's into.
      const ni = `JG1040${String(nth).padStart(2, '0')}`;
      const { recordId, personId: kettering } = await insertRecord(s, aishaOnKeyways(ni));
      const { personId: corby } = await insertRecord(s, {
        ...aishaOnKeyways(ni),
        partyId: 'corby-borough-council',
        identifiers: {},
        attributes: { firstName: 'Aisha', lastName: "O'Connor", address: `${nth} Corby Road` },
      });
      await s.store.db
        .updateTable('source_record')
        .set({ given_name: `AISHA${nth}` })
        .execute();
      const found = await callApi(t, '/v1/people/search', { ...RP, body: { niNumber: `${ni}A` } });
      expect(found.status, found.text).toBe(200);
      const requestId = randomUUID();
      const race = afterRead(s, nth, () =>
        commitRecordMove(s, { recordId, from: kettering, to: corby, keep: [corby] }),
      );
      let answer;
      try {
        answer = await callApi(t, `/v1/people/${String(found.body.personRef)}`, {
          ...RP,
          headers: { 'x-request-id': requestId },
        });
      } finally {
        race.restore();
      }
      if (!race.reached()) break;
      const entries = await s.store.db
        .selectFrom('access_log')
        .select(['decision', 'reason_code'])
        .where('request_id', '=', requestId)
        .execute();
      answers.push({
        status: answer.status,
        type: answer.body.type,
        entries: entries.map((e) => `${e.decision}:${e.reason_code}`),
        corby: answer.text.includes(`${nth} Corby Road`),
      });
    }
    // Merged at any read up to that of the records: the person under the id merged into, both
    // councils' records. Merged after it (the view's last read, of the moves): the view as read.
    expect(answers.length).toBeGreaterThan(2);
    const merged = { status: 200, type: undefined, entries: ['allow:granted'], corby: true };
    expect(answers.slice(0, -1)).toEqual(answers.slice(0, -1).map(() => merged));
    expect(answers.at(-1)).toMatchObject({ status: 200, entries: ['allow:granted'] });
  }, 120_000);
});
