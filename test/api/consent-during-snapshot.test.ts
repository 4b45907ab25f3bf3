import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { enforceRetention } from '../../shared/retention/enforce-retention.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { nhs } from '../support/linked-people.js';
import { callApi, startTestHost, type ApiAnswer, type TestHost } from '../support/test-host.js';
import { raceAtFirstWrite } from '../support/pass-at-consent-check.js';

/**
 * A consent or opt-out whose person's records a new snapshot replaces, or retention deletes,
 * between the request's lookup and its write. Each commits, deterministically, as the write's
 * transaction begins (after the lookup), as it can on the store's one connection.
 */
describe('a consent write straddling a snapshot load or retention', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const DUDLEY = 'dudley-housing-options';
  const CONTACTS = 'housing-first-participant-contacts';
  const header = 'name,telephoneNumber,email,address,caseReference';
  const HANA = 'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1';
  const IAN = 'Ian Oakes,01384 000002,ian@example.org,2 High Street,HO-2';
  // Ian moved: the next snapshot is not the same file again (which would be a duplicate).
  const IAN_MOVED = 'Ian Oakes,01384 000002,ian@example.org,3 Low Road,HO-2';

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  /** Calls the API with `race` committed just before the request's first transaction (its write) begins. */
  const atWrite = <T>(race: () => Promise<unknown>, call: () => Promise<T>) =>
    raceAtFirstWrite(t.host.services, race, call);

  const entriesOf = (requestId: string) =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .execute();
  const consentEvents = () => t.host.services.store.db.selectFrom('consent_event').select('consent_id').execute();
  const recordConsent = (caseReference: string, requestId: string) =>
    callApi(t, '/v1/consents', {
      party: DUDLEY,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: {
        subject: { systemId: { system: 'case-reference', id: caseReference } },
        evidenceRef: `form-${caseReference}`,
      },
      headers: { 'x-request-id': requestId },
    });
  /** The person was gone at the write: 404 no-match, one deny entry, and no consent event since `eventsBefore`. */
  const expectNoMatch = async (answer: ApiAnswer, requestId: string, eventsBefore: number) =>
    expect({
      status: answer.status,
      type: answer.body.type,
      entries: await entriesOf(requestId),
      written: (await consentEvents()).length - eventsBefore,
    }).toEqual({
      status: 404,
      type: 'urn:lintel:problem:no-match',
      entries: [{ decision: 'deny', reason_code: 'no-match' }],
      written: 0,
    });
  const researcherFinds = async (caseReference: string) =>
    (
      await callApi(t, '/v1/people/search', {
        party: 'icf-research',
        roles: ['researcher'],
        purpose: 'research-evaluation',
        body: { systemId: { system: 'case-reference', id: caseReference } },
      })
    ).status;

  it('records the consent for the person a new snapshot carried over (pins the race)', async () => {
    const first = await extracts.load(DUDLEY, CONTACTS, 'extract-2026-03-01.csv', [header, HANA, IAN]);
    await linkAfterImport(extracts.linkDeps(), first);
    const requestId = randomUUID();
    let second = '';
    const answer = await atWrite(
      async () => {
        second = await extracts.load(DUDLEY, CONTACTS, 'extract-2026-04-01.csv', [header, HANA, IAN_MOVED]);
      },
      () => recordConsent('HO-1', requestId),
    );
    await linkAfterImport(extracts.linkDeps(), second);
    expect({
      status: answer.status,
      entries: await entriesOf(requestId),
      found: await researcherFinds('HO-1'),
    }).toEqual({ status: 201, entries: [{ decision: 'allow', reason_code: 'consent-recorded' }], found: 200 });
  }, 60_000);

  it('answers no-match, recording nothing, when the new snapshot no longer holds the person', async () => {
    const before = (await consentEvents()).length;
    const requestId = randomUUID();
    const answer = await atWrite(
      () => extracts.load(DUDLEY, CONTACTS, 'extract-2026-05-01.csv', [header, HANA]),
      () => recordConsent('HO-2', requestId),
    );
    await expectNoMatch(answer, requestId, before);
  }, 60_000);

  it('records the opt-out as for anyone not held, against the hashes of their identifiers, when retention deleted the person', async () => {
    const bob = nhs(420);
    const run = await extracts.load('la-housing', 'multiple-disadvantage-indicators', 'extract-2026-03-01.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
      `Alice,Smith,2012-03-04,ME14 1XX,${nhs(410)},Y`,
      // Left temporary accommodation: out of the joint system's scope.
      `Bob,Jones,2010-01-01,ME15 2YY,${bob},N`,
    ]);
    await linkAfterImport(extracts.linkDeps(), run);
    const s = t.host.services;
    const before = (await consentEvents()).length;
    const requestId = randomUUID();
    let deleted = 0;
    const answer = await atWrite(
      async () => {
        const summaries = await enforceRetention(
          { store: s.store, agreements: s.agreements, accessLog: s.accessLog, logger: s.logger },
          'social-care-education-housing',
        );
        deleted = summaries.reduce((n, r) => n + r.peopleDeleted, 0);
      },
      () =>
        callApi(t, '/v1/consents', {
          party: 'la-housing',
          roles: ['dpo'],
          purpose: 'service-planning',
          body: { kind: 'opt-out', subject: { nhsNumber: bob }, evidenceRef: 'DPO/OPTOUT/RETENTION' },
          headers: { 'x-request-id': requestId },
        }),
    );
    expect(deleted).toBe(1);
    // An opt-out for someone no record holds is recorded, not refused: a 404 would tell the DPO
    // whether the partnership holds the person (opt-out-not-held.test.ts).
    const kept = await s.store.db
      .selectFrom('opt_out_kept_identifier')
      .select('person_id')
      .where('person_id', '=', (eb) =>
        eb.selectFrom('consent_event').select('subject_key').where('consent_id', '=', String(answer.body.consentId)),
      )
      .execute();
    expect({
      status: answer.status,
      entries: await entriesOf(requestId),
      written: (await consentEvents()).length - before,
      kept: kept.length > 0,
    }).toEqual({
      status: 201,
      entries: [{ decision: 'allow', reason_code: 'opt-out-recorded' }],
      written: 1,
      kept: true,
    });
  }, 60_000);
});
