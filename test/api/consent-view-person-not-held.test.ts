import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { callApi, startTestHost, withdrawConsent, type TestHost } from '../support/test-host.js';

/**
 * A Housing First participant left out of one of Dudley's snapshots, and back in a later one, is
 * a new person (README, "Records are people only once linked"): the consent recorded for them
 * reaches no one, and ICF's lookup is refused for want of it. Read back, it said in force
 * (`withdrawnAt` and `detachedAt` null), so Dudley's officer had no way to see it must be
 * recorded again (found by a defect hunt). A consent whose person is still held, and one
 * withdrawn, read back as before. ICF's reference to her from before stays 404 once she is back,
 * even with her consent recorded again (README, GET /api/v1/people/{personRef}).
 */
describe('reading back a consent whose person no record of its purpose holds', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const party = 'dudley-housing-options';
  const dataset = 'housing-first-participant-contacts';
  const header = 'name,telephoneNumber,email,address,caseReference';
  const HANA = 'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1';
  const KIT = 'Kit Marsh,01384 000002,kit@example.org,2 High Street,HO-2';
  const LEE = 'Lee Orme,01384 000003,lee@example.org,3 High Street,HO-3';
  const DUDLEY_OFFICER = { party, roles: ['housing-officer'] };

  const snapshot = async (fileName: string, rows: string[]) =>
    linkAfterImport(extracts.linkDeps(), await extracts.load(party, dataset, fileName, [header, ...rows]));
  const byCaseReference = (id: string) => ({ systemId: { system: 'case-reference', id } });
  const consentTo = async (caseReference: string) => {
    const recorded = await callApi(t, '/v1/consents', {
      ...DUDLEY_OFFICER,
      purpose: 'research-evaluation',
      body: { subject: byCaseReference(caseReference), evidenceRef: `HF/CONSENT/${caseReference}` },
    });
    expect(recorded.status, recorded.text).toBe(201);
    return recorded.body.consentId as string;
  };
  const ICF = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };
  const icfLookup = (caseReference: string) =>
    callApi(t, '/v1/people/search', { ...ICF, body: byCaseReference(caseReference) });
  const readBack = (consentId: string) => callApi(t, `/v1/consents/${consentId}`, { ...DUDLEY_OFFICER, method: 'GET' });

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  it('says the consent reaches no one once the participant is left out of a snapshot, and after they return', async () => {
    await snapshot('extract-2026-03-01.csv', [HANA, KIT, LEE]);
    const hanas = await consentTo('HO-1');
    const kits = await consentTo('HO-2');
    const lees = await consentTo('HO-3');
    const found = await icfLookup('HO-1');
    expect(found.status).toBe(200);
    const inForce = await readBack(hanas);
    expect(inForce.status, inForce.text).toBe(200);
    expect(inForce.body).toMatchObject({ withdrawnAt: null, detachedAt: null });
    const withdrawn = await withdrawConsent(t, lees, { party, roles: ['dpo'] });
    expect(withdrawn.status, withdrawn.text).toBe(200);

    // Hana is left out of April's snapshot.
    await snapshot('extract-2026-04-01.csv', [KIT, LEE]);
    const whileOut = await readBack(hanas);
    expect(whileOut.status, whileOut.text).toBe(200);
    expect(whileOut.body, 'read back as in force while it reaches no one').toEqual({
      ...inForce.body,
      reachesNoOne: true,
    });
    expect(inForce.body.reachesNoOne, 'read back as reaching no one while Hana was held').toBe(false);

    // Back in May's: a new person, whom the consent does not reach.
    await snapshot('extract-2026-05-01.csv', [HANA, KIT, LEE]);
    const refused = await icfLookup('HO-1');
    expect(refused.status, refused.text).toBe(404);
    const afterReturn = await readBack(hanas);
    expect(afterReturn.body, 'read back as in force while ICF is refused Hana').toEqual(whileOut.body);

    // Kit, held all along: in force, as before; ICF still sees them.
    expect((await icfLookup('HO-2')).status).toBe(200);
    expect((await readBack(kits)).body).toMatchObject({ withdrawnAt: null, detachedAt: null, reachesNoOne: false });
    // Lee's, withdrawn: withdrawn, as before.
    const leesRead = await readBack(lees);
    expect(leesRead.body).toEqual({ ...withdrawn.body, withdrawnAt: expect.any(String), reachesNoOne: false });
    expect(leesRead.body.withdrawnAt).toBe(withdrawn.body.withdrawnAt);

    // The answer names no one: ids and times only, as before.
    for (const answer of [whileOut, afterReturn, leesRead]) expect(answer.text).not.toMatch(/Hana|Lee|HO-/);

    // Her consent recorded again, ICF sees her under a new reference; the one from March names the
    // person id she had then, which no record holds: 404, as for any reference unknown.
    await consentTo('HO-1');
    const foundAgain = await icfLookup('HO-1');
    expect(foundAgain.status, foundAgain.text).toBe(200);
    expect(foundAgain.body.personRef).not.toBe(found.body.personRef);
    const view = (personRef: unknown) => callApi(t, `/v1/people/${personRef as string}`, { ...ICF, method: 'GET' });
    expect((await view(foundAgain.body.personRef)).status).toBe(200);
    const old = await view(found.body.personRef);
    expect(old.status, old.text).toBe(404);
    expect(old.body.type).toBe('urn:lintel:problem:no-match');
  });
});
