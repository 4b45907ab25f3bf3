import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A person with a national data opt-out whose next snapshot the import cannot follow them
 * through (Housing corrects their NHS number, which contradicts the carry) keeps the opt-out on
 * a plausible successor: their new record gets a new person id holding a copy of it
 * (opt-out-successors.ts). That is no person-id move, so a subject access request under the new
 * id does not show the accesses logged under the earlier one, nor the other way round — and
 * found by a defect hunt, neither answer said that another id may be the same person. Each now
 * names the other in `possiblySamePerson`, by a reference the DPO can follow, and shows only its
 * own id's accesses. The same for a person the opt-out followed into another party's dataset by
 * the keys kept when they left (opt-out-kept-keys.ts).
 */
describe('a subject access request for a person whose opt-out the import carried to a plausible successor', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const dataset = 'multiple-disadvantage-indicators';
  const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation';
  const DPO = { party: 'la-housing', roles: ['dpo'] };
  const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const loadAndLink = async (fileName: string, lines: string[]) =>
    linkAfterImport(extracts.linkDeps(), await extracts.load('la-housing', dataset, fileName, [header, ...lines]));
  type Answer = {
    personRef: string;
    entries: { action: string; decision: string }[];
    possiblySamePerson?: { personRef: string; relation: string; at: string }[];
  };
  const searches = (answer: Answer) =>
    answer.entries.filter((e) => e.action === 'person.search' && e.decision === 'allow').length;
  const requests = (answer: Answer) => answer.entries.filter((e) => e.action === 'audit.person-accesses').length;
  const sarByNhs = async (nhsNumber: string) => {
    const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber } });
    expect(res.status).toBe(200);
    return res.body as unknown as Answer;
  };
  const sarByRef = async (personRef: string) => {
    const res = await callApi(t, `/v1/audit/people/${personRef}/accesses`, DPO);
    expect(res.status).toBe(200);
    return res.body as unknown as Answer;
  };

  it('names the earlier id in the answer under the new one, and the new id in the answer under the earlier one', async () => {
    const before = nhs(6101);
    const corrected = nhs(6201);
    const other = nhs(6301);
    const owen = `Owen,Hart,1970-06-07,ME15 3DE,${other},Y`;
    await loadAndLink('ta-1.csv', [`Jonathan,Smyth,2012-03-04,ME14 1XX,${before},Y`, owen]);
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: before } })).status).toBe(200);
    const optOut = await callApi(t, '/v1/consents', {
      ...DPO,
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: before }, evidenceRef: 'DPO/NDOO/7' },
    });
    expect(optOut.status).toBe(201);
    const earlier = await sarByNhs(before);
    expect(searches(earlier)).toBe(1);
    // Nobody yet (an answer without the list read as none, so that only the carry below decides).
    expect(earlier.possiblySamePerson ?? []).toEqual([]);

    // Housing corrects the NHS number: the carry is contradicted, and the opt-out goes to the
    // record as a plausible successor, under a new person id.
    const beforeCarry = new Date().toISOString();
    await loadAndLink('ta-2.csv', [`Jonathan,Smyth,2012-03-04,ME14 1XX,${corrected},Y`, owen]);
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: corrected } })).status).toBe(200);

    const later = await sarByNhs(corrected);
    expect(later.personRef).not.toBe(earlier.personRef);
    // Its own id's accesses only: a plausible successor may be someone else.
    expect(searches(later)).toBe(1);
    expect(later.possiblySamePerson, 'the answer under the new id gives no hint of the earlier one').toEqual([
      { personRef: earlier.personRef, relation: 'earlier', at: expect.any(String) },
    ]);
    const at = later.possiblySamePerson![0]!.at;
    expect(at >= beforeCarry && at <= new Date().toISOString()).toBe(true);

    // The reference the DPO held from before still reaches the earlier id's accesses, and now
    // names the later id.
    const again = await sarByRef(earlier.personRef);
    expect(searches(again)).toBe(1);
    expect(again.possiblySamePerson).toEqual([{ personRef: later.personRef, relation: 'later', at }]);
    // And the reference given for the later id leads to the later answer, naming the earlier.
    const followed = await sarByRef(later.personRef);
    expect(followed.possiblySamePerson).toEqual([{ personRef: earlier.personRef, relation: 'earlier', at }]);

    // Someone the opt-out never touched is named with no one.
    expect((await sarByNhs(other)).possiblySamePerson).toEqual([]);
  });

  it("names the earlier id when the opt-out followed the person from another party's dataset by the keys kept", async () => {
    const provider = 'social-housing-providers';
    const providerHeader = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears';
    const dana = nhs(6401);
    const hugh = `Hugh,Bell,1965-01-02,ME17 8GH,${nhs(6501)},N`;
    const loadProvider = async (fileName: string, lines: string[]) =>
      linkAfterImport(
        extracts.linkDeps(),
        await extracts.load(provider, dataset, fileName, [providerHeader, ...lines]),
      );
    await loadProvider('rp-1.csv', [`Dana,Price,1988-02-03,ME14 2AB,${dana},Y`, hugh]);
    const optOut = await callApi(t, '/v1/consents', {
      ...DPO,
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: dana }, evidenceRef: 'DPO/NDOO/8' },
    });
    expect(optOut.status).toBe(201);
    // The DPO's own request is logged against her, under the id of the moment.
    const earlier = await sarByNhs(dana);
    // Evicted: the provider's next extract drops her, and her keys are kept (opt-out-kept-keys.ts).
    await loadProvider('rp-2.csv', [hugh]);
    // Housing then has her in temporary accommodation at another address: a new id, the opt-out copied.
    await loadAndLink('ta-3.csv', [`Dana,Price,1988-02-03,ME1 4XY,${dana},Y`]);

    const later = await sarByNhs(dana);
    expect(later.personRef).not.toBe(earlier.personRef);
    expect(requests(later)).toBe(0);
    expect(later.possiblySamePerson).toEqual([
      { personRef: earlier.personRef, relation: 'earlier', at: expect.any(String) },
    ]);
    const followed = await sarByRef(earlier.personRef);
    expect(requests(followed)).toBe(1);
    expect(followed.possiblySamePerson).toEqual([
      { personRef: later.personRef, relation: 'later', at: later.possiblySamePerson![0]!.at },
    ]);
  });
});
