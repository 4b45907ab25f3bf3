import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWithout } from '../shared/agreements/agreement-files.js';
import { dudleyParticipantsConsenting, namedPeople } from '../support/records.js';
import {
  callApi,
  clientActivityLines,
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

/**
 * A consent outlives the agreement it was given under: the Housing First evaluation ends and its
 * agreement file is removed from the folder, not re-signed. Dudley, which took the consents, signs
 * no other agreement. The consents stay in force in the register — a retention pass holds their
 * people whole for them, and were the agreement written back they would release contact details
 * again — so the person may still ask Dudley to withdraw theirs (UK GDPR Art. 7(3)): Dudley's DPO,
 * or the officer who took it, must be able to. With the file gone Dudley was a party to nothing
 * and held no role anywhere, and every withdrawal was answered as an unknown id. To anyone else
 * it stays an unknown id. The withdrawal's access-log entry is the ended agreement's, for
 * Dudley's DPO to read.
 *
 * The ending is real: the consents are recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts without the file.
 */
describe('withdrawing a consent recorded under an agreement whose file was removed', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const people = namedPeople(['Pip', 'Quin', 'Rae'], 'Ended', 1985);
  const [pip, quin, rae] = people;
  let ids: Map<string, string>;
  let from: string;

  const withdraw = (person: { givenName: string }, party: string, roles: string[]) =>
    withdrawConsent(t, ids.get(person.givenName), { party, roles });
  const withdrawReasons = (party: string) => reasonCodesOf(t, party, 'consent.withdraw');
  const inForce = (person: { givenName: string }) => consentInForce(t, ids.get(person.givenName) ?? '');

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    ids = await dudleyParticipantsConsenting(t, people, '07700 90050', 'HF/CONSENT/16');
    t = await restartTestHost(t, { AGREEMENTS_DIR: agreementsFolderWithout(['housingFirst']) });
    expect(t.host.services.agreements.agreement('housing-first-research')).toBeUndefined();
    expect(await inForce(pip)).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("lets Dudley's DPO withdraw it, filed for Dudley's DPO as the ended agreement's", async () => {
    const before = await withdrawReasons(DUDLEY);
    const byDpo = await withdraw(pip, DUDLEY, ['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons(DUDLEY)).join(', ')}`).toBe(200);
    expect(byDpo.body).toMatchObject({
      consentId: ids.get('Pip'),
      purpose: 'research-evaluation',
      withdrawnAt: expect.any(String),
    });
    expect(await withdrawReasons(DUDLEY)).toEqual([...before, 'consent-withdrawn']);
    expect(await inForce(pip)).toBe(false);
    expect((await clientActivityLines(t, DUDLEY, DUDLEY, from)).at(-1)).toBe(
      'consent.withdraw research-evaluation consent-withdrawn 1',
    );
  });

  it('lets the housing officer who took it withdraw it', async () => {
    const byOfficer = await withdraw(quin, DUDLEY, ['housing-officer']);
    expect(byOfficer.status, `log: ${(await withdrawReasons(DUDLEY)).join(', ')}`).toBe(200);
    expect(await inForce(quin)).toBe(false);
  });

  it('lets Dudley read back a consent it took, in force or withdrawn, and no one else', async () => {
    const read = (person: { givenName: string }, party: string, roles: string[]) =>
      callApi(t, `/v1/consents/${ids.get(person.givenName)}`, { party, roles });
    const inForceRead = await read(rae, DUDLEY, ['housing-officer']);
    expect(inForceRead.status, inForceRead.text).toBe(200);
    expect(inForceRead.body).toMatchObject({ consentId: ids.get('Rae'), withdrawnAt: null });
    const withdrawnRead = await read(pip, DUDLEY, ['dpo']);
    expect(withdrawnRead.status, withdrawnRead.text).toBe(200);
    expect(withdrawnRead.body).toMatchObject({ consentId: ids.get('Pip'), withdrawnAt: expect.any(String) });
    expect((await read(rae, 'icf-research', ['researcher'])).status).toBe(404);
  });

  it('answers any other party that the id is unknown, and leaves the consent in force', async () => {
    const byIcf = await withdraw(rae, 'icf-research', ['researcher']);
    expect(byIcf.status).toBe(404);
    expect(byIcf.body.type).toBe('urn:lintel:problem:consent-unknown');
    const byKettering = await withdraw(rae, 'kettering-borough-council', ['dpo', 'housing-officer']);
    expect(byKettering.status).toBe(404);
    expect(await inForce(rae)).toBe(true);
  });
});
