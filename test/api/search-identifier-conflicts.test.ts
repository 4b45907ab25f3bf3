import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord } from '../support/records.js';
import { nhs } from '../support/linked-people.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The caller's own identifiers against the person a lookup finds (both found by a review): an
 * NHS number and a system id that name two people, or an NI number the ISA holds for matching
 * only that is not the namesake's, show nobody; and an identifier of someone the caller may not
 * see changes nothing (found by a review).
 */
describe('a lookup whose identifiers say the person found is someone else', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("does not show the NHS number's person when the system id given names someone else", async () => {
    const annNhs = nhs(123001);
    const isa = 'multiple-disadvantage-indicators';
    const { personId: ann } = await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: isa,
      givenName: 'Ann',
      familyName: 'Lowe',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: annNhs },
      attributes: { firstName: 'Ann', lastName: 'Lowe', inTemporaryAccommodation: true, homeAddress: 'ANN-ADDRESS' },
    });
    // Bea: social care's child SC-77, in temporary accommodation too, no NHS number on record.
    const { personId: bea } = await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: isa,
      givenName: 'Bea',
      familyName: 'Marlow',
      dateOfBirth: '2011-06-06',
      identifiers: { 'system-id:social-care': 'SC-77' } as Record<string, string>,
      attributes: { firstName: 'Bea', lastName: 'Marlow', childProtection: true },
    });
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: isa,
      personId: bea,
      givenName: 'Bea',
      familyName: 'Marlow',
      dateOfBirth: '2011-06-06',
      attributes: { firstName: 'Bea', lastName: 'Marlow', inTemporaryAccommodation: true },
    });
    expect(ann).not.toBe(bea);
    const officer = (body: unknown) =>
      callApi(t, '/v1/people/search', {
        party: 'la-housing',
        roles: ['housing-officer'],
        purpose: 'homelessness-prevention',
        body,
      });
    // Each identifier alone finds its own person.
    expect((await officer({ nhsNumber: annNhs })).status).toBe(200);
    expect((await officer({ systemId: { system: 'social-care', id: 'SC-77' } })).status).toBe(200);
    // Together they name two people: nobody is to be shown.
    const both = await officer({ nhsNumber: annNhs, systemId: { system: 'social-care', id: 'SC-77' } });
    expect(both.text).not.toContain('ANN-ADDRESS');
    expect(both.status, "identifiers naming two people show the first tier's person").toBe(404);
    expect((await reasonCodesOf(t, 'la-housing', 'person.search')).at(-1)).not.toBe('granted');
  });

  it('does not show, at the date-of-birth + names step, someone whose NI number is another', async () => {
    const namesake = { givenName: 'Rhea', familyName: 'Dunmore', dateOfBirth: '1988-03-14' };
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      ...namesake,
      identifiers: { ni: 'JG103765' },
      attributes: {
        firstName: 'Rhea',
        lastName: 'Dunmore',
        dateOfBirth: '1988-03-14',
        inTemporaryAccommodation: true,
        homeAddress: 'NAMESAKE-ADDRESS',
      },
    });
    // The officer's client: same names and birth date, but an NI number of her own.
    const res = await callApi(t, '/v1/people/search', {
      party: 'la-housing',
      roles: ['housing-officer'],
      purpose: 'homelessness-prevention',
      body: { ...namesake, niNumber: 'AB123456C' },
    });
    expect(res.status, "a namesake whose NI number contradicts the caller's is shown").toBe(404);
    expect(res.text).not.toContain('NAMESAKE-ADDRESS');
    expect((await reasonCodesOf(t, 'la-housing', 'person.search')).at(-1)).toBe('identifier-conflict');
  });

  it("answers the provider's own tenant alike whether or not an NHS number it sends is a non-tenant's", async () => {
    const isa = 'multiple-disadvantage-indicators';
    const tenant = { givenName: 'Tom', familyName: 'Ashdown', dateOfBirth: '1979-09-09' };
    const names = { firstName: 'Tom', lastName: 'Ashdown', dateOfBirth: '1979-09-09' };
    const { personId } = await insertRecord(t.host.services, {
      partyId: 'social-housing-providers',
      datasetId: isa,
      ...tenant,
      attributes: { ...names, inRentArrears: true },
    });
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: isa,
      personId,
      ...tenant,
      attributes: { ...names, inTemporaryAccommodation: true },
    });
    // A child children's social care knows, who is no tenant of the provider.
    const childNhs = nhs(456001);
    await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: isa,
      givenName: 'Cara',
      familyName: 'Finch',
      dateOfBirth: '2014-04-04',
      identifiers: { nhs: childNhs },
      attributes: { firstName: 'Cara', lastName: 'Finch', childProtection: true },
    });
    const provider = (nhsNumber: string) =>
      callApi(t, '/v1/people/search', {
        party: 'social-housing-providers',
        roles: ['rp-tenancy-officer'],
        purpose: 'tenancy-sustainment',
        body: { ...tenant, nhsNumber },
      });
    const withUnknownNhs = await provider(nhs(456777));
    const withChildsNhs = await provider(childNhs);
    expect(withUnknownNhs.status).toBe(200);
    expect(
      withChildsNhs.status,
      "an NHS number held only by someone the provider may not see changes the tenant's answer",
    ).toBe(withUnknownNhs.status);
  });
});
