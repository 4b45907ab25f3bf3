import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, KNOWN_AGREEMENT_FILES } from '../shared/agreements/agreement-files.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS } from '../support/records.js';
import { callApi, clientIdOf, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A national data opt-out names no purpose: its withdrawal, which lets the person's records be
 * used for planning again, is decided under the agreement the person is held in, with the
 * X-Purpose a purpose of that agreement the opt-out applies to (audit-scope-shared-party.test.ts).
 * A re-signing can drop the dataset that holds the person (the ISA re-signed with its one dataset
 * under a new id): their records stay in the store, and so does the opt-out, and the store
 * remembers which agreement the dataset was (audit/remembered-agreements.ts). The withdrawal is
 * still that agreement's to decide, for its DPOs to find: a DPO of another agreement the party
 * signed must not end it under that agreement's purpose, nor its DPO be given a reference to
 * the person.
 *
 * The re-signing is real: the opt-out is recorded over HTTP by a host on the agreements as they
 * are, which is stopped; a second host on the same store (and keys) starts on the re-signed files.
 */
describe('withdrawing an opt-out whose person is held in a dataset a re-signing dropped', () => {
  let t: TestHost;
  const LA_HOUSING = 'la-housing';
  const DROPPED = 'multiple-disadvantage-indicators';
  let from: string;
  let optOutId: string;

  // The ISA's housing service signs the Keyways DSA too, as its DPO, and the Keyways fraud check
  // is taken to be one the national data opt-out applies to: its DPO may write opt-outs under either.
  const bothAgreements = [
    {
      agreement: 'keyways' as const,
      from: '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n',
      to:
        '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n' +
        '  - id: la-housing\n    name: Housing - Temporary Accommodation\n    kind: council\n    roles: [dpo]\n',
    },
    {
      agreement: 'keyways' as const,
      from: '    nationalDataOptOutApplies: false\n',
      to: '    nationalDataOptOutApplies: true\n',
    },
  ];

  const withdraw = (purpose: string, roles = ['dpo']) =>
    callApi(t, `/v1/consents/${optOutId}`, { method: 'DELETE', party: LA_HOUSING, roles, purpose });
  const withdrawReasons = () => reasonCodesOf(t, LA_HOUSING, 'consent.withdraw');
  const inForce = async () => (await t.host.services.consents.find(optOutId))?.withdrawnAt === null;
  const withdrawalsSeenBy = async (auditor: string) => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await callApi(
      t,
      `/v1/audit/clients/${clientIdOf(LA_HOUSING)}/activity?from=${from}&to=${to}&limit=500`,
      { party: auditor, roles: ['dpo'] },
    );
    expect(res.status).toBe(200);
    type Entry = { action: string; purpose: string; reasonCode: string; subjectRefs: string[] };
    return (res.body.entries as Entry[])
      .filter((e) => e.action === 'consent.withdraw')
      .map((e) => `${e.purpose} ${e.reasonCode} ${e.subjectRefs.length}`);
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWith(bothAgreements) });
    from = new Date(Date.now() - 1000).toISOString();
    await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
    const recorded = await callApi(t, '/v1/consents', {
      party: LA_HOUSING,
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/9' },
    });
    expect(recorded.status, recorded.text).toBe(201);
    optOutId = recorded.body.consentId as string;

    const { SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH } = t.settings;
    await t.stop();
    const resigned = agreementsFolderWith(bothAgreements);
    const isa = join(resigned, KNOWN_AGREEMENT_FILES.isa);
    writeFileSync(isa, readFileSync(isa, 'utf8').replaceAll(DROPPED, `${DROPPED}-2027`));
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: resigned,
      SQLITE_PATH,
      LOCAL_SECRETS_PATH,
      DEV_ISSUER_KEY_PATH,
    });
    expect(t.host.services.agreements.dataset(DROPPED)).toBeUndefined();
    expect(t.host.services.agreements.formerAgreementOfDataset(DROPPED)).toBe('social-care-education-housing');
    expect(await inForce()).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses it under another agreement's purpose, filed for the ISA's DPOs with the person and for no other", async () => {
    const underKeyways = await withdraw('fraud-prevention');
    expect(underKeyways.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(404);
    expect(underKeyways.body.type).toBe('urn:lintel:problem:consent-unknown');
    expect(await inForce()).toBe(true);
    expect(await withdrawalsSeenBy('la-childrens-social-care')).toEqual(['fraud-prevention purpose-not-permitted 1']);
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });

  it('refuses it to a role of the party that is not its DPO there', async () => {
    const asAnalyst = await withdraw('service-planning', ['analyst']);
    expect(asAnalyst.status).toBe(404);
    expect(await inForce()).toBe(true);
  });

  it("lets the party's DPO withdraw it under the ISA's purpose, filed for the ISA's DPOs", async () => {
    const underIsa = await withdraw('service-planning');
    expect(underIsa.status, `log: ${(await withdrawReasons()).join(', ')}`).toBe(200);
    expect(await inForce()).toBe(false);
    expect((await withdrawalsSeenBy('la-childrens-social-care')).at(-1)).toBe('service-planning opt-out-withdrawn 1');
    expect(await withdrawalsSeenBy('kettering-borough-council')).toEqual([]);
  });
});
