import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH } from '../shared/agreements/agreement-files.js';
import { insertRecord } from '../support/records.js';
import { callApi, DEMO_CLIENT_IDS, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The Keyways DSA s.9: "may be terminated by any Party after notifying the other Parties in
 * writing"; s.7.1: the data "must not be disclosed to any other third party". Wellingborough
 * has left: the agreement file no longer names it, as a party or as a source of the register.
 * The records its extracts loaded before stay in the store (nothing deletes a former source's
 * records), and they are no longer the agreement's to share: a duplicate check does not name
 * Wellingborough as holding an application, and a lookup does not show its record.
 */
describe('records of a party no longer a source of the dataset', () => {
  let t: TestHost;
  const aisha = { givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '1990-04-12' };
  // A Corby applicant, and a namesake of theirs (the same names and date of birth, another
  // person) whom only Wellingborough's left-over extract holds.
  const bilal = { givenName: 'Bilal', familyName: 'Rahman', dateOfBirth: '1985-02-03' };

  function agreementsWithoutWellingborough(): string {
    return agreementsFolderWith([
      {
        agreement: 'keyways',
        from: '  - { name: Borough Council of Wellingborough, party: wellingborough-borough-council, role: controller }\n',
        to: '',
      },
      {
        agreement: 'keyways',
        from: [
          '  - id: wellingborough-borough-council',
          '    name: Borough Council of Wellingborough',
          '    kind: council',
          '    roles: [housing-officer, senior-officer, dpo]',
          '',
        ].join('\n'),
        to: '',
      },
      KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH,
    ]);
  }

  beforeAll(async () => {
    const clientIds = Object.fromEntries(
      Object.entries(DEMO_CLIENT_IDS).filter(([, party]) => party !== 'wellingborough-borough-council'),
    );
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsWithoutWellingborough(),
      PARTY_CLIENT_IDS: JSON.stringify(clientIds),
    });
    const s = t.host.services;
    const { personId } = await insertRecord(s, {
      partyId: 'corby-borough-council',
      datasetId: 'keyways-housing-register',
      ...aisha,
      attributes: { firstName: 'Aisha', lastName: "O'Connor", address: '1 High Street, Corby' },
    });
    // Loaded while Wellingborough was a party, before it left.
    await insertRecord(s, {
      partyId: 'wellingborough-borough-council',
      datasetId: 'keyways-housing-register',
      personId,
      ...aisha,
      attributes: { firstName: 'Aisha', lastName: "O'Connor", address: '9 Mill Road, Wellingborough' },
    });
    await insertRecord(s, {
      partyId: 'corby-borough-council',
      datasetId: 'keyways-housing-register',
      ...bilal,
      attributes: { firstName: 'Bilal', lastName: 'Rahman', address: '3 Station Road, Corby' },
    });
    await insertRecord(s, {
      partyId: 'wellingborough-borough-council',
      datasetId: 'keyways-housing-register',
      ...bilal,
      attributes: { firstName: 'Bilal', lastName: 'Rahman', address: '4 Mill Road, Wellingborough' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not name the former party as holding an application', async () => {
    const check = await callApi(t, '/v1/duplicate-checks', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'fraud-prevention',
      body: aisha,
    });
    const reasons = await reasonCodesOf(t, 'kettering-borough-council', 'person.duplicate-check');
    expect(check.status, `log: ${reasons.join(', ')} ${check.text}`).toBe(200);
    expect(check.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });
  });

  it("does not show the former party's record in a lookup", async () => {
    const found = await callApi(t, '/v1/people/search', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      body: aisha,
    });
    expect(found.status, found.text).toBe(200);
    const records = found.body.records as { source: string }[];
    expect(records.map((r) => r.source)).toEqual(['corby-borough-council']);
    expect(found.text).not.toMatch(/Mill Road/);
  });

  // Found by a review of 293cf84 beside 37f9994: the records were hidden once a person was
  // found, but still counted as a second person while finding one.
  it("finds a current source's applicant whose only namesake is the former party's record", async () => {
    const found = await callApi(t, '/v1/people/search', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      body: bilal,
    });
    const reasons = await reasonCodesOf(t, 'kettering-borough-council', 'person.search');
    expect(found.status, `log: ${reasons.join(', ')} ${found.text}`).toBe(200);
    expect((found.body.records as { source: string }[]).map((r) => r.source)).toEqual(['corby-borough-council']);
    expect(found.text).not.toMatch(/Mill Road/);
  });

  it("answers a duplicate check about that applicant, not 409 for the former party's namesake", async () => {
    const check = await callApi(t, '/v1/duplicate-checks', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'fraud-prevention',
      body: bilal,
    });
    expect(check.status, check.text).toBe(200);
    expect(check.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });
  });
});
