import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consentToResearch,
  insertRecord,
  recordConsent,
  ROBIN_IN_SOCIAL_CARE,
  ROBIN_NHS,
  SAM,
  SAM_PARTICIPANT,
} from '../support/records.js';
import { callApi, startTestHost, withdrawConsent, type ApiAnswer, type TestHost } from '../support/test-host.js';

/**
 * A provider that recorded a consent or opt-out reads it back to learn whether it is still in
 * force: `GET /api/v1/consents/{id}`, answered only to the party that recorded it, with the roles
 * that may withdraw it, and as an unknown id to anyone else. Each read leaves one access-log
 * entry, allowed or refused, and answers nothing about the person.
 */
describe('reading a consent or opt-out back', () => {
  let t: TestHost;
  let consentId: string;
  let optOutId: string;
  const DUDLEY_OFFICER = { party: 'dudley-housing-options', roles: ['housing-officer'] };

  const read = (id: string, caller: { party: string; roles: string[]; purpose?: string }) =>
    callApi(t, `/v1/consents/${id}`, { ...caller, method: 'GET' });

  /** The access-log entries the answer's request left. */
  const entriesOf = (answer: ApiAnswer) =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['action', 'decision', 'reason_code', 'subject_ref', 'purpose'])
      .where('request_id', '=', answer.headers.get('x-request-id')!)
      .execute();
  const recordingSubject = async (reason: string) =>
    (
      await t.host.services.store.db
        .selectFrom('access_log')
        .select('subject_ref')
        .where('action', '=', 'consent.record')
        .where('reason_code', '=', reason)
        .executeTakeFirstOrThrow()
    ).subject_ref;

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, SAM_PARTICIPANT);
    await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
    consentId = await consentToResearch(t, SAM, 'HF/CONSENT/VIEW');
    optOutId = await recordConsent(
      t,
      { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' },
      { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/VIEW' },
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers the recording party that its consent is in force, then when it was withdrawn', async () => {
    const inForce = await read(consentId, { ...DUDLEY_OFFICER, purpose: 'research-evaluation' });
    expect(inForce.status, inForce.text).toBe(200);
    expect(inForce.body).toEqual({
      consentId,
      kind: 'consent',
      purpose: 'research-evaluation',
      recordedAt: expect.any(String),
      withdrawnAt: null,
      detachedAt: null,
      reachesNoOne: false,
    });
    expect(await entriesOf(inForce)).toEqual([
      {
        action: 'consent.view',
        decision: 'allow',
        reason_code: 'consent-shown',
        subject_ref: await recordingSubject('consent-recorded'),
        purpose: 'research-evaluation',
      },
    ]);

    const withdrawn = await withdrawConsent(t, consentId, { party: 'dudley-housing-options', roles: ['dpo'] });
    expect(withdrawn.status, withdrawn.text).toBe(200);
    // Read by its DPO, in the case the UUID was written in: the same consent.
    const read2 = await read(consentId.toUpperCase(), { party: 'dudley-housing-options', roles: ['dpo'] });
    expect(read2.status, read2.text).toBe(200);
    expect(read2.body).toEqual({ ...inForce.body, withdrawnAt: withdrawn.body.withdrawnAt });
    expect(read2.body.withdrawnAt).toEqual(expect.any(String));
    expect((await entriesOf(read2)).map((e) => [e.decision, e.reason_code])).toEqual([['allow', 'consent-shown']]);
  });

  it('answers any other party, or an id never issued, as unknown, and logs each refusal once', async () => {
    const probes: [string, { party: string; roles: string[]; purpose?: string }, string][] = [
      // The researchers the consent releases data to, a party to the same agreement.
      [consentId, { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' }, 'consent-unknown'],
      // A DPO of another party to the opt-out's agreement.
      [optOutId, { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' }, 'consent-unknown'],
      // The recording party, but not a role that may withdraw an opt-out.
      [optOutId, { party: 'la-housing', roles: ['analyst'], purpose: 'service-planning' }, 'role-not-permitted'],
      ['00000000-0000-4000-8000-000000000000', { ...DUDLEY_OFFICER }, 'consent-unknown'],
    ];
    for (const [id, caller, reason] of probes) {
      const where = `${caller.party} ${caller.roles.join()}`;
      const refused = await read(id, caller);
      expect(refused.status, where).toBe(404);
      expect(refused.body, where).toMatchObject({ type: 'urn:lintel:problem:consent-unknown', status: 404 });
      expect(refused.text, where).not.toContain(ROBIN_NHS);
      expect(
        (await entriesOf(refused)).map((e) => [e.action, e.decision, e.reason_code]),
        where,
      ).toEqual([['consent.view', 'deny', reason]]);
    }
  });

  it("answers the recording party's DPO its opt-out, under a purpose the opt-out applies to", async () => {
    const optOut = await read(optOutId, { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' });
    expect(optOut.status, optOut.text).toBe(200);
    expect(optOut.body).toEqual({
      consentId: optOutId,
      kind: 'opt-out',
      purpose: null,
      recordedAt: expect.any(String),
      withdrawnAt: null,
      detachedAt: null,
      reachesNoOne: false,
    });
    expect(await entriesOf(optOut)).toMatchObject([
      { action: 'consent.view', decision: 'allow', reason_code: 'opt-out-shown' },
    ]);
    expect((await entriesOf(optOut))[0]!.subject_ref).toBe(await recordingSubject('opt-out-recorded'));
  });
});
