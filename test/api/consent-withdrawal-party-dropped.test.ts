import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, HOUSING_FIRST_WITHOUT_DUDLEY } from '../shared/agreements/agreement-files.js';
import { dudleyParticipantsConsenting, namedPeople } from '../support/records.js';
import {
  callApi,
  clientActivityLines,
  clientIdOf,
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

/**
 * The research agreement is re-signed without Dudley: ICF takes the participants' consents at
 * interview and supplies their contact details itself, and audits the agreement. The file is
 * still there, so the agreement has not ended; Dudley is simply no longer listed. The consents
 * Dudley's officers took stay in force — ICF is still sent those participants' contact details —
 * and a participant may still ask Dudley to withdraw theirs (UK GDPR Art. 7(3)): Dudley's DPO,
 * or the officer who took it, must be able to, as where the agreement's file was removed
 * (consent-withdrawal-agreement-removed.test.ts). The withdrawal is the agreement's, for its
 * DPOs (ICF's now) to read, and may read them back first. Dudley may do nothing else under it: no
 * lookup, no view, no consent recorded, no duplicate check, no reading of the access log.
 *
 * The re-signing is real: the consents are recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files,
 * with Dudley's client id still mapped (PARTY_CLIENT_IDS is not edited when an agreement is).
 */
describe('withdrawing a consent once a re-signing drops the party that recorded it', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const ICF = 'icf-research';
  const people = namedPeople(['Sol', 'Tam', 'Uma'], 'Dropped', 1983);
  const [sol, tam, uma] = people;
  let ids: Map<string, string>;
  let from: string;

  const withdraw = (person: { givenName: string }, party: string, roles: string[]) =>
    withdrawConsent(t, ids.get(person.givenName), { party, roles, purpose: 'research-evaluation' });
  const withdrawReasons = () => reasonCodesOf(t, DUDLEY, 'consent.withdraw');
  const inForce = (person: { givenName: string }) => consentInForce(t, ids.get(person.givenName) ?? '');
  const asDudley = (roles: string[], purpose: string) => ({ party: DUDLEY, roles, purpose });

  beforeAll(async () => {
    t = await startTestHost();
    from = new Date(Date.now() - 1000).toISOString();
    ids = await dudleyParticipantsConsenting(t, people, '07700 90060', 'HF/CONSENT/21');
    t = await restartTestHost(t, { AGREEMENTS_DIR: agreementsFolderWith(HOUSING_FIRST_WITHOUT_DUDLEY) });
    const agreement = t.host.services.agreements.agreement('housing-first-research')?.agreement;
    expect(agreement?.parties.map((p) => p.id)).toEqual([ICF]);
    expect(await inForce(sol)).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("lets Dudley's DPO withdraw it, filed for the agreement's DPOs", async () => {
    const before = await withdrawReasons();
    const byDpo = await withdraw(sol, DUDLEY, ['dpo']);
    expect(byDpo.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(byDpo.body).toMatchObject({
      consentId: ids.get('Sol'),
      purpose: 'research-evaluation',
      withdrawnAt: expect.any(String),
    });
    expect(await withdrawReasons()).toEqual([...before, 'consent-withdrawn']);
    expect(await inForce(sol)).toBe(false);
    expect((await clientActivityLines(t, DUDLEY, ICF, from, 'consent.withdraw')).at(-1)).toBe(
      'consent.withdraw research-evaluation consent-withdrawn 1',
    );
  });

  it('lets the housing officer who took it withdraw it', async () => {
    const byOfficer = await withdraw(tam, DUDLEY, ['housing-officer']);
    expect(byOfficer.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce(tam)).toBe(false);
  });

  it('lets Dudley read back a consent it took, as it may withdraw it, and no one else', async () => {
    // Whether it is still in force is what a participant asking Dudley to withdraw it needs told.
    const read = (party: string, roles: string[]) =>
      callApi(t, `/v1/consents/${ids.get(uma.givenName)}`, { party, roles, purpose: 'research-evaluation' });
    const byOfficer = await read(DUDLEY, ['housing-officer']);
    expect(byOfficer.status, byOfficer.text).toBe(200);
    expect(byOfficer.body).toMatchObject({ consentId: ids.get(uma.givenName), withdrawnAt: null });
    expect((await reasonCodesOf(t, DUDLEY, 'consent.view')).at(-1)).toBe('consent-shown');
    expect((await read(ICF, ['researcher', 'dpo'])).status).toBe(404);
  });

  it('answers the new consent source that the id is unknown: it did not record it', async () => {
    const byIcf = await withdraw(uma, ICF, ['researcher', 'dpo']);
    expect(byIcf.status).toBe(404);
    expect(byIcf.body.type).toBe('urn:lintel:problem:consent-unknown');
    expect(await inForce(uma)).toBe(true);
  });

  it('lets Dudley do nothing else: no lookup, view, consent, duplicate check or reading of the log', async () => {
    const roles = ['housing-officer', 'dpo'];
    const search = await callApi(t, '/v1/people/search', { ...asDudley(roles, 'research-evaluation'), body: uma });
    expect(search.status, search.text).toBe(403);
    const view = await callApi(t, `/v1/people/${randomUUID()}`, asDudley(roles, 'research-evaluation'));
    expect(view.status, view.text).toBe(403);
    const record = await callApi(t, '/v1/consents', {
      ...asDudley(roles, 'research-evaluation'),
      body: { subject: uma, evidenceRef: 'HF/CONSENT/22' },
    });
    expect(record.status, record.text).toBe(403);
    const duplicates = await callApi(t, '/v1/duplicate-checks', { ...asDudley(roles, 'fraud-prevention'), body: uma });
    expect(duplicates.status, duplicates.text).toBe(403);
    const to = new Date(Date.now() + 60_000).toISOString();
    const activity = await callApi(t, `/v1/audit/clients/${clientIdOf(ICF)}/activity?from=${from}&to=${to}`, {
      party: DUDLEY,
      roles: ['dpo'],
    });
    expect(activity.status, activity.text).toBe(403);
    expect(await inForce(uma)).toBe(true);
  });
});
