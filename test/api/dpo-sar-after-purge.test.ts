import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeDroppedDataset } from '../../shared/retention/dropped-datasets.js';
import { agreementsFolderWith, renamedIn } from '../shared/agreements/agreement-files.js';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

const DROPPED = 'multiple-disadvantage-indicators';
const DPO = { party: 'la-housing', roles: ['dpo'] };
const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
const ROBIN_NHS = nhs(6543);

/**
 * The ISA is re-signed with its one dataset under a new id, and an operator purges the records
 * sent under the old one (`npm run purge-dataset`): every record of the child is gone, and only
 * their identifiers' keyed hashes stay, kept for this. A subject access request made afterwards
 * by the NHS number the child's family gives must still find the child, and show who looked and
 * the purge that deleted them: the access log keeps the entries, and the ISA's DPO still searches
 * the dropped dataset (AgreementSet.formerDatasetsOf), its retired hashes included. A reviewer
 * got 404 no-match before the dropped dataset was in the DPO's scope.
 *
 * The re-signing is real: a host on the agreements as signed is stopped, and a second host on
 * the same store (and keys) starts on the re-signed files; the purge runs on the second host's
 * services, as the script does on a store the agreements as deployed describe.
 */
describe('DPO API: a subject access request after a purge of the dataset a re-signing dropped', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const robin = (partyId: string, attributes: Record<string, unknown>, personId?: string) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: DROPPED,
        ...(personId === undefined ? {} : { personId }),
        givenName: 'Robin',
        familyName: 'Purged',
        dateOfBirth: '2012-05-06',
        identifiers: { nhs: ROBIN_NHS },
        attributes: { firstName: 'Robin', lastName: 'Purged', ...attributes },
      });
    const housing = await robin('la-housing', { inTemporaryAccommodation: true });
    await robin('la-childrens-social-care', { childProtection: true }, housing.personId);
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: ROBIN_NHS } })).status).toBe(200);

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([renamedIn('isa', DROPPED, `${DROPPED}-2027`)]),
    });
    const { store, agreements, accessLog, logger } = t.host.services;
    expect(agreements.dataset(DROPPED)).toBeUndefined();
    const summary = await purgeDroppedDataset({ store, agreements, accessLog, logger }, DROPPED);
    expect(summary).toMatchObject({ peopleDeleted: 1, recordsDeleted: 2 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("finds the child by NHS number for the ISA's DPO, with the search and the purge's entry", async () => {
    const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    expect(res.status, res.text).toBe(200);
    const entries = res.body.entries as { action: string; reasonCode?: string; datasets: string[] }[];
    expect(entries.map((e) => e.action)).toContain('person.search');
    expect(entries.filter((e) => e.action === 'retention-delete')).toEqual([
      expect.objectContaining({ datasets: [DROPPED] }),
    ]);
    // The reference leads to the same accesses.
    const byRef = await callApi(t, `/v1/audit/people/${res.body.personRef as string}/accesses`, DPO);
    expect(byRef.status, byRef.text).toBe(200);
    expect((byRef.body.entries as unknown[]).slice(0, entries.length)).toEqual(entries);
  });

  it('does not find the child for the DPO of another agreement', async () => {
    const res = await callApi(t, '/v1/audit/people/accesses', {
      party: 'kettering-borough-council',
      roles: ['dpo'],
      body: { nhsNumber: ROBIN_NHS },
    });
    expect(res.status, res.text).toBe(404);
  });
});
