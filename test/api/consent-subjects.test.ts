import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord, SAM_PARTICIPANT } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Whom a consent or an opt-out is recorded for: one person the identifiers settle on, or
 * nobody. Both found by a review.
 */
describe('the subject of a consent or an opt-out', () => {
  let t: TestHost;
  const NHS_X = '9434765919';
  const consentEvents = async () =>
    (await t.host.services.store.db.selectFrom('consent_event').select('event_id').execute()).length;

  beforeAll(async () => {
    t = await startTestHost();
    // X: known to social care by NHS number only.
    await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Xavier',
      familyName: 'North',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: NHS_X },
      attributes: { childProtection: true },
    });
    // Y: another child, known to education by system id only.
    await insertRecord(t.host.services, {
      partyId: 'la-education',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Yasmin',
      familyName: 'South',
      dateOfBirth: '2011-02-02',
      identifiers: { 'system-id:education': 'ED-77' },
      attributes: { currentSchool: 'Hill Primary' },
    });
    await insertRecord(t.host.services, { ...SAM_PARTICIPANT, identifiers: { 'system-id:case-reference': 'HO-5' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const optOut = (subject: unknown) =>
    callApi(t, '/v1/consents', {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject, evidenceRef: 'DPO/OPTOUT/AMB' },
    });

  it('records nothing when the NHS number and the system id point at different people, or the names at someone else', async () => {
    const before = await consentEvents();
    const answer = await optOut({ nhsNumber: NHS_X, systemId: { system: 'education', id: 'ED-77' } });
    expect(answer.status).toBe(404);
    expect(answer.body.type).toBe('urn:lintel:problem:no-match');
    expect(answer.text).not.toMatch(/9434765919|ED-77|Xavier|Yasmin/);
    expect(await consentEvents()).toBe(before);

    // The NHS number's child, with the names and date of birth of the other: two people.
    const mixed = await optOut({
      nhsNumber: NHS_X,
      givenName: 'Yasmin',
      familyName: 'South',
      dateOfBirth: '2011-02-02',
    });
    expect(mixed.status).toBe(409);
    expect(mixed.body.type).toBe('urn:lintel:problem:ambiguous-match');
    expect(await consentEvents()).toBe(before);

    // Either identifier alone settles on its own child.
    expect((await optOut({ nhsNumber: NHS_X })).status).toBe(201);
    expect((await optOut({ systemId: { system: 'education', id: 'ED-77' } })).status).toBe(201);
    expect(await consentEvents()).toBe(before + 2);
  });

  it('answers a blank system id 400 invalid-identifier, not 500, on every endpoint that takes one', async () => {
    const blank = { systemId: { system: 'case-reference', id: '   ' } };
    const consent = await callApi(t, '/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: blank, evidenceRef: 'form-blank' },
    });
    expect(consent.status, consent.text).toBe(400);
    expect(consent.body).toMatchObject({ type: 'urn:lintel:problem:invalid-identifier', field: 'subject.systemId.id' });
    const search = await callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: blank,
    });
    expect(search.status, search.text).toBe(400);
    expect(search.body.type).toBe('urn:lintel:problem:invalid-identifier');
  });
});
