import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import {
  consentToResearch,
  insertRecord,
  ROBIN_IN_SOCIAL_CARE,
  ROBIN_NHS,
  SAM_PARTICIPANT,
} from '../support/records.js';
import { callApi, clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A party may sign two agreements (a council in the Keyways DSA and in another sharing). An
 * access-log entry that names no dataset — a consent recorded, a write refused before any
 * dataset is touched — is still one agreement's business when its purpose is one of that
 * agreement's and the party is a party to it: a DPO of the party's other agreement must not read
 * it in a client's activity (nor get a reference to the person it was about), and the DPO of
 * the agreement it belongs to must. An opt-out names no purpose: its withdrawal is decided, and
 * filed, under the agreement its person was found in, not under whatever X-Purpose the recording
 * party sends.
 */
describe("a DPO's view of a party that signed two agreements", () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const dudleyClient = clientIdOf(DUDLEY);
  let from: string;

  type Entry = { action: string; purpose: string; reasonCode: string; subjectRefs: string[] };
  const activityOf = async (auditor: string, clientId = dudleyClient) => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await callApi(t, `/v1/audit/clients/${clientId}/activity?from=${from}&to=${to}&limit=500`, {
      party: auditor,
      roles: ['dpo'],
    });
    expect(res.status).toBe(200);
    return (res.body.entries as Entry[]).map((e) => `${e.action} ${e.purpose} ${e.reasonCode} ${e.subjectRefs.length}`);
  };

  beforeAll(async () => {
    // Dudley's housing service is a party to the Keyways DSA too (a housing officer, no DPO role
    // there): its DPO audits the research agreement only, Kettering's DPO the Keyways one only.
    // The ISA's housing service is one too, with its DPO, and the Keyways fraud check is taken
    // to be one the national data opt-out applies to: its DPO may write opt-outs under either.
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'keyways',
          from: '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n',
          to:
            '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n' +
            '  - id: dudley-housing-options\n    name: Dudley Metropolitan Borough Council - Housing Options and Support\n    kind: council\n    roles: [housing-officer]\n' +
            '  - id: la-housing\n    name: Housing - Temporary Accommodation\n    kind: council\n    roles: [dpo]\n',
        },
        {
          agreement: 'keyways',
          from: '    nationalDataOptOutApplies: false\n',
          to: '    nationalDataOptOutApplies: true\n',
        },
      ]),
    });
    from = new Date(Date.now() - 1000).toISOString();
    await insertRecord(t.host.services, { ...SAM_PARTICIPANT, identifiers: { 'system-id:case-reference': 'HO-5' } });
    // Under the research agreement: Sam's consent, an entry about Sam with no dataset.
    await consentToResearch(t, { systemId: { system: 'case-reference', id: 'HO-5' } }, 'form-sam');
    // Under the Keyways DSA: a consent its purpose does not take, refused before any dataset.
    const refused = await callApi(t, '/v1/consents', {
      party: DUDLEY,
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      body: { subject: { systemId: { system: 'case-reference', id: 'HO-5' } }, evidenceRef: 'form-x' },
    });
    expect(refused.status).toBe(403);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("keeps the research agreement's consent entries from the Keyways DPO, and the Keyways refusal from Dudley's", async () => {
    expect(await activityOf('kettering-borough-council')).toEqual([
      'consent.record housing-allocation purpose-not-permitted 0',
    ]);
    expect(await activityOf(DUDLEY)).toEqual(['consent.record research-evaluation consent-recorded 1']);
  });

  it("decides and files an opt-out's withdrawal under the agreement its person is in, not the X-Purpose's", async () => {
    const laHousing = clientIdOf('la-housing');
    const dpo = { party: 'la-housing', roles: ['dpo'] };
    await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
    const recorded = await callApi(t, '/v1/consents', {
      ...dpo,
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/1' },
    });
    expect(recorded.status).toBe(201);
    const withdrawal = (purpose: string) =>
      callApi(t, `/v1/consents/${recorded.body.consentId as string}`, { ...dpo, purpose, method: 'DELETE' });

    // Robin is the ISA's: a Keyways purpose is no ground to withdraw the opt-out on.
    const underKeyways = await withdrawal('fraud-prevention');
    expect(underKeyways.status).toBe(404);
    expect(underKeyways.body.type).toBe('urn:lintel:problem:consent-unknown');

    // Each entry is the ISA's, refusal included (filed under Robin's dataset, with Robin): the
    // Keyways DPO reads none of them.
    expect((await withdrawal('service-planning')).status).toBe(200);
    expect(await activityOf('la-childrens-social-care', laHousing)).toEqual([
      'consent.record service-planning opt-out-recorded 1',
      'consent.withdraw fraud-prevention purpose-not-permitted 1',
      'consent.withdraw service-planning opt-out-withdrawn 1',
    ]);
    expect(await activityOf('kettering-borough-council', laHousing)).toEqual([]);
  });

  it("files a refused withdrawal of an opt-out with its person, for the DPOs of the person's agreement only", async () => {
    const dpo = { party: 'la-housing', roles: ['dpo'] };
    // Robin (the ISA's, from the test before) opted out again; the opt-out then withdrawn under
    // a Keyways purpose, and with no X-Purpose at all.
    const recorded = await callApi(t, '/v1/consents', {
      ...dpo,
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/2' },
    });
    expect(recorded.status).toBe(201);
    const unknownId = await callApi(t, '/v1/consents/00000000-0000-4000-8000-000000000000', {
      ...dpo,
      purpose: 'service-planning',
      method: 'DELETE',
    });
    const refusals = { underKeyways: randomUUID() as string, withoutPurpose: randomUUID() as string };
    for (const [name, purpose] of [
      ['underKeyways', 'fraud-prevention'],
      ['withoutPurpose', undefined],
    ] as const) {
      const refused = await callApi(t, `/v1/consents/${recorded.body.consentId as string}`, {
        ...dpo,
        ...(purpose === undefined ? {} : { purpose }),
        method: 'DELETE',
        headers: { 'x-request-id': refusals[name] },
      });
      // Nothing tells the caller the id is known.
      expect({ status: refused.status, text: refused.text }).toEqual({ status: 404, text: unknownId.text });
    }
    const refusalsIn = (
      entries: { requestId: string; purpose: string; reasonCode: string; subjectRefs?: string[] }[],
    ) =>
      entries
        .filter((e) => Object.values(refusals).includes(e.requestId))
        .map((e) => `${e.purpose} ${e.reasonCode}${e.subjectRefs === undefined ? '' : ` ${e.subjectRefs.length}`}`);

    // The ISA's DPO finds both in Robin's subject access answer, and in the client's activity.
    const sar = await callApi(t, '/v1/audit/people/accesses', {
      party: 'la-childrens-social-care',
      roles: ['dpo'],
      body: { nhsNumber: ROBIN_NHS },
    });
    expect(sar.status).toBe(200);
    expect(refusalsIn(sar.body.entries as never)).toEqual([
      'fraud-prevention purpose-not-permitted',
      'none purpose-required',
    ]);
    const to = new Date(Date.now() + 60_000).toISOString();
    const activity = (auditor: string) =>
      callApi(t, `/v1/audit/clients/${clientIdOf('la-housing')}/activity?from=${from}&to=${to}&limit=500`, {
        party: auditor,
        roles: ['dpo'],
      });
    expect(refusalsIn((await activity('la-childrens-social-care')).body.entries as never)).toEqual([
      'fraud-prevention purpose-not-permitted 1',
      'none purpose-required 1',
    ]);
    // The Keyways DPO gets no reference to the ISA's person.
    const keyways = (await activity('kettering-borough-council')).body.entries as { subjectRefs: string[] }[];
    expect(keyways.flatMap((e) => e.subjectRefs)).toEqual([]);
  });

  it("keeps a DPO's own reads of the log with the agreements they audit, not every agreement their party signed", async () => {
    // Dudley's DPO audits the research agreement only: a Keyways housing officer is no auditor there.
    const sar = await callApi(t, '/v1/audit/people/accesses', {
      party: DUDLEY,
      roles: ['dpo'],
      body: { systemId: { system: 'case-reference', id: 'HO-5' } },
    });
    expect(sar.status).toBe(200);
    const auditEntries = (lines: string[]) => lines.filter((line) => line.startsWith('audit.'));
    expect(auditEntries(await activityOf('kettering-borough-council'))).toEqual([]);
    expect(auditEntries(await activityOf(DUDLEY))).toEqual([
      'audit.client-activity audit activity-shown 0',
      'audit.person-accesses audit accesses-shown 1',
    ]);
  });

  it("keeps an alert about a party's lookups under one agreement from the DPO of its other agreement", async () => {
    // Ten Keyways searches by Dudley's housing officer that find nobody: a fishing run under
    // the Keyways DSA, which Dudley's DPO (of the research agreement) does not audit.
    for (let i = 0; i < 10; i++) {
      const res = await callApi(t, '/v1/people/search', {
        party: DUDLEY,
        roles: ['housing-officer'],
        purpose: 'housing-allocation',
        body: { familyName: 'Nobody', givenName: 'Known', dateOfBirth: `1970-02-${String(i + 1).padStart(2, '0')}` },
      });
      expect(res.status).toBe(404);
    }
    const keywaysDpo = { party: 'kettering-borough-council', roles: ['dpo'] };
    const dudleyDpo = { party: DUDLEY, roles: ['dpo'] };
    type Alert = { id: string; rule: string; clientId: string };
    const fishingIn = (alerts: unknown) =>
      (alerts as Alert[]).filter((a) => a.rule === 'no-match-run' && a.clientId === dudleyClient);

    // Dudley's DPO evaluates first: the run is raised, but is not theirs to be told of.
    const dudleyRun = await callApi(t, '/v1/audit/alerts/evaluate', { ...dudleyDpo, method: 'POST' });
    expect(dudleyRun.status).toBe(200);
    expect(fishingIn(dudleyRun.body.raised)).toEqual([]);
    const keywaysList = await callApi(t, '/v1/audit/alerts', keywaysDpo);
    const [fishing] = fishingIn(keywaysList.body.alerts);
    expect(fishing).toBeDefined();
    expect(fishingIn((await callApi(t, '/v1/audit/alerts', dudleyDpo)).body.alerts)).toEqual([]);
    // Nor to open a breach on: as unknown as an alert that does not exist.
    const dudleyOpen = await callApi(t, `/v1/audit/alerts/${fishing!.id}/breach`, { ...dudleyDpo, method: 'POST' });
    expect(dudleyOpen.status).toBe(404);
    const opened = await callApi(t, `/v1/audit/alerts/${fishing!.id}/breach`, { ...keywaysDpo, method: 'POST' });
    expect(opened.status).toBe(201);
    const breaches = (who: typeof keywaysDpo) =>
      callApi(t, '/v1/audit/breaches', who).then((res) => (res.body.breaches as { id: string }[]).map((b) => b.id));
    expect(await breaches(keywaysDpo)).toEqual([opened.body.id]);
    expect(await breaches(dudleyDpo)).toEqual([]);
  });
});
