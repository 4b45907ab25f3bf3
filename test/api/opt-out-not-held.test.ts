import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { answerShape } from '../support/consent-answers.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Any ISA party's DPO records a national data opt-out by NHS number. Found by a defect hunt: the
 * answer was 201 for someone the partnership held and 404 `no-match` for someone it did not, so
 * a DPO of a party with no lookup rights (the school's) learnt whether social care held a child.
 * The opt-out is the person's, held or not: both are answered alike, and the one not held yet
 * reaches their records when their extract arrives.
 */
describe('an opt-out recorded for a person the partnership does not hold', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const dataset = 'multiple-disadvantage-indicators';
  const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation';
  const DPO = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const held = nhs(7101);
  const notHeld = nhs(7201);
  const owen = `Owen,Hart,1970-06-07,ME15 3DE,${nhs(7301)},Y`;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
    await loadAndLink('ta-1.csv', [`Jonathan,Smyth,2012-03-04,ME14 1XX,${held},Y`, owen]);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const loadAndLink = async (fileName: string, lines: string[]) =>
    linkAfterImport(extracts.linkDeps(), await extracts.load('la-housing', dataset, fileName, [header, ...lines]));
  const optOut = (nhsNumber: string) =>
    callApi(t, '/v1/consents', {
      ...DPO,
      body: { kind: 'opt-out', subject: { nhsNumber }, evidenceRef: 'DPO/NDOO/1' },
    });
  const optedOutPeople = async (givenName: string) => {
    const { services } = t.host;
    const optedOut = await services.consents.subjectsWith('opt-out', null);
    const records = await services.store.db
      .selectFrom('source_record')
      .select(['person_id', 'given_name'])
      .where('dataset_id', '=', dataset)
      .execute();
    const people = records.filter((r) => r.given_name?.toUpperCase() === givenName.toUpperCase());
    expect(people.length).toBeGreaterThan(0);
    return people.map((r) => r.person_id !== null && optedOut.has(r.person_id));
  };

  it('answers alike for a person held and one not held, and again alike when recorded twice', async () => {
    const a = await optOut(held);
    const b = await optOut(notHeld);
    expect(a.status, a.text).toBe(201);
    expect(b.status, 'a person not held was told apart from one held').toBe(a.status);
    expect(answerShape(b.body)).toEqual(answerShape(a.body));
    const again = [await optOut(held), await optOut(notHeld)];
    expect(again.map((r) => r.status)).toEqual([200, 200]);
    expect(again[1]!.body.consentId).toBe(b.body.consentId);
  });

  it('applies to the person once their extract arrives, and the recording DPO withdraws it', async () => {
    const recorded = await optOut(notHeld);
    expect(recorded.status).toBe(200);
    await loadAndLink('ta-2.csv', [
      `Jonathan,Smyth,2012-03-04,ME14 1XX,${held},Y`,
      owen,
      `Bea,Lowe,2011-05-06,ME16 2AA,${notHeld},Y`,
    ]);
    expect(await optedOutPeople('Bea'), 'the curated output still counts the person who opted out').toEqual([true]);
    expect(await optedOutPeople('Owen')).toEqual([false]);

    const withdrawn = await callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
      ...DPO,
      method: 'DELETE',
    });
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(withdrawn.body.withdrawnAt).not.toBeNull();
    expect(await optedOutPeople('Bea')).toEqual([false]);
  });
});
