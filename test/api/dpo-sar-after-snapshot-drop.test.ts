import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * README: a subject access request lists the accesses to a person "under every person id their
 * records have held since linking merged or split them". A partner's new snapshot that no longer
 * holds the person (their application closed there) changes no one's identity: what was logged
 * about them before it stays theirs, and their answer must not lose it.
 */
describe('a subject access request after a snapshot dropped one of the records the person was first held by', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
  const dataset = 'keyways-housing-register';
  const head = 'firstName,lastName,dateOfBirth,nationalInsuranceNumber,address';
  const dan = 'Dan,Reid,1970-02-02,JG103754A,"9 Mill Lane, Kettering"';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const search = async () => {
    const requestId = randomUUID();
    const res = await callApi(t, '/v1/people/search', {
      ...RP,
      body: { niNumber: 'JG103753A' },
      headers: { 'x-request-id': requestId },
    });
    expect(res.status).toBe(200);
    return requestId;
  };
  const shown = (body: Record<string, unknown>) => (body.entries as { requestId: string }[]).map((e) => e.requestId);
  const carlasIds = async () =>
    (
      await t.host.services.store.db
        .selectFrom('source_record')
        .select('person_id')
        .distinct()
        .where('given_name', '=', 'CARLA')
        .execute()
    ).map((r) => r.person_id);

  it('still shows the accesses logged before another council’s record of them was merged in', async () => {
    // Kettering and Wellingborough hold Carla as one person; Corby then sends her under another id.
    const held = (partyId: string, personId: string) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: dataset,
        personId,
        givenName: 'Carla',
        familyName: 'Nowak',
        dateOfBirth: '1988-07-01',
        identifiers: { ni: 'JG103753' },
        attributes: { firstName: 'Carla', lastName: 'Nowak' },
      });
    const carlaId = randomUUID();
    await held('kettering-borough-council', carlaId);
    await held('wellingborough-borough-council', carlaId);
    const before = await search();
    await held('corby-borough-council', randomUUID());

    // Linking merges Corby's record in: the id two of the three records hold is kept.
    await linkPeople(extracts.linkDeps(), 'keyways-housing-allocation', 'full');
    expect(await carlasIds()).toEqual([carlaId]);
    const since = await search();
    const first = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: 'JG103753A' } });
    expect(shown(first.body)).toEqual([before, since]);
    const personRef = first.body.personRef as string;

    // Her applications at Kettering and Wellingborough closed: their next snapshots no longer
    // have her. Corby's record still holds her id.
    for (const party of ['kettering-borough-council', 'wellingborough-borough-council']) {
      await linkAfterImport(
        extracts.linkDeps(),
        await extracts.load(party, dataset, 'extract-2026-12-02.csv', [head, dan]),
      );
    }
    expect(await carlasIds()).toEqual([carlaId]);

    const byIdentifiers = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: 'JG103753A' } });
    expect(byIdentifiers.status).toBe(200);
    expect(byIdentifiers.body.personRef).toBe(personRef);
    expect(shown(byIdentifiers.body).slice(0, 2), 'the search made before the merge is lost').toEqual([before, since]);
    const byRef = await callApi(t, `/v1/audit/people/${personRef}/accesses`, DPO);
    expect(byRef.status).toBe(200);
    expect(shown(byRef.body).slice(0, 2)).toEqual([before, since]);
  }, 60_000);
});
