import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { SecretMalformedError, SecretVersionGoneError } from '../../shared/secrets/secret-source.js';
import { AISHA_NI } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A key Key Vault holds in another shape (set by hand at a rotation), or no longer holds
 * (disabled, deleted), after the app started: no retry reads it until an operator acts. The 503
 * carried `Retry-After: 5` all the same, and partners' clients retried every five seconds a call
 * that could not succeed, told nothing else.
 */
describe('a key that waits for an operator', () => {
  let t: TestHost;
  const officer = { party: 'kettering-borough-council', roles: ['housing-officer'], purpose: 'housing-allocation' };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    // Where Key Vault would be: the port answers as the Key Vault source does for such versions.
    const secrets = t.host.services.secrets as LocalSecretSource;
    const get = secrets.get.bind(secrets);
    vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (name === 'pseudonymisation-key') throw new SecretMalformedError(name, '0a1b2c');
      if (name === 'person-ref-key') throw new SecretVersionGoneError(name, 'd4e5f6');
      return get(name, version);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  it.each([
    ['a search by an identifier, the key in another shape', '/v1/people/search', { niNumber: AISHA_NI }],
    ['a view by reference, the key disabled', '/v1/people/not-a-reference-anyway', undefined],
  ])('%s: 503 key-unavailable with no Retry-After, saying retrying will not help', async (_name, path, body) => {
    const res = await callApi(t, path, { ...officer, ...(body === undefined ? {} : { body }) });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.body.detail).toMatch(/Retrying will not help until the service's operator restores the key\.$/);
    // Neither the version nor the identifier asked about is the caller's to read.
    expect(res.text).not.toMatch(/0a1b2c|d4e5f6/);
    expect(res.text).not.toContain(AISHA_NI);
  });
});
