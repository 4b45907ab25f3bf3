import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Dudley's next snapshot holds a participant's case reference on two rows (a keying slip: the
 * second row is someone else). The consent was given by one person; the stranger's contact
 * details must not be shown to ICF under it.
 */
describe('research consent across a Dudley snapshot with a repeated case reference', () => {
  let t: TestHost;
  const dataset = 'housing-first-participant-contacts';
  const party = 'dudley-housing-options';
  const header = 'name,telephoneNumber,email,address,caseReference';
  let extracts: HostExtracts;
  const load = (fileName: string, lines: string[]) => extracts.load(party, dataset, fileName, lines);
  const link = (runId: string) => linkAfterImport(extracts.linkDeps(), runId);

  const lookup = (body: unknown) =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body,
    });

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  it("never shows the stranger's contact details under Hana's consent", async () => {
    const first = await load('extract-2026-03-01.csv', [
      header,
      'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1',
    ]);
    await link(first);
    const recorded = await callApi(t, '/v1/consents', {
      party,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: { systemId: { system: 'case-reference', id: 'HO-1' } }, evidenceRef: 'form-hana' },
    });
    expect(recorded.status).toBe(201);
    const before = await lookup({ systemId: { system: 'case-reference', id: 'HO-1' } });
    expect(before.status).toBe(200);
    const personRef = before.body.personRef as string;

    // The next snapshot: HO-1 twice, the second row someone else.
    const second = await load('extract-2026-04-01.csv', [
      header,
      'Zed Stranger,01384 999999,zed@example.org,9 Low Road,HO-1',
      'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1',
    ]);

    // Straight after the load (before any linking pass has run), a lookup by the case reference.
    const afterLoad = await lookup({ systemId: { system: 'case-reference', id: 'HO-1' } });
    expect.soft(afterLoad.text, 'stranger shown after the load').not.toContain('Zed Stranger');

    await link(second);
    // ICF's earlier reference to Hana, after the linking pass.
    const viewed = await callApi(t, `/v1/people/${personRef}`, {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
    });
    expect
      .soft(viewed.text, 'stranger shown by the earlier person reference after the pass')
      .not.toContain('Zed Stranger');
  });
});

/**
 * Dudley's next snapshot leaves Hana out and keys her case reference HO-1 to someone else. The
 * list gives no date of birth, so his names, which share nothing with hers, are what tells him
 * apart: ICF must be shown nothing of him under her consent, and Dudley's officer reading the
 * consent back sees it reaches no one (she must consent again once she is back).
 */
describe('research consent across a Dudley snapshot keying a case reference to a stranger', () => {
  let t: TestHost;
  const dataset = 'housing-first-participant-contacts';
  const party = 'dudley-housing-options';
  const header = 'name,telephoneNumber,email,address,caseReference';
  const DUDLEY_OFFICER = { party, roles: ['housing-officer'] };
  let extracts: HostExtracts;
  const snapshot = async (fileName: string, lines: string[]) =>
    linkAfterImport(extracts.linkDeps(), await extracts.load(party, dataset, fileName, [header, ...lines]));
  const icf = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };
  const HO_1 = { systemId: { system: 'case-reference', id: 'HO-1' } };

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  it("shows ICF nothing of the stranger under Hana's consent, which reaches no one", async () => {
    await snapshot('extract-2026-03-01.csv', ['Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1']);
    const recorded = await callApi(t, '/v1/consents', {
      ...DUDLEY_OFFICER,
      purpose: 'research-evaluation',
      body: { subject: HO_1, evidenceRef: 'form-hana' },
    });
    expect(recorded.status, recorded.text).toBe(201);
    const before = await callApi(t, '/v1/people/search', { ...icf, body: HO_1 });
    expect(before.status, before.text).toBe(200);
    const personRef = before.body.personRef as string;

    await snapshot('extract-2026-04-01.csv', ['Zed Stranger,01384 999999,zed@example.org,9 Low Road,HO-1']);

    const lookup = await callApi(t, '/v1/people/search', { ...icf, body: HO_1 });
    expect(lookup.text, 'stranger shown by a lookup of the case reference').not.toContain('Zed Stranger');
    expect(lookup.status, lookup.text).toBe(404);
    const viewed = await callApi(t, `/v1/people/${personRef}`, icf);
    expect(viewed.text, 'stranger shown by the earlier person reference').not.toContain('Zed Stranger');
    const readBack = await callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
      ...DUDLEY_OFFICER,
      method: 'GET',
    });
    expect(readBack.status, readBack.text).toBe(200);
    expect(readBack.body.reachesNoOne).toBe(true);
  });
});
