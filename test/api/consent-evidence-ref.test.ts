import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dudleyParticipant, insertRecord, SAM_PARTICIPANT } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The consent register keeps an `evidenceRef` for good, beyond every pseudonym and every
 * erasure, so one holding an identifier is refused (consents-api.test.ts), the subject's own
 * case reference or date of birth as sent in the same body among them: a reference that holds
 * none is kept, as Dudley's officers file their consent forms.
 */
describe("a consent's evidenceRef", () => {
  let t: TestHost;
  const caseRef = 'HO/2026/0417';
  const bySystemId = { systemId: { system: 'case-reference', id: caseRef } };
  // Someone with no consent yet, so that whatever is accepted is recorded.
  const kim = { givenName: 'Kim', familyName: 'Ashby', dateOfBirth: '1985-01-02' };
  const kimsCaseRef = 'HO/2026/0418';
  const kimByCase = { systemId: { system: 'case-reference', id: kimsCaseRef } };
  const kimByNameAndBirth = { ...kim, dateOfBirth: '02/01/1985' };
  const record = (subject: object, evidenceRef: string) =>
    callApi(t, '/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject, evidenceRef },
    });
  const consentEvents = async () =>
    (await t.host.services.store.db.selectFrom('consent_event').select('consent_id').execute()).length;
  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
      ...SAM_PARTICIPANT,
      identifiers: { 'system-id:case-reference': caseRef },
    });
    await insertRecord(t.host.services, {
      ...dudleyParticipant(kim, '07700 900418'),
      identifiers: { 'system-id:case-reference': kimsCaseRef },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('records a form filed by the date it was signed: a date is not an NI number', async () => {
    // Two letters and the first three pairs of a date's digits had read as an NI number
    // ("rm-20-26-11" in "form-2026-11-30"): the officer was refused an ordinary reference.
    const dated = ['form-2026-11-30', 'case-2026-11-30', 'consent-form/2026-11-30/17'];
    const answers = [];
    for (const evidenceRef of dated) answers.push((await record(bySystemId, evidenceRef)).status);
    expect(answers).toEqual([201, 200, 200]);
  });

  it("refuses the subject's case reference or date of birth as evidence, without repeating it", async () => {
    // Filed under the participant's case reference, or named by their date of birth, the form's
    // reference had put that identifier in the register for good.
    const refusals: [object, string][] = [
      [kimByCase, kimsCaseRef],
      [kimByCase, `consent-form:${kimsCaseRef.toLowerCase()}`],
      [kimByNameAndBirth, 'form-1985-01-02'],
      [kimByNameAndBirth, 'form/02/01/1985'],
      [kimByNameAndBirth, 'form-19850102'],
    ];
    const before = await consentEvents();
    const logged = await reasonCodesOf(t, 'dudley-housing-options', 'consent.record');
    for (const [subject, evidenceRef] of refusals) {
      const refused = await record(subject, evidenceRef);
      expect(refused.status, evidenceRef).toBe(400);
      expect(refused.body, evidenceRef).toMatchObject({
        type: 'urn:lintel:problem:invalid-request',
        errors: [{ path: 'evidenceRef', code: 'custom' }],
      });
      expect(refused.text, evidenceRef).not.toContain('0418');
      expect(refused.text, evidenceRef).not.toContain('1985');
    }
    expect(await consentEvents()).toBe(before);
    expect(await reasonCodesOf(t, 'dudley-housing-options', 'consent.record')).toEqual([
      ...logged,
      ...refusals.map(() => 'invalid-request'),
    ]);
    // Another form number of the same shape is still kept.
    expect((await record(kimByNameAndBirth, 'form-1985-01-03')).status).toBe(201);
  });
});
