import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { insertRecord } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * agreements/README.md, "Grants": "A caller holding several roles receives the union of its
 * roles' grants." A `subjects: with-caller-record` grant held through one role answers only
 * about the caller's own subjects; another role's grant without it still answers about anyone
 * (found by a review: holding one more role took away a person the other role alone was shown).
 */
describe('several roles receive the union of their grants', () => {
  let t: TestHost;

  /** The demo agreements, with a second provider role granted names for any subject in scope. */
  function agreementsWithProviderManager(): string {
    return agreementsFolderWith([
      {
        agreement: 'isa',
        from: '    kind: registered-provider\n    roles: [rp-tenancy-officer]\n',
        to: '    kind: registered-provider\n    roles: [rp-tenancy-officer, rp-manager]\n',
      },
      {
        agreement: 'isa',
        from: '  - purpose: service-planning\n    dataset: multiple-disadvantage-indicators\n',
        to: [
          '  - purpose: tenancy-sustainment',
          '    dataset: multiple-disadvantage-indicators',
          '    roles: [rp-manager]',
          '    parties: [social-housing-providers]',
          '    actions: [lookup]',
          '    fields: [firstName, lastName, dateOfBirth, inTemporaryAccommodation]',
          '',
          '  - purpose: tenancy-sustainment',
          '    dataset: multiple-disadvantage-indicators',
          '    roles: [rp-tenancy-officer]',
          '    parties: [social-housing-providers]',
          '    actions: [duplicate-check]',
          '    fields: [firstName]',
          '',
          '  - purpose: service-planning',
          '    dataset: multiple-disadvantage-indicators',
          '',
        ].join('\n'),
      },
    ]);
  }

  beforeAll(async () => {
    t = await startTestHost({ AGREEMENTS_DIR: agreementsWithProviderManager() });
    // In temporary accommodation (so in the joint system's scope); no record of the provider's own.
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Vera',
      familyName: 'Quill',
      dateOfBirth: '1980-02-03',
      attributes: { firstName: 'Vera', lastName: 'Quill', inTemporaryAccommodation: true, inRentArrears: true },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not take away, for a caller with one more role, a person its other role is shown', async () => {
    const lookup = (roles: string[]) =>
      callApi(t, '/v1/people/search', {
        party: 'social-housing-providers',
        roles,
        purpose: 'tenancy-sustainment',
        body: { givenName: 'Vera', familyName: 'Quill', dateOfBirth: '1980-02-03' },
      });
    const managerAlone = await lookup(['rp-manager']);
    expect(managerAlone.status).toBe(200);
    const both = await lookup(['rp-manager', 'rp-tenancy-officer']);
    const reasons = await reasonCodesOf(t, 'social-housing-providers', 'person.search');
    expect(both.status, `log: ${reasons.join(', ')}`).toBe(200);
    // Not the provider's tenant: only the manager's grant answers, with its fields alone.
    const fieldsOf = (body: unknown) =>
      (body as { records: { fields: Record<string, unknown> }[] }).records.flatMap((r) => Object.keys(r.fields)).sort();
    expect(fieldsOf(both.body)).toEqual(fieldsOf(managerAlone.body));
    expect(fieldsOf(both.body)).toEqual(['firstName', 'inTemporaryAccommodation', 'lastName']);
  });

  /**
   * agreements/README.md: "(a duplicate check under such a grant answers them `duplicate: false`,
   * as for a person nobody holds)" — under such a grant, not under a lookup grant's condition.
   */
  it("does not restrict a duplicate check under a grant for every subject by a lookup grant's subjects", async () => {
    const check = await callApi(t, '/v1/duplicate-checks', {
      party: 'social-housing-providers',
      roles: ['rp-tenancy-officer'],
      purpose: 'tenancy-sustainment',
      body: { givenName: 'Vera', familyName: 'Quill', dateOfBirth: '1980-02-03' },
    });
    const reasons = await reasonCodesOf(t, 'social-housing-providers', 'person.duplicate-check');
    expect(check.body, `log: ${reasons.join(', ')}`).toEqual({ duplicate: true, councils: ['la-housing'] });
  });
});
