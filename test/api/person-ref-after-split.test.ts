import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A person reference after a linking pass split its person: the pass keeps the id for the
 * largest part (person-ids.ts), so the id is never emptied and viewPerson never sees a split.
 */
describe('a person reference after a linking pass split the person', () => {
  let t: TestHost;
  const DATASET = 'keyways-housing-register';
  const corby = { party: 'corby-borough-council', roles: ['housing-officer'], purpose: 'housing-allocation' };
  const applicant = (firstName: string, extra: Record<string, unknown> = {}) => ({
    firstName,
    lastName: 'Rowe',
    dateOfBirth: '1970-05-06',
    address: `${firstName}'s address`,
    telephoneNumber: `${firstName}-PHONE`,
    ...extra,
  });

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("does not show another person's records by a reference issued for the part that left", async () => {
    const s = t.host.services;
    // An earlier pass held Lee (Corby) and Leigh (Kettering, Wellingborough) as one person.
    const { personId } = await insertRecord(s, {
      partyId: 'corby-borough-council',
      datasetId: DATASET,
      givenName: 'Lee',
      familyName: 'Rowe',
      dateOfBirth: '1970-05-06',
      attributes: applicant('Lee'),
    });
    for (const partyId of ['kettering-borough-council', 'wellingborough-borough-council']) {
      await insertRecord(s, {
        partyId,
        datasetId: DATASET,
        personId,
        givenName: 'Leigh',
        familyName: 'Rowe',
        dateOfBirth: '1970-05-06',
        identifiers: { ni: 'JG103759' },
        attributes: applicant('Leigh', { nationalInsuranceNumber: 'JG103759A' }),
      });
    }
    // Corby's officer looks up its own applicant, Lee, and keeps the reference.
    const found = await callApi(t, '/v1/people/search', {
      ...corby,
      body: { givenName: 'Lee', familyName: 'Rowe', dateOfBirth: '1970-05-06' },
    });
    expect(found.status).toBe(200);
    expect(found.text).toContain('Lee-PHONE');

    // A full linking pass finds Lee and Leigh two people (no key links them).
    await linkPeople(s, 'keyways-housing-allocation', 'full');
    const ids = await s.store.db
      .selectFrom('source_record')
      .select(['party_id', 'person_id'])
      .where('dataset_id', '=', DATASET)
      .execute();
    const lee = ids.find((r) => r.party_id === 'corby-borough-council')!.person_id;
    const leigh = ids.find((r) => r.party_id === 'kettering-borough-council')!.person_id;
    expect(lee).not.toBe(leigh);

    // The reference was issued for Lee. It must not now open Leigh, a different person.
    const again = await callApi(t, `/v1/people/${String(found.body.personRef)}`, corby);
    expect(again.text, 'the reference issued for Lee shows Leigh after the split').not.toContain('Leigh-PHONE');
    expect(again.text).not.toContain('JG103759A');
    expect(again.status).toBe(404);

    // Searching again finds Lee alone, and the new reference shows Lee.
    const refound = await callApi(t, '/v1/people/search', {
      ...corby,
      body: { givenName: 'Lee', familyName: 'Rowe', dateOfBirth: '1970-05-06' },
    });
    expect(refound.status).toBe(200);
    const view = await callApi(t, `/v1/people/${String(refound.body.personRef)}`, corby);
    expect(view.status).toBe(200);
    expect(view.text).toContain('Lee-PHONE');
    expect(view.text).not.toContain('Leigh-PHONE');
  });
});
