import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS, REQUEST_PATH_PROBLEMS } from '../../shared/api/operations.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Recording and withdrawing consents and opt-outs over real HTTP. Who may write is decided from
 * the agreements before the subject is looked up, so a caller who may not write learns nothing
 * about whether the person is known.
 */
describe('consents API', () => {
  let t: TestHost;
  const known = { nhsNumber: '9434765919' };
  const unknown = { nhsNumber: '9434765870' };

  async function post(party: string, roles: string[], purpose: string, body: unknown) {
    const res = await fetch(`${t.url}/api/v1/consents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await t.token(party, roles)}`,
        'content-type': 'application/json',
        'x-purpose': purpose,
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  /** DELETE /api/v1/consents/{id}; no X-Purpose header when `purpose` is undefined. */
  async function withdraw(id: string, party: string, roles: string[], purpose?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${await t.token(party, roles)}` };
    if (purpose !== undefined) headers['x-purpose'] = purpose;
    const res = await fetch(`${t.url}/api/v1/consents/${id}`, { method: 'DELETE', headers });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      text,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }

  /** The access log's reasons for withdrawals by a party, oldest first. */
  const withdrawReasons = (partyId: string) => reasonCodesOf(t, partyId, 'consent.withdraw');

  /** Record an opt-out for a person of its own, by a DPO of la-housing; returns its id. */
  async function recordOptOut(nhsNumber: string, givenName: string): Promise<string> {
    await insertRecord(t.host.services, {
      partyId: 'la-education',
      datasetId: 'multiple-disadvantage-indicators',
      givenName,
      familyName: 'Withdrawn',
      dateOfBirth: '2011-03-04',
      identifiers: { nhs: nhsNumber },
      attributes: { currentSchool: 'Hill Primary' },
    });
    const recorded = await post('la-housing', ['dpo'], 'service-planning', {
      kind: 'opt-out',
      subject: { nhsNumber },
      evidenceRef: 'DPO/OPTOUT/W',
    });
    expect(recorded.status).toBe(201);
    return (JSON.parse(recorded.text) as { consentId: string }).consentId;
  }

  const consentEvents = async () =>
    (await t.host.services.store.db.selectFrom('consent_event').select('consent_id').execute()).length;

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a caller who may not record alike for a known and an unknown person, and writes nothing', async () => {
    const probes: [string, string[], string, string][] = [
      // A council of another agreement, asking under the social-care agreement's purposes.
      ['kettering-borough-council', ['housing-officer'], 'homelessness-prevention', 'consent'],
      ['kettering-borough-council', ['housing-officer'], 'service-planning', 'opt-out'],
      // A DPO, but of a party to another agreement only.
      ['kettering-borough-council', ['dpo'], 'service-planning', 'opt-out'],
      // A party to the agreement without the DPO role.
      ['la-housing', ['analyst'], 'service-planning', 'opt-out'],
    ];
    for (const [party, roles, purpose, kind] of probes) {
      const where = `${party} ${roles.join()} ${purpose} ${kind}`;
      const before = await consentEvents();
      const forKnown = await post(party, roles, purpose, { kind, subject: known, evidenceRef: 'REF-1' });
      const forUnknown = await post(party, roles, purpose, { kind, subject: unknown, evidenceRef: 'REF-1' });
      expect(forKnown.status, where).toBe(403);
      expect(forKnown.text, where).toBe(forUnknown.text);
      expect(await consentEvents(), where).toBe(before);
    }
  });

  it('refuses a caller who may not record before reading its body: one 403 whatever it sends', async () => {
    const callers: [string, string[], string, string][] = [
      // A council of another agreement, under a purpose that takes no consents.
      ['kettering-borough-council', ['housing-officer'], 'homelessness-prevention', 'purpose-not-permitted'],
      // The research partner, not the consent source, under the purpose that takes consents.
      ['icf-research', ['researcher'], 'research-evaluation', 'purpose-not-permitted'],
      // A party to the agreement without the DPO role, under a purpose that takes opt-outs.
      ['la-housing', ['analyst'], 'service-planning', 'role-not-permitted'],
    ];
    const sent: [string, Parameters<typeof callApi>[2]][] = [
      ['a consent', { body: { subject: known, evidenceRef: 'REF-1' } }],
      ['an opt-out', { body: { kind: 'opt-out', subject: known, evidenceRef: 'REF-1' } }],
      ['a body the schema refuses', { body: { kind: 'refusal', subject: { firstName: 'Robin' } } }],
      ['an invalid NHS number', { body: { subject: { nhsNumber: '9434765918' }, evidenceRef: 'REF-1' } }],
      ['no JSON', { rawBody: '{"subject":' }],
      ['another media type', { rawBody: 'subject', headers: { 'content-type': 'text/plain' } }],
    ];
    for (const [party, roles, purpose, reason] of callers) {
      const before = await reasonCodesOf(t, party, 'consent.record');
      const answers = [];
      for (const [what, init] of sent) {
        const res = await callApi(t, '/v1/consents', { ...init, party, roles, purpose });
        answers.push({ what, status: res.status, type: res.body.type, text: res.text });
      }
      const expected = { status: 403, type: `urn:lintel:problem:${reason}`, text: answers[0]!.text };
      expect(answers, `${party} ${purpose}`).toEqual(sent.map(([what]) => ({ what, ...expected })));
      // One entry a call, each with the policy's reason.
      expect(await reasonCodesOf(t, party, 'consent.record')).toEqual([...before, ...sent.map(() => reason)]);
    }
  });

  it("answers a missing or unknown X-Purpose with the search's detail, not repeating the purpose sent", async () => {
    for (const purpose of [undefined, 'made-up-purpose-4471']) {
      const init = { party: 'la-housing', roles: ['dpo'], purpose };
      const where = purpose ?? 'no X-Purpose';
      const consent = await callApi(t, '/v1/consents', {
        ...init,
        body: { kind: 'opt-out', subject: known, evidenceRef: 'REF-1' },
      });
      const search = await callApi(t, '/v1/people/search', { ...init, body: known });
      expect(consent.body.type, where).toMatch(/^urn:lintel:problem:purpose-(required|unknown)$/);
      expect(consent.body.detail, where).toEqual(expect.any(String));
      expect({ status: consent.status, type: consent.body.type, detail: consent.body.detail }, where).toEqual({
        status: search.status,
        type: search.body.type,
        detail: search.body.detail,
      });
      expect(consent.text).not.toContain('4471');
    }
  });

  it("lets a DPO of a party to the purpose's agreement record an opt-out, for someone not held too", async () => {
    const recorded = await post('la-housing', ['dpo'], 'service-planning', {
      kind: 'opt-out',
      subject: known,
      evidenceRef: 'DPO/OPTOUT/1',
    });
    expect(recorded.status).toBe(201);
    expect(JSON.parse(recorded.text)).toMatchObject({ kind: 'opt-out', purpose: null, withdrawnAt: null });

    const nobody = await post('la-housing', ['dpo'], 'service-planning', {
      kind: 'opt-out',
      subject: unknown,
      evidenceRef: 'DPO/OPTOUT/2',
    });
    // Answered as for someone held: a 404 told any party's DPO whether the person is held
    // (opt-out-not-held.test.ts).
    expect(nobody.status).toBe(201);
    expect(JSON.parse(nobody.text)).toMatchObject({ kind: 'opt-out', purpose: null, withdrawnAt: null });

    // Only the party that recorded it withdraws it: to a DPO of another party it is unknown.
    const { consentId } = JSON.parse(recorded.text) as { consentId: string };
    const withdraw = async (party: string) =>
      // In upper case, as some clients write UUIDs: the same id.
      fetch(`${t.url}/api/v1/consents/${consentId.toUpperCase()}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await t.token(party, ['dpo'])}`, 'x-purpose': 'service-planning' },
      });
    const byOther = await withdraw('la-education');
    expect(byOther.status).toBe(404);
    expect(await byOther.json()).toMatchObject({ type: 'urn:lintel:problem:consent-unknown' });
    const byRecorder = await withdraw('la-housing');
    expect(byRecorder.status).toBe(200);
    expect(await byRecorder.json()).toMatchObject({ consentId, withdrawnAt: expect.any(String) });
  });

  it('refuses an evidenceRef that holds an NHS number, UPN or NI number, without repeating it', async () => {
    const before = await consentEvents();
    const identifiers = ['9434765919', '943-476-5919', 'NHS:9434765919', 'JG103759A', 'REF-jg103759', 'B801200005001'];
    for (const evidenceRef of identifiers) {
      const refused = await post('la-housing', ['dpo'], 'service-planning', {
        kind: 'opt-out',
        subject: known,
        evidenceRef,
      });
      expect(refused.status, evidenceRef).toBe(400);
      const body = JSON.parse(refused.text) as Record<string, unknown>;
      expect(body).toMatchObject({
        type: 'urn:lintel:problem:invalid-request',
        errors: [{ path: 'evidenceRef', code: 'custom' }],
      });
      const digits = evidenceRef.replace(/[^0-9]/g, '');
      expect(refused.text.replace(/[^0-9]/g, ''), evidenceRef).not.toContain(digits);
    }
    expect(await consentEvents()).toBe(before);
    const reasons = await reasonCodesOf(t, 'la-housing', 'consent.record');
    expect(reasons.slice(-identifiers.length)).toEqual(identifiers.map(() => 'invalid-request'));
    // A reference that is not an identifier is kept as before.
    const accepted = await post('la-housing', ['dpo'], 'service-planning', {
      kind: 'opt-out',
      subject: known,
      evidenceRef: 'DPO/OPTOUT/2026-0042',
    });
    expect([200, 201]).toContain(accepted.status);
  });

  it('answers every refusal to withdraw as an unknown id, whatever the reason, and logs the reason', async () => {
    const id = await recordOptOut('9434765889', 'Ada');
    const before = await withdrawReasons('la-housing');
    const unknownId = await withdraw('00000000-0000-4000-8000-000000000000', 'la-housing', ['dpo'], 'service-planning');
    expect(unknownId.status).toBe(404);
    const refusals: [string[], string | undefined, string][] = [
      // The recording party's DPO, but without X-Purpose: the opt-out's purpose is not on the record.
      [['dpo'], undefined, 'purpose-required'],
      // A purpose the opt-out does not apply to.
      [['dpo'], 'homelessness-prevention', 'purpose-not-permitted'],
      // The recording party, without the DPO role.
      [['analyst'], 'service-planning', 'role-not-permitted'],
    ];
    for (const [roles, purpose, reason] of refusals) {
      const res = await withdraw(id, 'la-housing', roles, purpose);
      expect(res.status, reason).toBe(404);
      expect(res.contentType, reason).toBe('application/problem+json');
      expect(res.text, reason).toBe(unknownId.text);
    }
    expect(await withdrawReasons('la-housing')).toEqual([
      ...before,
      'consent-unknown',
      'purpose-required',
      'purpose-not-permitted',
      'role-not-permitted',
    ]);
    // None of them withdrew it.
    const withdrawn = await withdraw(id, 'la-housing', ['dpo'], 'service-planning');
    expect(withdrawn.status).toBe(200);
  });

  it('answers a second withdrawal alike, and logs it as already withdrawn, not as another withdrawal', async () => {
    const id = await recordOptOut('9434765897', 'Bea');
    const before = await withdrawReasons('la-housing');
    const first = await withdraw(id, 'la-housing', ['dpo'], 'service-planning');
    const second = await withdraw(id, 'la-housing', ['dpo'], 'service-planning');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(first.body).toMatchObject({ consentId: id, kind: 'opt-out', withdrawnAt: expect.any(String) });
    expect(await withdrawReasons('la-housing')).toEqual([...before, 'opt-out-withdrawn', 'already-withdrawn']);
  });

  it('answers withdrawals only with problem types the API document lists for the operation', async () => {
    const id = await recordOptOut('9434765900', 'Cal');
    const documented = new Set(
      [...OPERATIONS.consentsWithdraw!.problems, ...REQUEST_PATH_PROBLEMS].map((code) => `urn:lintel:problem:${code}`),
    );
    const unauthenticated = await fetch(`${t.url}/api/v1/consents/${id}`, { method: 'DELETE' });
    const answers = [
      { status: unauthenticated.status, body: (await unauthenticated.json()) as Record<string, unknown> },
      await withdraw('not-a-uuid', 'la-housing', ['dpo'], 'service-planning'),
      await withdraw(id, 'la-education', ['dpo'], 'service-planning'),
      await withdraw(id, 'la-housing', ['dpo']),
      await withdraw(id, 'la-housing', ['dpo'], 'not-a-purpose'),
      await withdraw(id, 'la-housing', ['dpo'], 'research-evaluation'),
      await withdraw(id, 'la-housing', ['housing-officer'], 'service-planning'),
      await withdraw(id, 'kettering-borough-council', ['dpo'], 'service-planning'),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(documented, `${answer.status} ${String(answer.body.type)}`).toContain(answer.body.type);
    }
  });
});
