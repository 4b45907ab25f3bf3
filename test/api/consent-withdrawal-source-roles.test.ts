import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The research agreement is re-signed with Dudley still taking consent for the evaluation, but
 * by other officers: a new `consent-officer` role is the consent source, and the housing officers
 * who took the consents so far are no longer. The participant asks the officer who took their
 * consent to withdraw it. The store keeps no roles of a consent's record, so that the source's
 * roles today were the ones that recorded it cannot be told, any more than when the source moved
 * to another party: the officer must be able to withdraw it, as they could had ICF become the
 * source. Dudley's DPO is left out of the re-signed research agreement (ICF's audits it) and given
 * the role in the Keyways DSA instead: a role counts only in the agreement that gives it, so a client presenting
 * `dpo` is answered that the id is unknown.
 *
 * The re-signing is real: consents are recorded over HTTP by a host on the agreements as they are,
 * which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe('withdrawing a consent once its source is the same party with other roles', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const people = ['Ida', 'Jon', 'Kit'].map((givenName, n) => ({
    givenName,
    familyName: 'Reroled',
    dateOfBirth: `1978-0${n + 1}-01`,
  }));
  const [ida, jon, kit] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
  const ids = new Map<string, string>();

  const withdraw = (person: { givenName: string }, roles: string[]) =>
    callApi(t, `/v1/consents/${ids.get(person.givenName)}`, {
      method: 'DELETE',
      party: DUDLEY,
      roles,
      purpose: 'research-evaluation',
    });
  const withdrawReasons = () => reasonCodesOf(t, DUDLEY, 'consent.withdraw');
  const inForce = async (person: { givenName: string }) =>
    (await t.host.services.consents.find(ids.get(person.givenName) ?? ''))?.withdrawnAt === null;

  beforeAll(async () => {
    t = await startTestHost();
    for (const [n, person] of people.entries()) {
      await insertRecord(t.host.services, dudleyParticipant(person, `07700 90020${n}`));
      const recorded = await callApi(t, '/v1/consents', {
        party: DUDLEY,
        roles: ['housing-officer'],
        purpose: 'research-evaluation',
        body: { subject: person, evidenceRef: 'HF/CONSENT/7' },
      });
      expect(recorded.status, recorded.text).toBe(201);
      ids.set(person.givenName, recorded.body.consentId as string);
    }
    const { SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH } = t.settings;
    await t.stop();
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'housingFirst',
          from: '    roles: [housing-officer, dpo]\n',
          to: '    roles: [housing-officer, consent-officer]\n',
        },
        // The agreement's audit role, held by ICF alone now.
        {
          agreement: 'housingFirst',
          from: '    kind: research\n    roles: [researcher]\n',
          to: '    kind: research\n    roles: [researcher, dpo]\n',
        },
        {
          agreement: 'housingFirst',
          from: '      party: dudley-housing-options\n      roles: [housing-officer]\n',
          to: '      party: dudley-housing-options\n      roles: [consent-officer]\n',
        },
        {
          agreement: 'keyways',
          from: '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n',
          to:
            '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n' +
            '  - id: dudley-housing-options\n    name: Dudley Metropolitan Borough Council - Housing Options and Support\n    kind: council\n    roles: [dpo]\n',
        },
      ]),
      SQLITE_PATH,
      LOCAL_SECRETS_PATH,
      DEV_ISSUER_KEY_PATH,
    });
    expect(t.host.services.agreements.purpose('research-evaluation')?.purpose.consentSource).toMatchObject({
      party: DUDLEY,
      roles: ['consent-officer'],
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('lets the housing officer who took it withdraw it', async () => {
    const before = await withdrawReasons();
    const byOfficer = await withdraw(ida, ['housing-officer']);
    expect(byOfficer.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(byOfficer.body).toMatchObject({ consentId: ids.get('Ida'), withdrawnAt: expect.any(String) });
    expect(await withdrawReasons()).toEqual([...before, 'consent-withdrawn']);
    expect(await inForce(ida)).toBe(false);
  });

  it('lets the new consent officers withdraw it', async () => {
    const byConsentOfficer = await withdraw(jon, ['consent-officer']);
    expect(byConsentOfficer.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce(jon)).toBe(false);
  });

  it('answers a DPO role Dudley holds in another agreement only that the id is unknown', async () => {
    const before = await withdrawReasons();
    const byOtherDpo = await withdraw(kit, ['dpo']);
    expect(byOtherDpo.status).toBe(404);
    expect(byOtherDpo.body.type).toBe('urn:lintel:problem:consent-unknown');
    expect(await withdrawReasons()).toEqual([...before, 'role-not-permitted']);
    expect(await inForce(kit)).toBe(true);
  });
});
