import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A council keys another person's NI number into its record of Carla; linking merges Corby's
 * record of Dan, who holds that number, into Carla's id. The council's next snapshot corrects
 * the number: its record of Carla is dropped and the corrected one, no longer Dan's, is linked on
 * its own. What the RP looked up about Carla before Dan's record came is about Carla alone, and
 * Dan's subject access answer must not show it.
 */
describe('a subject access request after a snapshot corrected the record a wrong merge joined', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
  const dataset = 'keyways-housing-register';
  const head = 'firstName,lastName,dateOfBirth,nationalInsuranceNumber,address';
  const carlaCorrected = 'Carla,Nowak,1988-07-01,JG103999A,"4 Mill Lane, Kettering"';
  const carla = { givenName: 'Carla', familyName: 'Nowak', dateOfBirth: '1988-07-01' };
  const dan = { givenName: 'Dan', familyName: 'Reid', dateOfBirth: '1970-02-02' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const search = async (body: Record<string, unknown>) => {
    const requestId = randomUUID();
    const res = await callApi(t, '/v1/people/search', { ...RP, body, headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    return requestId;
  };
  const shown = (body: Record<string, unknown>) => (body.entries as { requestId: string }[]).map((e) => e.requestId);
  const idsOf = async (givenName: string) =>
    (
      await t.host.services.store.db
        .selectFrom('source_record')
        .select('person_id')
        .distinct()
        .where('given_name', '=', givenName.toUpperCase())
        .execute()
    ).map((r) => r.person_id);

  it('does not show the other person the accesses logged before their record was merged in', async () => {
    // Kettering holds Carla under Dan's NI number (a keying error); Corby holds Dan under his own id.
    const carlaId = `0${randomUUID().slice(1)}`;
    const held = (partyId: string, personId: string, who: typeof carla) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: dataset,
        personId,
        ...who,
        identifiers: { ni: 'JG103753' },
        attributes: { firstName: who.givenName, lastName: who.familyName },
      });
    await held('kettering-borough-council', carlaId, carla);
    const aboutCarla = await search(carla);
    await held('corby-borough-council', `f${randomUUID().slice(1)}`, dan);

    // Linking merges Dan's record into Carla's id by the NI number both hold.
    await linkPeople(extracts.linkDeps(), 'keyways-housing-allocation', 'full');
    expect(await idsOf('Dan')).toEqual([carlaId]);

    // Kettering's next snapshot has Carla's own NI number: she is no longer linked with Dan.
    await linkAfterImport(
      extracts.linkDeps(),
      await extracts.load('kettering-borough-council', dataset, 'extract-2026-12-02.csv', [head, carlaCorrected]),
    );
    expect(await idsOf('Dan')).toEqual([carlaId]);
    expect(await idsOf('Carla')).not.toEqual([carlaId]);

    const dans = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: 'JG103753A' } });
    expect(dans.status).toBe(200);
    expect(shown(dans.body), 'Dan is shown the search made about Carla').not.toContain(aboutCarla);
  }, 60_000);
});
