import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The ISA re-signed so that the social housing providers no longer supply the rent arrears flag
 * (its `sources` name la-housing alone); they stay a source of the dataset, and still supply the
 * payment plan and eviction flags. Their extracts loaded the arrears flag before: nothing deletes
 * it from the store, and it is no longer the agreement's to share.
 */
describe('a field a re-signing took away from a party that still supplies the dataset', () => {
  let t: TestHost;
  const subject = { givenName: 'Noor', familyName: 'Hallam', dateOfBirth: '1979-05-06' };
  const names = { firstName: 'Noor', lastName: 'Hallam' };

  beforeAll(async () => {
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'isa',
          from: 'sources: [la-housing, social-housing-providers]\n        description: Is in Rent Arrears',
          to: 'sources: [la-housing]\n        description: Is in Rent Arrears',
        },
      ]),
    });
    const { personId } = await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      ...subject,
      attributes: { ...names, inTemporaryAccommodation: true },
    });
    // Loaded while the providers supplied the arrears flag.
    await insertRecord(t.host.services, {
      partyId: 'social-housing-providers',
      datasetId: 'multiple-disadvantage-indicators',
      personId,
      ...subject,
      attributes: { ...names, inRentArrears: true, arrearsPaymentPlanInPlace: false },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("does not show the provider's old arrears flag in a lookup, and still shows what it supplies now", async () => {
    const found = await callApi(t, '/v1/people/search', {
      party: 'la-housing',
      roles: ['housing-officer'],
      purpose: 'homelessness-prevention',
      body: subject,
    });
    expect(found.status, found.text).toBe(200);
    const records = found.body.records as { source: string; fields: Record<string, unknown> }[];
    const provider = records.find((r) => r.source === 'social-housing-providers');
    expect(provider?.fields).toMatchObject({ arrearsPaymentPlanInPlace: false });
    expect(provider?.fields).not.toHaveProperty('inRentArrears');
    expect(records.every((r) => !Object.hasOwn(r.fields, 'inRentArrears'))).toBe(true);
  });
});
