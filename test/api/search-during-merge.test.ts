import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { accessesToPerson, auditScope } from '../../shared/audit/dpo-views.js';
import { atConsentCheck, commitRecordMove } from '../support/pass-at-consent-check.js';
import { consentToResearch, dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A search that straddles a linking pass which merges the found person into another id (the
 * found id is emptied). The pass is made to commit, deterministically, at the search's consent
 * check (between the match and the view), as test/api/person-view-during-pass.test.ts does.
 * Found by a review: the refusal was logged against the emptied id, out of the person's SAR.
 */
describe('a search straddling a merge', () => {
  let t: TestHost;
  const research = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('logs the search against the person the records are in, and a SAR for that person shows it', async () => {
    const s = t.host.services;
    const sam = { givenName: 'Sam', familyName: 'Mercer', dateOfBirth: '1985-01-02' };
    // Sam under P.
    const { recordId: samRecord, personId: p } = await insertRecord(s, dudleyParticipant(sam, '07700 900000'));
    // Q: two records the pass will find are the same person as Sam (not matched by Sam's query).
    const { personId: q } = await insertRecord(s, dudleyParticipant({ ...sam, givenName: 'Tom' }, '07700 922222'));
    await consentToResearch(t, sam, 'HOS/CONSENT/0042');

    // The merge P -> Q (consents carried as a real pass carries them) commits at the consent check.
    const race = atConsentCheck(s, () => commitRecordMove(s, { recordId: samRecord, from: p, to: q, keep: [q] }));
    const requestId = randomUUID();
    let answer;
    try {
      answer = await callApi(t, '/v1/people/search', {
        ...research,
        body: sam,
        headers: { 'x-request-id': requestId },
      });
    } finally {
      race.restore();
    }
    expect(race.reached()).toBe(true);

    const entry = await s.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    // The request was about Sam, whose records are now under Q; a SAR for Sam must show it.
    const sar = await accessesToPerson(s.store, auditScope(s.agreements, ['housing-first-research']), q, {
      after: 0,
      limit: 100,
    });
    const inSar = sar.entries.some((e) => e.requestId === requestId);
    expect({ status: answer.status, entry, inSar }).toEqual({
      status: 200,
      entry: { subject_ref: q, decision: 'allow', reason_code: 'granted' },
      inSar: true,
    });
  }, 60_000);
});
