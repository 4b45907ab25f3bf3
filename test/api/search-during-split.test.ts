import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { accessesToPerson, auditScope } from '../../shared/audit/dpo-views.js';
import { atConsentCheck, commitRecordMove } from '../support/pass-at-consent-check.js';
import { consentToResearch, dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A search for Sam straddling a pass that splits Sam out of the person he shared with his
 * namesake Samuel (consents detached at the split, as carry-consents.ts does). The pass commits,
 * deterministically, at the search's consent check (between match and view).
 */
describe('a search straddling a split, refused on consent', () => {
  let t: TestHost;
  const research = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("does not log the search for Sam against Samuel, nor show it in Samuel's SAR", async () => {
    const s = t.host.services;
    const sam = { givenName: 'Sam', familyName: 'Archer', dateOfBirth: '1985-01-02' };
    const { recordId: samRecord, personId: p } = await insertRecord(s, dudleyParticipant(sam, '07700 900000'));
    await insertRecord(s, dudleyParticipant({ ...sam, givenName: 'Samuel' }, '07700 911111', p));
    await consentToResearch(t, sam, 'HOS/CONSENT/0043');

    const samId = randomUUID();
    const race = atConsentCheck(s, () =>
      commitRecordMove(s, { recordId: samRecord, from: p, to: samId, keep: [p, samId] }),
    );
    const requestId = randomUUID();
    try {
      await callApi(t, '/v1/people/search', { ...research, body: sam, headers: { 'x-request-id': requestId } });
    } finally {
      race.restore();
    }
    expect(race.reached()).toBe(true);

    const entry = await s.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'reason_code'])
      .where('request_id', '=', requestId)
      .executeTakeFirstOrThrow();
    const scope = auditScope(s.agreements, ['housing-first-research']);
    const samuelSar = await accessesToPerson(s.store, scope, p, { after: 0, limit: 100 });
    const samSar = await accessesToPerson(s.store, scope, samId, { after: 0, limit: 100 });
    // Not Samuel's access: his SAR must not show it.
    expect(entry.subject_ref).not.toBe(p);
    expect(samuelSar.entries.some((e) => e.requestId === requestId)).toBe(false);
    // Logged as the same search made after the pass is (Sam and Samuel now share the names key:
    // ambiguous, no subject), and in Sam's SAR wherever it names him.
    const afterId = randomUUID();
    await callApi(t, '/v1/people/search', { ...research, body: sam, headers: { 'x-request-id': afterId } });
    const after = await s.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'reason_code'])
      .where('request_id', '=', afterId)
      .executeTakeFirstOrThrow();
    expect(entry).toEqual(after);
    expect(samSar.entries.some((e) => e.requestId === requestId)).toBe(entry.subject_ref === samId);
  }, 60_000);
});
