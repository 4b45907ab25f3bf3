import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, keywaysAlsoSignedBy } from '../shared/agreements/agreement-files.js';
import { dudleyParticipantsConsenting, namedPeople } from '../support/records.js';
import {
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

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
  const people = namedPeople(['Ida', 'Jon', 'Kit'], 'Reroled', 1978);
  const [ida, jon, kit] = people;
  let ids: Map<string, string>;

  const withdraw = (person: { givenName: string }, roles: string[]) =>
    withdrawConsent(t, ids.get(person.givenName), { party: DUDLEY, roles, purpose: 'research-evaluation' });
  const withdrawReasons = () => reasonCodesOf(t, DUDLEY, 'consent.withdraw');
  const inForce = (person: { givenName: string }) => consentInForce(t, ids.get(person.givenName) ?? '');

  beforeAll(async () => {
    t = await startTestHost();
    ids = await dudleyParticipantsConsenting(t, people, '07700 90020', 'HF/CONSENT/7');
    t = await restartTestHost(t, {
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
        keywaysAlsoSignedBy(DUDLEY, ['dpo']),
      ]),
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
