import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { insertRecord } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * agreements/README.md, "Grants": a `subjects: with-caller-record` grant answers only about the
 * caller's own subjects (a duplicate check under it answers them as nobody's); another grant the
 * caller holds for the same purpose and action still answers about them, "and only those".
 * Only that grant's datasets name the person's holders (found by a review: the restricted
 * grant's dataset told the caller which services hold someone who is not its subject).
 */
describe('a duplicate check under a restricted grant and an unrestricted one', () => {
  let t: TestHost;

  function agreementsWithSecondDataset(): string {
    return agreementsFolderWith([
      {
        agreement: 'isa',
        from: '\ngrants:\n',
        to: [
          '',
          '  - id: provider-tenancies',
          '    title: Tenancies (test)',
          '    source: test',
          '    sources: [la-housing, social-housing-providers]',
          '    fields:',
          '      - { name: firstName, type: string, classification: display, required: true, description: First name. }',
          '      - { name: lastName, type: string, classification: display, required: true, description: Last name. }',
          '      - { name: dateOfBirth, type: date, classification: display, required: true, description: Date of birth. }',
          '',
          'grants:',
          '  - purpose: tenancy-sustainment',
          '    dataset: multiple-disadvantage-indicators',
          '    roles: [rp-tenancy-officer]',
          '    parties: [social-housing-providers]',
          '    actions: [duplicate-check]',
          '    subjects: with-caller-record',
          '    fields: [firstName]',
          '',
          '  - purpose: tenancy-sustainment',
          '    dataset: provider-tenancies',
          '    roles: [rp-tenancy-officer]',
          '    parties: [social-housing-providers]',
          '    actions: [duplicate-check]',
          '    fields: [firstName]',
          '',
        ].join('\n'),
      },
    ]);
  }

  beforeAll(async () => {
    t = await startTestHost({ AGREEMENTS_DIR: agreementsWithSecondDataset() });
    const s = t.host.services;
    // Known to children's social care (the restricted grant's dataset); the provider holds no record of her there.
    const { personId } = await insertRecord(s, {
      partyId: 'la-childrens-social-care',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Vera',
      familyName: 'Quill',
      dateOfBirth: '1980-02-03',
      attributes: { firstName: 'Vera', lastName: 'Quill', childProtection: true },
    });
    await insertRecord(s, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      personId,
      givenName: 'Vera',
      familyName: 'Quill',
      dateOfBirth: '1980-02-03',
      attributes: { firstName: 'Vera', lastName: 'Quill', inTemporaryAccommodation: true },
    });
    // Held by housing in the unrestricted grant's dataset.
    await insertRecord(s, {
      partyId: 'la-housing',
      datasetId: 'provider-tenancies',
      personId,
      givenName: 'Vera',
      familyName: 'Quill',
      dateOfBirth: '1980-02-03',
      attributes: { firstName: 'Vera', lastName: 'Quill' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("names only the holders the unrestricted grant's dataset answers about", async () => {
    const check = await callApi(t, '/v1/duplicate-checks', {
      party: 'social-housing-providers',
      roles: ['rp-tenancy-officer'],
      purpose: 'tenancy-sustainment',
      body: { givenName: 'Vera', familyName: 'Quill', dateOfBirth: '1980-02-03' },
    });
    const reasons = await reasonCodesOf(t, 'social-housing-providers', 'person.duplicate-check');
    expect(check.status, `log: ${reasons.join(', ')} ${check.text}`).toBe(200);
    // Children's social care holds her only in the dataset whose grant keeps her from this caller.
    expect(check.body).toEqual({ duplicate: true, councils: ['la-housing'] });
    // And the access log names only the dataset that answered.
    const row = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['datasets'])
      .where('party_id', '=', 'social-housing-providers')
      .where('action', '=', 'person.duplicate-check')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(String(row.datasets))).toEqual(['provider-tenancies']);
  });
});
