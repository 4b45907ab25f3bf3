import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

const DATASET = 'multiple-disadvantage-indicators';
const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };

/**
 * An instance reads the pseudonymisation key versions the store holds once a minute, and again
 * before a lookup answer no identifier found. A subject access request and a consent or opt-out
 * recorded by identifiers must see everyone the identifiers reach, and are rare: within that
 * minute of an import under a newly rotated key, identifiers hashed under it must reach their
 * people as they do a minute later. Alex is held by Housing under the old key; Casey, another
 * child, by children's social care under the new one, which this instance has not read yet.
 * Alex's NHS number with Casey's social care id names two children.
 */
describe('identifiers that name someone held under a key version the instance has not read yet', () => {
  const ALEX_NHS = nhs(5301);
  const CASEY_SYSTEM_ID = { system: 'social-care', id: 'SC20077' };
  const identifiers = { nhsNumber: ALEX_NHS, systemId: CASEY_SYSTEM_ID };
  let t: TestHost;
  let alex: string;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const { services } = t.host;
    ({ personId: alex } = await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Alex',
      familyName: 'Reed',
      dateOfBirth: '2013-03-04',
      identifiers: { nhs: ALEX_NHS },
      attributes: { firstName: 'Alex', lastName: 'Reed', inTemporaryAccommodation: true },
    }));
    // The instance now holds the store's one key version for a minute.
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: ALEX_NHS } })).status).toBe(200);
    (services.secrets as LocalSecretSource).rotate('pseudonymisation-key');
    await insertRecord(services, {
      partyId: 'la-childrens-social-care',
      datasetId: DATASET,
      givenName: 'Casey',
      familyName: 'Lee',
      dateOfBirth: '2014-07-08',
      identifiers: { nhs: nhs(5302), [`system-id:${CASEY_SYSTEM_ID.system}`]: CASEY_SYSTEM_ID.id },
      attributes: { firstName: 'Casey', lastName: 'Lee', childProtection: true },
    });
  });
  afterAll(async () => t?.stop());

  it('a subject access request does not settle on Alex, and names Casey among the matches', async () => {
    const res = await callApi(t, '/v1/audit/people/accesses', {
      party: 'la-housing',
      roles: ['dpo'],
      body: identifiers,
    });
    // Without the fix: 200 with Alex's accesses and no other match.
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:unsettled-match', reason: 'identifier-conflict' });
    expect((res.body.matches as { tier: number }[]).map((m) => m.tier)).toEqual([1, 2]);
  });

  it('an opt-out is not recorded against Alex when the identifiers also name Casey', async () => {
    const res = await callApi(t, '/v1/consents', {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: identifiers, evidenceRef: 'DPO/NDOO/7' },
    });
    expect(res.status).toBe(404);
    const recorded = await t.host.services.store.db
      .selectFrom('consent_event')
      .select('subject_key')
      .where('subject_key', '=', alex)
      .execute();
    expect(recorded).toEqual([]);
  });
});
