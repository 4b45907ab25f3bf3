import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeDroppedDataset } from '../../shared/retention/dropped-datasets.js';
import {
  agreementsFolderWith,
  KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES,
  keywaysAlsoSignedBy,
  renamedIn,
} from '../shared/agreements/agreement-files.js';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import {
  callApi,
  consentInForce,
  reasonCodesOf,
  restartTestHost,
  startTestHost,
  type TestHost,
  withdrawConsent,
} from '../support/test-host.js';

/**
 * As consent-withdrawal-opt-out-dataset-purged.test.ts, for an opt-out whose identifiers did not
 * settle on one person: recorded for the two people they reached and for a kept-only person id
 * holding the UPN nobody held (opt-out-unsettled-unheld-identifiers.test.ts), whose recording
 * entry names all three. Once an operator purges the dataset a re-signing dropped, no record and
 * no kept key says where its people were held, and the opt-out's own recording says which
 * agreement it belongs to. Found by a defect hunt: that recording was looked for by one person id
 * alone, so it was never found for an entry naming several, and a DPO of another agreement the
 * party signed withdrew the ISA's opt-out under that agreement's purpose. And the refusal of that
 * withdrawal named the opt-out's first person alone, so a DPO following the reference a subject
 * access request gave for another of its people did not see the attempt to lift their opt-out.
 */
describe('withdrawing an unsettled opt-out after its people are purged', () => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  const DROPPED = 'multiple-disadvantage-indicators';
  let optOutId: string;
  /** The reference a subject access request gave the DPO for Quinn, the second person the opt-out was recorded for. */
  let quinnRef: string;
  const bothAgreements = [keywaysAlsoSignedBy(LA_HOUSING, ['dpo']), KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES];
  const withdraw = (purpose: string) => withdrawConsent(t, optOutId, { party: LA_HOUSING, roles: ['dpo'], purpose });
  const inForce = () => consentInForce(t, optOutId);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWith(bothAgreements) });
    const person = (partyId: string, personId: string, givenName: string, dateOfBirth: string, nhsNumber?: string) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: DROPPED,
        personId,
        givenName,
        familyName: 'Wray',
        dateOfBirth,
        identifiers: nhsNumber === undefined ? {} : { nhs: nhsNumber },
        attributes: {},
      });
    // Ids that sort after the kept-only id (a UUIDv7, now): with no record left, the opt-out's
    // subject is then the kept-only id, whom no deletion names.
    await person('la-childrens-social-care', 'f0000000-0000-4000-8000-000000000001', 'Pia', '2012-05-01', nhs(7660));
    await person(LA_HOUSING, 'f0000000-0000-4000-8000-000000000002', 'Quinn', '2012-05-05');
    const recorded = await callApi(t, '/v1/consents', {
      party: LA_HOUSING,
      roles: ['dpo'],
      purpose: 'service-planning',
      body: {
        kind: 'opt-out',
        subject: {
          nhsNumber: nhs(7660),
          givenName: 'Quinn',
          familyName: 'Wray',
          dateOfBirth: '2012-05-05',
          upn: 'T801200001777',
        },
        evidenceRef: 'DPO/NDOO/22',
      },
    });
    expect(recorded.status, recorded.text).toBe(201);
    optOutId = recorded.body.consentId as string;
    const quinn = await callApi(t, '/v1/audit/people/accesses', {
      party: LA_HOUSING,
      roles: ['dpo'],
      body: { givenName: 'Quinn', familyName: 'Wray', dateOfBirth: '2012-05-05' },
    });
    expect(quinn.status, quinn.text).toBe(200);
    quinnRef = quinn.body.personRef as string;

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([...bothAgreements, renamedIn('isa', DROPPED, `${DROPPED}-2027`)]),
    });
    const { store, agreements, accessLog, logger } = t.host.services;
    const purged = await purgeDroppedDataset({ store, agreements, accessLog, logger }, DROPPED);
    expect(purged).toMatchObject({ peopleDeleted: 2 });
    expect(await inForce()).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses it under another agreement's purpose, and lets the DPO withdraw it under the ISA's", async () => {
    const underKeyways = await withdraw('fraud-prevention');
    expect(underKeyways.status, "the ISA's opt-out was withdrawn under the Keyways DSA's purpose").toBe(404);
    expect(await inForce()).toBe(true);
    const underIsa = await withdraw('service-planning');
    expect(underIsa.status, `log: ${(await reasonCodesOf(t, LA_HOUSING, 'consent.withdraw')).join(', ')}`).toBe(200);
    expect(await inForce()).toBe(false);
  });

  it('shows the refused withdrawal under the reference of each person it was recorded for, not the first alone', async () => {
    expect((await withdraw('fraud-prevention')).status).toBe(404);
    const answer = await callApi(t, `/v1/audit/people/${quinnRef}/accesses`, { party: LA_HOUSING, roles: ['dpo'] });
    expect(answer.status, answer.text).toBe(200);
    const seen = (answer.body.entries as { action: string; reasonCode: string }[])
      .filter((e) => e.action === 'consent.withdraw')
      .map((e) => e.reasonCode);
    expect(seen, "Quinn's reference showed no refused withdrawal of their opt-out").toContain('purpose-not-permitted');
  });
});
