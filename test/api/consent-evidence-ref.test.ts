import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord, SAM_PARTICIPANT } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The consent register keeps an `evidenceRef` for good, beyond every pseudonym and every
 * erasure, so one holding an identifier is refused (consents-api.test.ts): a reference that holds
 * none is kept, as Dudley's officers file their consent forms.
 */
describe("a consent's evidenceRef", () => {
  let t: TestHost;
  const caseRef = 'HO/2026/0417';
  const bySystemId = { systemId: { system: 'case-reference', id: caseRef } };
  const record = (subject: object, evidenceRef: string) =>
    callApi(t, '/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject, evidenceRef },
    });
  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
      ...SAM_PARTICIPANT,
      identifiers: { 'system-id:case-reference': caseRef },
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
});
