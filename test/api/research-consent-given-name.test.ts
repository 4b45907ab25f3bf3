import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The Housing First notice: ICF receives a participant's contact details "only ... with informed
 * consent of the individual". A consent is one person's say. Recorded by names and postcode, it
 * found whoever shares the last name and the first three letters of the first name there: Leo's
 * consent went to Leon, held at the same address, and ICF was then shown Leon's telephone number
 * and email though he never agreed.
 */
describe("a research consent recorded by names, for someone else's first name", () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const party = 'dudley-housing-options';
  const dataset = 'housing-first-participant-contacts';
  const byNames = (givenName: string) => ({ givenName, familyName: 'Burns', postcode: 'DY2 7AB' });
  const recordConsent = (givenName: string, evidenceRef: string) =>
    callApi(t, '/v1/consents', {
      party,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: byNames(givenName), evidenceRef },
    });
  const research = (givenName: string) =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: byNames(givenName),
    });

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
    const runId = await extracts.load(party, dataset, 'extract-2026-04-01.csv', [
      'name,telephoneNumber,email,address,caseReference',
      'Leon Burns,07700 900201,leon@example.org,"9 High Street, Dudley, DY2 7AB",HO-21',
      'Mary Ann Holt,07700 900202,mary@example.org,"4 Mill Lane, Dudley, DY2 7AB",HO-22',
    ]);
    await linkAfterImport(extracts.linkDeps(), runId);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  it("does not record Leo's consent against Leon, and ICF is shown nothing of Leon", async () => {
    const leo = await recordConsent('Leo', 'form-21');
    expect(leo.status, leo.text).toBe(404);
    expect(leo.body.type).toBe('urn:lintel:problem:no-match');
    expect(leo.text).not.toMatch(/leon|burns|07700/i);
    expect((await reasonCodesOf(t, party, 'consent.record')).at(-1)).toBe('given-name-differs');

    const shown = await research('Leon');
    expect(shown.status, shown.text).toBe(404);
    expect(shown.text).not.toContain('07700 900201');
  });

  it("records a consent for the participant's own first name, with or without a middle name", async () => {
    expect((await recordConsent('Leon', 'form-21')).status).toBe(201);
    const leon = await research('Leon');
    expect(leon.status, leon.text).toBe(200);
    expect(JSON.stringify(leon.body.records)).toContain('07700 900201');

    const mary = await callApi(t, '/v1/consents', {
      party,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: { givenName: 'Mary', familyName: 'Holt', postcode: 'DY2 7AB' }, evidenceRef: 'form-22' },
    });
    expect(mary.status, mary.text).toBe(201);
  });
});
