import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Kim is a housing client in temporary accommodation, known to Housing by her NHS number; social
 * care's record of her held no NHS number and joined her by date of birth and names. Social
 * care's next snapshot gives that record an NHS number other than the one Housing holds (its
 * system id unchanged). The import must not carry the record into Kim by its system id: another
 * party's record of her says it is someone else, as the linking pass holds. Carried, Kim's
 * housing officer was answered no-match for her until the pass, which then split the two and
 * gave Housing's unchanged record a new id, so the reference the officer held no longer opened
 * her (found by a defect hunt).
 */
describe("a re-sent record given an NHS number another party's record of its person contradicts", () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const DATASET = 'multiple-disadvantage-indicators';
  const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
  const KIM = nhs(86420);
  const OTHER = nhs(86402);
  const CARE_HEAD = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const search = () => callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: KIM } });

  it('keeps Kim found by her NHS number, and her reference opening her, through the import and the pass', async () => {
    await linkAfterImport(
      extracts.linkDeps(),
      await extracts.load('la-housing', DATASET, 'a.csv', [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears,inTemporaryAccommodation',
        `Kim,Ford,2011-02-03,ME1 1AA,${KIM},Y,Y`,
      ]),
    );
    await linkAfterImport(
      extracts.linkDeps(),
      await extracts.load('la-childrens-social-care', DATASET, 'a.csv', [
        CARE_HEAD,
        'Kim,Ford,2011-02-03,ME1 1AA,,SC-7,Y',
      ]),
    );
    const found = await search();
    expect(found.status, found.text).toBe(200);
    expect(JSON.stringify(found.body), 'social care joined Kim by date of birth and names').toContain(
      'childProtection',
    );
    const ref = found.body.personRef as string;

    const resent = await extracts.load('la-childrens-social-care', DATASET, 'b.csv', [
      CARE_HEAD,
      `Kim,Ford,2011-02-03,ME1 1AA,${OTHER},SC-7,Y`,
    ]);
    const meanwhile = await search();
    expect(meanwhile.status, 'Kim is found before the linking pass').toBe(200);
    expect(meanwhile.body.personRef).toBe(ref);

    await linkAfterImport(extracts.linkDeps(), resent);
    const after = await search();
    expect(after.status, after.text).toBe(200);
    expect(after.body.personRef, 'Kim keeps her person id').toBe(ref);
    expect(JSON.stringify(after.body), "social care's record is someone else's now").not.toContain('childProtection');
    const opened = await callApi(t, `/v1/people/${ref}`, { ...OFFICER, method: 'GET' });
    expect(opened.status, opened.text).toBe(200);
    expect(JSON.stringify(opened.body)).toContain('"source":"la-housing"');
  }, 60_000);
});
