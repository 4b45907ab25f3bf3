import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport, linkPendingRecords } from '../../shared/linkage/pending-links.js';
import { enforceRetention } from '../../shared/retention/enforce-retention.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { afterRead, atConsentCheck } from '../support/pass-at-consent-check.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type ApiCall, type TestHost } from '../support/test-host.js';

/**
 * A view by reference whose person a new snapshot drops, or retention deletes, while it is
 * answered: the snapshot commits at the view's consent check (after the reference is resolved,
 * before the records are read); retention, at each of the view's reads in turn (the ISA's lookup
 * purposes have no consent check). Not tested before: these found no defect and pin it.
 */
describe('a view by reference straddling a snapshot load or retention removing the person', () => {
  let t: TestHost;
  let extracts: HostExtracts;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  type Hook = { restore: () => void; reached: () => boolean };

  /**
   * The view of `ref` with a removal committed where `hook` (given a callback for when it has
   * run) commits it: its answer and access-log entries, or undefined if the hook was not reached.
   */
  async function viewRacing(ref: string, caller: ApiCall, hook: (during: () => void) => Hook) {
    const s = t.host.services;
    let ran = false;
    const race = hook(() => (ran = true));
    const requestId = randomUUID();
    let answer;
    try {
      answer = await callApi(t, `/v1/people/${ref}`, { ...caller, headers: { 'x-request-id': requestId } });
    } finally {
      race.restore();
    }
    if (!race.reached() || !ran) return undefined;
    const entries = await s.store.db
      .selectFrom('access_log')
      .select(['decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .execute();
    return { status: answer.status, type: answer.body.type, text: answer.text, entries };
  }

  it('answers no-match, showing nothing, when the next snapshot no longer holds the person', async () => {
    const DUDLEY = 'dudley-housing-options';
    const CONTACTS = 'housing-first-participant-contacts';
    const header = 'name,telephoneNumber,email,address,caseReference';
    const HANA = 'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1';
    const IAN = 'Ian Oakes,01384 000002,ian@example.org,2 High Street,HO-2';
    const first = await extracts.load(DUDLEY, CONTACTS, 'extract-2026-03-01.csv', [header, HANA, IAN]);
    await linkAfterImport(extracts.linkDeps(), first);
    const ian = { systemId: { system: 'case-reference', id: 'HO-2' } };
    const consent = await callApi(t, '/v1/consents', {
      party: DUDLEY,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: ian, evidenceRef: 'form-HO-2' },
    });
    expect(consent.status).toBe(201);
    const research = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };
    const found = await callApi(t, '/v1/people/search', { ...research, body: ian });
    expect(found.status).toBe(200);

    const answer = await viewRacing(String(found.body.personRef), research, (during) =>
      atConsentCheck(t.host.services, async () => {
        await extracts.load(DUDLEY, CONTACTS, 'extract-2026-04-01.csv', [header, HANA]);
        during();
      }),
    );
    if (answer === undefined) throw new Error('the view reached no consent check');
    expect(answer.text).not.toContain('01384 000002');
    expect({ status: answer.status, type: answer.type, entries: answer.entries.length }).toEqual({
      status: 404,
      type: 'urn:lintel:problem:no-match',
      entries: 1,
    });
    expect(answer.entries[0]!.decision).toBe('deny');
  }, 60_000);

  it('answers no-match, showing nothing, when retention deletes the person at any of its reads', async () => {
    const s = t.host.services;
    const officer = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
    // Someone Housing keeps, so the rule has a value to judge by beside each child's.
    await insertRecord(s, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Alice',
      familyName: 'Smith',
      dateOfBirth: '2012-03-04',
      identifiers: { nhs: nhs(440) },
      attributes: { firstName: 'Alice', lastName: 'Smith', inTemporaryAccommodation: true },
    });
    const shown: Record<number, { status: number; [other: string]: unknown }> = {};
    for (let nth = 1; ; nth++) {
      // The pass that follows a deletion in production (catchUpRetention, an import's afterLoad):
      // the last one left Alice's record for linking again, and the rule waits for it.
      await linkPendingRecords(s);
      const child = nhs(500 + nth * 10);
      const attributes = (inTemporaryAccommodation: boolean) => ({
        firstName: 'Bob',
        lastName: 'Jones',
        homePostcode: 'ME15 2YY',
        inTemporaryAccommodation,
      });
      const { recordId } = await insertRecord(s, {
        partyId: 'la-housing',
        datasetId: 'multiple-disadvantage-indicators',
        givenName: 'Bob',
        familyName: 'Jones',
        dateOfBirth: '2010-01-01',
        identifiers: { nhs: child },
        attributes: attributes(true),
      });
      const found = await callApi(t, '/v1/people/search', { ...officer, body: { nhsNumber: child } });
      expect(found.status).toBe(200);
      let deleted = 0;
      const answer = await viewRacing(String(found.body.personRef), officer, (during) =>
        afterRead(s, nth, async () => {
          // The family's next extract says they left temporary accommodation, and retention runs.
          await s.store.db
            .updateTable('source_record')
            .set({ attributes: JSON.stringify(attributes(false)) })
            .where('id', '=', recordId)
            .execute();
          const summaries = await enforceRetention(
            { store: s.store, agreements: s.agreements, accessLog: s.accessLog, logger: s.logger },
            'social-care-education-housing',
          );
          deleted = summaries.reduce((n, r) => n + r.peopleDeleted, 0);
          during();
        }),
      );
      if (answer === undefined) break;
      expect(deleted, `at read ${nth}`).toBe(1);
      shown[nth] = {
        status: answer.status,
        type: answer.type,
        entries: answer.entries.map((e) => e.decision),
        postcode: answer.text.includes('ME15'),
      };
    }
    // Deleted at any read before that of the records: nobody to show, one refusal. Deleted at
    // a read after it: the view of the records as they were read, one allow entry. Never both,
    // nor anything else.
    const refused = { status: 404, type: 'urn:lintel:problem:no-match', entries: ['deny'], postcode: false };
    const viewed = { status: 200, type: undefined, entries: ['allow'], postcode: true };
    const answers = Object.values(shown);
    const firstViewed = answers.findIndex((answer) => answer.status === 200);
    expect(firstViewed).toBeGreaterThan(1);
    expect(answers).toEqual(answers.map((_, i) => (i < firstViewed ? refused : viewed)));
  }, 120_000);
});
