import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateNhsNumber, generateNiNumber, generateUpn } from '../../shared/domain/identifiers.js';
import { SeededRandom } from '../../shared/synthetic/random.js';
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
  /** Records `evidenceRef` for `subject`, which must be refused as a schema issue on it; the answer. */
  const refusedAsEvidence = async (subject: object, evidenceRef: string) => {
    const refused = await record(subject, evidenceRef);
    expect(refused.status, evidenceRef).toBe(400);
    expect(refused.body, evidenceRef).toMatchObject({
      type: 'urn:lintel:problem:invalid-request',
      errors: [{ path: 'evidenceRef', code: 'custom' }],
    });
    return refused;
  };
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

  it('records a form filed by its date and a serial or a time: the digits are not a UPN', async () => {
    // The last letter of "form" and eleven of the digits after it, separators skipped, had read
    // as a UPN whenever that letter happened to be their check letter (one in 23): the officer was
    // refused an ordinary reference (found by a defect hunt).
    const dated = ['form-20260129-0029', 'form-2026-01-17-1717', 'case-20260129-0005'];
    const answers = [];
    for (const evidenceRef of dated) answers.push((await record(bySystemId, evidenceRef)).status);
    expect(answers.map((status) => (status === 200 || status === 201 ? 'recorded' : status))).toEqual(
      dated.map(() => 'recorded'),
    );
  });

  it('still refuses a valid UPN, NHS number or NI number filed inside such a reference', async () => {
    const rng = new SeededRandom('consent-evidence-ref');
    const next = () => rng.next();
    const upn = generateUpn(next);
    const temporaryUpn = generateUpn(next, { temporary: true });
    const refusals = [
      `form-20260129-${upn}`,
      `form-2026-01-17/${temporaryUpn}`,
      `upn${upn}`,
      `upn:${upn.slice(0, 1)}.${upn.slice(1, 5)}.${upn.slice(5, 9)}.${upn.slice(9)}`,
      `form-20260129-${generateNhsNumber(next, { testRange: true })}`,
      `form-20260129-${generateNiNumber(next)}`,
    ];
    const before = await consentEvents();
    for (const evidenceRef of refusals) {
      await refusedAsEvidence(bySystemId, evidenceRef);
    }
    expect(await consentEvents()).toBe(before);
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
      const refused = await refusedAsEvidence(subject, evidenceRef);
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

  it("refuses the subject's family name, given name or postcode as evidence, without repeating it", async () => {
    // An officer filing the form under the participant's name or home postcode had put them in
    // the register for good, as a case reference was.
    const jo = { givenName: 'Joanna', familyName: "O'Hara-Quayle", dateOfBirth: '1979-05-06', postcode: 'DY1 4QZ' };
    await insertRecord(t.host.services, dudleyParticipant(jo, '07700 900419'));
    const refusals = [
      'form/quayle/2026',
      'consent-ohara',
      'FORM-OHARAQUAYLE',
      'joanna.form.17',
      'form-dy14qz',
      'form/DY1-4QZ/17',
    ];
    const before = await consentEvents();
    const logged = await reasonCodesOf(t, 'dudley-housing-options', 'consent.record');
    for (const evidenceRef of refusals) {
      const refused = await refusedAsEvidence(jo, evidenceRef);
      expect(refused.text.toLowerCase(), evidenceRef).not.toMatch(/quayle|hara|joanna|4qz/);
    }
    expect(await consentEvents()).toBe(before);
    expect(await reasonCodesOf(t, 'dudley-housing-options', 'consent.record')).toEqual([
      ...logged,
      ...refusals.map(() => 'invalid-request'),
    ]);
    // A reference that merely holds letters of them inside a word is kept: "Hara" in "sharad".
    expect((await record(jo, 'form-sharad-dy15')).status).toBe(201);
  });
});
