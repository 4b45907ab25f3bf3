import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A DPO records a national data opt-out by an NHS number, names and a date of birth, and a UPN.
 * The NHS number is one person's, the names and date of birth another's, and nobody holds the
 * UPN: it is recorded for both people held (opt-out-unsettled-match.test.ts). Found by a defect hunt: the UPN was then
 * dropped, so when education later sent a child's record carrying it, nothing reached it and the
 * child's data went into the curated output despite the objection. The identifiers nobody holds
 * are kept as keyed hashes, as for an opt-out no one's identifiers reach (opt-out-not-held.test.ts).
 */
describe('an unsettled opt-out that also gives an identifier nobody holds', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const dataset = 'multiple-disadvantage-indicators';
  const DPO = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const nhsNumber = nhs(7611);
  const upn = 'H801200001001';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
    await loadAndLink('la-housing', 'ta-1.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
      `Hana,Vale,1980-01-01,ME14 1XX,${nhsNumber},Y`,
      `Ivo,Lark,1975-02-02,ME15 2YY,,Y`,
      `Owen,Hart,1970-06-07,ME15 3DE,${nhs(7612)},N`,
    ]);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const loadAndLink = async (party: string, fileName: string, lines: string[]) =>
    linkAfterImport(extracts.linkDeps(), await extracts.load(party, dataset, fileName, lines));
  const optOut = () =>
    callApi(t, '/v1/consents', {
      ...DPO,
      body: {
        kind: 'opt-out',
        subject: { nhsNumber, givenName: 'Ivo', familyName: 'Lark', dateOfBirth: '1975-02-02', upn },
        evidenceRef: 'DPO/NDOO/11',
      },
    });
  const optedOut = async () => {
    const { services } = t.host;
    const inForce = await services.consents.subjectsWith('opt-out', null);
    const records = await services.store.db
      .selectFrom('source_record')
      .select(['person_id', 'given_name', 'party_id'])
      .where('dataset_id', '=', dataset)
      .execute();
    return Object.fromEntries(
      records.map((r) => [
        `${r.party_id}:${r.given_name?.toUpperCase() ?? ''}`,
        r.person_id !== null && inForce.has(r.person_id),
      ]),
    );
  };

  it('reaches a later record carrying the identifier nobody held, and one withdrawal ends it for all', async () => {
    const recorded = await optOut();
    expect(recorded.status, recorded.text).toBe(201);
    const again = await optOut();
    expect(again.status, 'recorded twice').toBe(200);
    expect(again.body.consentId).toBe(recorded.body.consentId);

    // A child education holds under the UPN alone, and a record of the person held under the NHS number.
    await loadAndLink('la-education', 'pupils-1.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,uniquePupilNumber',
      `Cara,Moss,2014-03-03,ME16 2AA,,${upn}`,
      `Hana,Vale,1980-01-01,ME14 1XX,${nhsNumber},`,
      `Dan,Reed,2013-04-04,ME17 1AB,,`,
    ]);
    expect(await optedOut(), 'the curated output still counts a person the opt-out named').toEqual({
      'la-housing:HANA': true,
      'la-housing:IVO': true,
      'la-housing:OWEN': false,
      'la-education:CARA': true,
      'la-education:HANA': true,
      'la-education:DAN': false,
    });

    const withdrawn = await callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
      ...DPO,
      method: 'DELETE',
    });
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(Object.values(await optedOut()).some(Boolean), 'an opt-out withdrawn still holds data back').toBe(false);
    const kept = await t.host.services.store.db.selectFrom('opt_out_kept_identifier').select('hash').execute();
    expect(kept, 'identifier hashes kept after the withdrawal').toEqual([]);
  });
});
