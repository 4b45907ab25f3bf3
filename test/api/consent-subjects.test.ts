import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dudleyParticipant, insertRecord, SAM, SAM_PARTICIPANT } from '../support/records.js';
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
    // Another Housing First participant, under case reference HO-6.
    const other = { givenName: 'Sol', familyName: 'Tanner', dateOfBirth: '1984-03-04' };
    await insertRecord(t.host.services, {
      ...dudleyParticipant(other, '07700 900001'),
      identifiers: { 'system-id:case-reference': 'HO-6' },
    });
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

  it('records an opt-out for both when the NHS number and the system id point at different people, or the names at someone else', async () => {
    // Refused, 404 or 409, it told the recorder the identifiers are held (opt-out-unsettled-match.test.ts):
    // an opt-out only holds data back, so it fails closed on everyone they reach.
    const before = await consentEvents();
    const answer = await optOut({ nhsNumber: NHS_X, systemId: { system: 'education', id: 'ED-77' } });
    expect(answer.status, answer.text).toBe(201);
    expect(answer.text).not.toMatch(/9434765919|ED-77|Xavier|Yasmin/);
    expect(await consentEvents()).toBe(before + 2);

    // The NHS number's child, with the names and date of birth of the other: the same two people.
    const mixed = await optOut({
      nhsNumber: NHS_X,
      givenName: 'Yasmin',
      familyName: 'South',
      dateOfBirth: '2011-02-02',
    });
    expect(mixed.status, mixed.text).toBe(200);
    expect(mixed.body.consentId).toBe(answer.body.consentId);
    expect(await consentEvents()).toBe(before + 2);

    // Either identifier alone settles on its own child, who holds it with the other: recorded for them alone.
    expect((await optOut({ nhsNumber: NHS_X })).status).toBe(201);
    expect((await optOut({ systemId: { system: 'education', id: 'ED-77' } })).status).toBe(201);
    expect(await consentEvents()).toBe(before + 4);
  });

  it('still records nothing for a consent whose identifiers point at different people: it must name one', async () => {
    const before = await consentEvents();
    const consent = (subject: unknown) =>
      callApi(t, '/v1/consents', {
        party: 'dudley-housing-options',
        roles: ['housing-officer'],
        purpose: 'research-evaluation',
        body: { subject, evidenceRef: 'form-amb' },
      });
    // Sam's names and date of birth, with the other participant's case reference.
    const answer = await consent({ ...SAM, systemId: { system: 'case-reference', id: 'HO-6' } });
    expect(answer.status, answer.text).toBe(409);
    expect(answer.body.type).toBe('urn:lintel:problem:ambiguous-match');
    expect(await consentEvents()).toBe(before);
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
