import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
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
      {
        agreement: 'keyways',
        from: 'sources: [kettering-borough-council, corby-borough-council, wellingborough-borough-council]',
        to: 'sources: [kettering-borough-council, corby-borough-council]',
      },
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
});
