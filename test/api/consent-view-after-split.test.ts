import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { consentToResearch, dudleyParticipant, insertRecord, SAM } from '../support/records.js';
import { callApi, startTestHost, withdrawConsent, type TestHost } from '../support/test-host.js';

/**
 * A linking pass that splits a person detaches the consents held for them (carry-consents.ts):
 * no part keeps them, and the party records them again against the person as now found. Read
 * back, such a consent says so, by `detachedAt`: answered in force (`withdrawnAt` null alone),
 * it told Dudley nothing was to do while ICF's lookups that need it were refused.
 */
describe('reading back a consent a linking pass detached by a split', () => {
  let t: TestHost;
  const DUDLEY_OFFICER = { party: 'dudley-housing-options', roles: ['housing-officer'] };
  const ALEX = { givenName: 'Alex', familyName: 'Taylor', dateOfBirth: SAM.dateOfBirth };
  const icfLookup = () =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: SAM,
    });

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers when it was detached, while the lookup that needs it is refused', async () => {
    const s = t.host.services;
    // An earlier pass held Sam and Alex, both in Dudley's Housing First contacts, as one person.
    const { personId } = await insertRecord(s, dudleyParticipant(SAM, '07700 900101'));
    await insertRecord(s, dudleyParticipant(ALEX, '07700 900102', personId));
    const consentId = await consentToResearch(t, SAM, 'HF/CONSENT/SPLIT');
    expect((await icfLookup()).status).toBe(200);
    const inForce = await callApi(t, `/v1/consents/${consentId}`, { ...DUDLEY_OFFICER, method: 'GET' });
    expect(inForce.body).toMatchObject({ withdrawnAt: null });

    // A full linking pass finds Sam and Alex two people: Sam's consent stays with neither.
    await linkPeople(s, 'housing-first-research', 'full');
    const ids = await s.store.db
      .selectFrom('source_record')
      .select('person_id')
      .distinct()
      .where('dataset_id', '=', 'housing-first-participant-contacts')
      .execute();
    expect(ids).toHaveLength(2);
    // Refused for want of the consent: answered as no match (people-api.ts), logged as why.
    const refused = await icfLookup();
    expect(refused.status, refused.text).toBe(404);
    const why = await s.store.db
      .selectFrom('access_log')
      .select(['decision', 'reason_code'])
      .where('request_id', '=', refused.headers.get('x-request-id')!)
      .execute();
    expect(why).toEqual([{ decision: 'deny', reason_code: 'consent-required' }]);

    const read = await callApi(t, `/v1/consents/${consentId}`, { ...DUDLEY_OFFICER, method: 'GET' });
    expect(read.status, read.text).toBe(200);
    expect(read.body, 'the read-back says a detached consent is in force').toEqual({
      ...inForce.body,
      withdrawnAt: null,
      detachedAt: expect.any(String),
      reachesNoOne: true,
    });

    // Withdrawn after, it answers both: it was detached, and withdrawn.
    const withdrawn = await withdrawConsent(t, consentId, { party: 'dudley-housing-options', roles: ['dpo'] });
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(withdrawn.body).toEqual({ ...read.body, withdrawnAt: expect.any(String) });
  });
});
