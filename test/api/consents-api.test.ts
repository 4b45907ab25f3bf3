import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Recording and withdrawing consents and opt-outs over real HTTP. Who may write is decided from
 * the agreements before the subject is looked up, so a caller who may not write learns nothing
 * about whether the person is known.
 */
describe('consents API', () => {
  let t: TestHost;
  const known = { nhsNumber: '9434765919' };
  const unknown = { nhsNumber: '9434765870' };

  async function post(party: string, roles: string[], purpose: string, body: unknown) {
    const res = await fetch(`${t.url}/api/v1/consents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await t.token(party, roles)}`,
        'content-type': 'application/json',
        'x-purpose': purpose,
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  const consentEvents = async () =>
    (await t.host.services.store.db.selectFrom('consent_event').select('consent_id').execute()).length;

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Robin',
      familyName: 'Hale',
      dateOfBirth: '2012-05-06',
      identifiers: { nhs: '9434765919' },
      attributes: { childProtection: true },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a caller who may not record alike for a known and an unknown person, and writes nothing', async () => {
    const probes: [string, string[], string, string][] = [
      // A council of another agreement, asking under the social-care agreement's purposes.
      ['kettering-borough-council', ['housing-officer'], 'homelessness-prevention', 'consent'],
      ['kettering-borough-council', ['housing-officer'], 'service-planning', 'opt-out'],
      // A DPO, but of a party to another agreement only.
      ['kettering-borough-council', ['dpo'], 'service-planning', 'opt-out'],
      // A party to the agreement without the DPO role.
      ['la-housing', ['analyst'], 'service-planning', 'opt-out'],
    ];
    for (const [party, roles, purpose, kind] of probes) {
      const where = `${party} ${roles.join()} ${purpose} ${kind}`;
      const before = await consentEvents();
      const forKnown = await post(party, roles, purpose, { kind, subject: known, evidenceRef: 'REF-1' });
      const forUnknown = await post(party, roles, purpose, { kind, subject: unknown, evidenceRef: 'REF-1' });
      expect(forKnown.status, where).toBe(403);
      expect(forKnown.text, where).toBe(forUnknown.text);
      expect(await consentEvents(), where).toBe(before);
    }
  });

  it("lets a DPO of a party to the purpose's agreement record an opt-out, and says no-match for nobody", async () => {
    const recorded = await post('la-housing', ['dpo'], 'service-planning', {
      kind: 'opt-out',
      subject: known,
      evidenceRef: 'DPO/OPTOUT/1',
    });
    expect(recorded.status).toBe(201);
    expect(JSON.parse(recorded.text)).toMatchObject({ kind: 'opt-out', purpose: null, withdrawnAt: null });

    const nobody = await post('la-housing', ['dpo'], 'service-planning', {
      kind: 'opt-out',
      subject: unknown,
      evidenceRef: 'DPO/OPTOUT/2',
    });
    expect(nobody.status).toBe(404);
    expect(JSON.parse(nobody.text)).toMatchObject({ type: 'urn:lintel:problem:no-match' });

    // Only the party that recorded it withdraws it: to a DPO of another party it is unknown.
    const { consentId } = JSON.parse(recorded.text) as { consentId: string };
    const withdraw = async (party: string) =>
      fetch(`${t.url}/api/v1/consents/${consentId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await t.token(party, ['dpo'])}`, 'x-purpose': 'service-planning' },
      });
    const byOther = await withdraw('la-education');
    expect(byOther.status).toBe(404);
    expect(await byOther.json()).toMatchObject({ type: 'urn:lintel:problem:consent-unknown' });
    const byRecorder = await withdraw('la-housing');
    expect(byRecorder.status).toBe(200);
    expect(await byRecorder.json()).toMatchObject({ consentId, withdrawnAt: expect.any(String) });
  });
});
