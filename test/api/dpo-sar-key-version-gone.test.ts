import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pseudonymiser } from '../../shared/domain/pseudonymise.js';
import { enforceRetention } from '../../shared/retention/enforce-retention.js';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { SecretUnavailableError } from '../../shared/secrets/secret-source.js';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const DPO = { party: 'la-housing', roles: ['dpo'] };
const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };

/**
 * Retention deleted Robin's records under the old pseudonymisation key, which kept only the
 * hashes of Robin's identifiers under that version; the key was rotated and Bob, still held, is
 * hashed under the new one. Then the old version is deleted from Key Vault at the end of a
 * retention period (crypto-shredding). Found by a defect hunt: every subject access request by
 * identifiers answered 503 until the deleted version was restored — Bob's too, whom the lost key
 * could never have matched.
 */
describe('a subject access request by identifiers once a key version only kept hashes use is deleted', () => {
  const ROBIN_NHS = nhs(6101);
  const BOB_NHS = nhs(6102);
  let t: TestHost;
  let shredded: string;
  let secrets: LocalSecretSource;
  let read: LocalSecretSource['get'];

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const { services } = t.host;
    secrets = services.secrets as LocalSecretSource;
    read = secrets.get.bind(secrets);
    const person = (givenName: string, nhsNumber: string) =>
      insertRecord(services, {
        partyId: 'la-housing',
        datasetId: DATASET,
        givenName,
        familyName: 'Hale',
        dateOfBirth: '2012-05-06',
        identifiers: { nhs: nhsNumber },
        attributes: { firstName: givenName, lastName: 'Hale', inTemporaryAccommodation: true },
      });
    const robin = await person('Robin', ROBIN_NHS);
    await person('Bob', BOB_NHS);
    await services.store.db
      .updateTable('source_record')
      .set({ attributes: JSON.stringify({ firstName: 'Robin', lastName: 'Hale', inTemporaryAccommodation: false }) })
      .where('id', '=', robin.recordId)
      .execute();
    const { store, agreements, accessLog, logger } = services;
    const [summary] = await enforceRetention({ store, agreements, accessLog, logger }, AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1 });

    shredded = (await secrets.get('pseudonymisation-key')).version;
    secrets.rotate('pseudonymisation-key');
    const current = await secrets.get('pseudonymisation-key');
    const pseudonymiser = new Pseudonymiser({ keyVersion: current.version, key: Buffer.from(current.value, 'base64') });
    await store.db
      .updateTable('record_identifier')
      .set({ hash: pseudonymiser.hash('nhs', BOB_NHS), key_version: current.version })
      .where('key_version', '=', shredded)
      .execute();
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: BOB_NHS } })).status).toBe(200);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });
  afterAll(async () => t?.stop());

  /** Key Vault without the shredded version: the local source's answer for a version it never held. */
  const shred = () =>
    vi.spyOn(secrets, 'get').mockImplementation((name, version) => read(name, version === shredded ? 'gone' : version));
  const sar = (nhsNumber: string) => callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber } });

  it('answers for Bob, and tells the DPO how many hash sets under which version it could not compare', async () => {
    shred();
    const warn = vi.spyOn(t.host.services.logger, 'warn');
    const res = await sar(BOB_NHS);
    // Without the fix: 503 key-unavailable.
    expect(res.status, res.text).toBe(200);
    expect((res.body.entries as { action: string }[]).map((e) => e.action)).toContain('person.search');
    expect(res.body.notCompared).toEqual({
      detail: expect.any(String),
      keyVersions: [{ keyVersion: shredded, hashSets: 1 }],
    });
    const warned = warn.mock.calls.filter(([event]) => event === 'api.kept-key-versions-gone');
    expect(warned).toHaveLength(1);
    expect(warned[0]![1]).toEqual({ keyVersions: [shredded] });
  });

  it('answers 404 for Robin, whom only the shredded hashes held, and says what it could not compare', async () => {
    shred();
    const res = await sar(ROBIN_NHS);
    // Without the fix: 503 key-unavailable.
    expect(res.status, res.text).toBe(404);
    expect(res.body).toMatchObject({
      type: 'urn:lintel:problem:no-match',
      notCompared: { keyVersions: [{ keyVersion: shredded, hashSets: 1 }] },
    });
    expect(res.text).not.toContain(ROBIN_NHS);
  });

  it('documents the field in the OpenAPI document, for the 200 and for the problems', async () => {
    const doc = JSON.stringify(await (await fetch(`${t.url}/api/openapi.json`)).json());
    const schemas = (JSON.parse(doc) as { components: { schemas: Record<string, { properties?: object }> } }).components
      .schemas;
    expect(Object.keys(schemas.PersonAccesses?.properties ?? {})).toContain('notCompared');
    expect(Object.keys(schemas.Problem?.properties ?? {})).toContain('notCompared');
  });

  it('still answers 503 while the kept version cannot be read for a passing fault', async () => {
    vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (version === shredded) throw new SecretUnavailableError(name);
      return read(name, version);
    });
    const res = await sar(BOB_NHS);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
  });

  it('still answers 503 when the current key itself is gone: an outage, not shredding', async () => {
    vi.spyOn(secrets, 'get').mockImplementation((name, version) =>
      read(name, name === 'pseudonymisation-key' && version === undefined ? 'gone' : version),
    );
    // Past the minute the API keeps the versions it read.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 * 60_000 });
    const res = await sar(BOB_NHS);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
  });
});
