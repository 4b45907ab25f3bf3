import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An opt-out by names alone for someone nobody held keeps only their names key, hashed
 * (opt-out-by-names-not-held.test.ts). Found by a review, after a key rotation and in a DPO's
 * subject access request by the same names: recorded again, it answered 201 with a second
 * opt-out where for someone held it answers 200 (the key's hash was looked for under the new
 * version only); and the request answered 404, though the opt-out's recording is a processing of
 * the person's data they are owed (UK GDPR Art. 15).
 */
describe('an opt-out by names alone for nobody held, after a key rotation and asked for by the DPO', () => {
  let t: TestHost;
  const RECORDER = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const AUDITOR = { party: 'la-housing', roles: ['dpo'] };
  const subjects = {
    held: { givenName: 'Imogen', familyName: 'Quarrie', dateOfBirth: '2013-01-01' },
    notHeldByDate: { givenName: 'Imogen', familyName: 'Quarrie', dateOfBirth: '2013-01-02' },
    notHeldByPostcode: { givenName: 'Jude', familyName: 'Quarrie', postcode: 'ME14 2QR' },
  };
  const consentIds: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Imogen',
      familyName: 'Quarrie',
      dateOfBirth: '2013-01-01',
      postcode: 'ME14 2AA',
      attributes: {},
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const optOut = (subject: object) =>
    callApi(t, '/v1/consents', { ...RECORDER, body: { kind: 'opt-out', subject, evidenceRef: 'DPO/NDOO/10' } });
  const statuses = async () => {
    const answers: Record<string, { status: number; consentId: unknown }> = {};
    for (const [name, subject] of Object.entries(subjects)) {
      const answer = await optOut(subject);
      answers[name] = { status: answer.status, consentId: answer.body.consentId };
    }
    return answers;
  };

  it('answers 200 with the opt-out in force when recorded again after a key rotation, as for someone held', async () => {
    for (const [name, answer] of Object.entries(await statuses())) {
      expect(answer.status, name).toBe(201);
      consentIds[name] = answer.consentId as string;
    }
    (t.host.services.secrets as LocalSecretSource).rotate('pseudonymisation-key');
    expect(await statuses(), 'names of nobody held were told apart from those of a person held').toEqual(
      Object.fromEntries(Object.keys(subjects).map((name) => [name, { status: 200, consentId: consentIds[name] }])),
    );
    const recorded = await t.host.services.store.db
      .selectFrom('consent_event')
      .select('consent_id')
      .distinct()
      .where('kind', '=', 'opt-out')
      .where('action', '=', 'record')
      .execute();
    expect(recorded, 'one opt-out each').toHaveLength(Object.keys(subjects).length);
  });

  it("shows the opt-out's recording to a DPO's request by the same names, under the key it was kept under", async () => {
    for (const name of ['notHeldByDate', 'notHeldByPostcode'] as const) {
      const res = await callApi(t, '/v1/audit/people/accesses', { ...AUDITOR, body: subjects[name] });
      expect(res.status, `${name}: ${res.text}`).toBe(200);
      const entries = res.body.entries as { action: string; partyId: string; reasonCode: string }[];
      expect(
        entries.filter((e) => e.action === 'consent.record').map((e) => [e.partyId, e.reasonCode]),
        name,
      ).toEqual([
        ['la-education', 'opt-out-recorded'],
        ['la-education', 'opt-out-already-recorded'],
      ]);
      expect(res.body.otherMatches, name).toEqual([]);
    }
  });

  it('answers 404 to a request by names no record holds and no opt-out keeps', async () => {
    const res = await callApi(t, '/v1/audit/people/accesses', {
      ...AUDITOR,
      body: { givenName: 'Imogen', familyName: 'Quarrie', dateOfBirth: '2013-01-03' },
    });
    expect(res.status, res.text).toBe(404);
  });
});
