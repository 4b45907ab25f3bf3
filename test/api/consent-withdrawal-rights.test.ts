import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * UK GDPR Art. 7(3): "It shall be as easy to withdraw as to give consent." A Housing First
 * participant asks Dudley to stop sharing with ICF: they contact Dudley's DPO, or the officer who
 * took their consent. Either must be able to withdraw it, and keep that ability when the agreement
 * is re-signed with someone else taking consent for the evaluation: a consent no one may withdraw
 * goes on releasing the person's contact details to the researchers. Only Dudley, the party that
 * recorded it: to anyone else it stays an unknown id.
 *
 * The re-signing is real: consents are recorded over HTTP by a host on the agreements as they are,
 * which is stopped; a second host on the same store (and keys) starts on the re-signed files,
 * which name ICF's researchers as the consent source (they take consent at interview).
 */
describe('who may withdraw a consent, before and after the agreement is re-signed', () => {
  let t: TestHost;
  const people = ['Ada', 'Ben', 'Cal', 'Dee', 'Eve'].map((givenName, n) => ({
    givenName,
    familyName: 'Withdraws',
    dateOfBirth: `1980-0${n + 1}-01`,
  }));
  const ids = new Map<string, string>();
  const [ada, ben, cal, dee, eve] = people as [
    (typeof people)[0],
    (typeof people)[0],
    (typeof people)[0],
    (typeof people)[0],
    (typeof people)[0],
  ];

  function consentSourceMovedToIcf(): string {
    return agreementsFolderWith([
      {
        agreement: 'housingFirst',
        from: '    consentSource:\n      party: dudley-housing-options\n      roles: [housing-officer]\n',
        to: '    consentSource:\n      party: icf-research\n      roles: [researcher]\n',
      },
    ]);
  }

  const record = (subject: object) =>
    callApi(t, '/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject, evidenceRef: 'HF/CONSENT/1' },
    });
  const withdraw = (person: { givenName: string }, party: string, roles: string[]) =>
    callApi(t, `/v1/consents/${ids.get(person.givenName)}`, {
      method: 'DELETE',
      party,
      roles,
      purpose: 'research-evaluation',
    });
  const researchLookup = (subject: object) =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: subject,
    });
  const withdrawReasons = (party: string) => reasonCodesOf(t, party, 'consent.withdraw');

  beforeAll(async () => {
    t = await startTestHost();
    for (const [n, person] of people.entries()) {
      await insertRecord(t.host.services, dudleyParticipant(person, `07700 90000${n}`));
      const recorded = await record(person);
      expect(recorded.status, recorded.text).toBe(201);
      ids.set(person.givenName, recorded.body.consentId as string);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("lets the recording party's DPO withdraw a consent its housing officer recorded", async () => {
    const before = await withdrawReasons('dudley-housing-options');
    const byDpo = await withdraw(ada, 'dudley-housing-options', ['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons('dudley-housing-options')).join(', ')}`).toBe(200);
    expect(byDpo.body).toMatchObject({ consentId: ids.get('Ada'), withdrawnAt: expect.any(String) });
    expect(await withdrawReasons('dudley-housing-options')).toEqual([...before, 'consent-withdrawn']);
    const lookup = await researchLookup(ada);
    expect(lookup.status).toBe(404);
  });

  it('still does not let the DPO record a consent: recording stays with the consent source', async () => {
    const answer = await callApi(t, '/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['dpo'],
      purpose: 'research-evaluation',
      body: { subject: ada, evidenceRef: 'HF/CONSENT/2' },
    });
    expect(answer.status).toBe(403);
  });

  describe('once the agreement names ICF as the consent source', () => {
    beforeAll(async () => {
      const { SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH } = t.settings;
      await t.stop();
      t = await startTestHost({
        AGREEMENTS_DIR: consentSourceMovedToIcf(),
        SQLITE_PATH,
        LOCAL_SECRETS_PATH,
        DEV_ISSUER_KEY_PATH,
      });
      // The consents recorded before still stand: ICF is sent their contact details.
      expect((await researchLookup(ben)).status).toBe(200);
    });

    it('lets the housing officers who recorded them withdraw them', async () => {
      const before = await withdrawReasons('dudley-housing-options');
      const byOfficer = await withdraw(ben, 'dudley-housing-options', ['housing-officer']);
      expect(byOfficer.status, `log: ${(await withdrawReasons('dudley-housing-options')).join(', ')}`).toBe(200);
      expect(byOfficer.body).toMatchObject({ consentId: ids.get('Ben'), withdrawnAt: expect.any(String) });
      expect(await withdrawReasons('dudley-housing-options')).toEqual([...before, 'consent-withdrawn']);
      expect((await researchLookup(ben)).status).toBe(404);
    });

    it("lets Dudley's DPO withdraw them", async () => {
      const byDpo = await withdraw(cal, 'dudley-housing-options', ['dpo']);
      expect(byDpo.status, `log: ${(await withdrawReasons('dudley-housing-options')).join(', ')}`).toBe(200);
      expect((await researchLookup(cal)).status).toBe(404);
    });

    it('answers the new consent source as an unknown id: it did not record them', async () => {
      const before = await withdrawReasons('icf-research');
      const byIcf = await withdraw(dee, 'icf-research', ['researcher']);
      expect(byIcf.status).toBe(404);
      expect(byIcf.body.type).toBe('urn:lintel:problem:consent-unknown');
      expect(await withdrawReasons('icf-research')).toEqual([...before, 'consent-unknown']);
      expect((await researchLookup(dee)).status).toBe(200);
    });

    it('no longer lets Dudley record one', async () => {
      const answer = await record(eve);
      expect(answer.status).toBe(403);
    });
  });
});
