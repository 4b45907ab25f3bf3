import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An opt-out by names alone for someone nobody held keeps only their names key, hashed
 * (opt-out-by-names-not-held.test.ts). Found by a review: recorded again after a key rotation, it
 * answered 201 with a second opt-out where for someone held it answers 200 (the key's hash was
 * looked for under the new version only), which told the two apart again.
 */
describe('an opt-out by names alone for nobody held, after a key rotation', () => {
  let t: TestHost;
  const RECORDER = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
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
});
