import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../shared/config.js';
import { checkHealth } from '../../../shared/health/check-health.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import {
  SecretMalformedError,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
} from '../../../shared/secrets/secret-source.js';
import { createServices } from '../../../shared/services.js';
import { loggedWhile } from '../../support/logged-lines.js';
import { testSettings } from '../../support/settings.js';

/**
 * Key Vault as the secrets port reports it: the test's key file for every secret but one, which
 * fails as `fault` says. What Key Vault's source throws for a disabled version, one in another
 * shape, or a vault it could not reach (key-vault-secret-source.ts).
 */
function vaultFailing(settingsKeyFile: string, failing: SecretName, fault: () => Error): SecretSource {
  const held = new LocalSecretSource(settingsKeyFile);
  return { get: (name, version) => (name === failing ? Promise.reject(fault()) : held.get(name, version)) };
}

describe('the keys an app starts with', () => {
  // A key set by hand in another shape, or a pinned version since disabled, was found by the
  // first import, lookup or checkpoint; till then /api/health said `up` and the operator's
  // step 3 passed.
  it('stop start-up when one is not in its shape or not there, naming the secret and version', async () => {
    const settings = testSettings();
    const malformed = vaultFailing(
      join(settings.SQLITE_PATH, '..', 'vault.json'),
      'pseudonymisation-key',
      () => new SecretMalformedError('pseudonymisation-key', '0a1b2c'),
    );
    const services = createServices(settings, undefined, { secrets: malformed });
    const err = await services.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(
      'Invalid configuration:\n  - Secret pseudonymisation-key version 0a1b2c is not in its shape (infra/README.md, step 1)',
    );
    expect(await checkHealth(services)).toEqual({
      status: 'down',
      checks: { configuration: 'down', store: 'down', blobStorage: 'down' },
    });

    const disabledPin = testSettings();
    const disabled = vaultFailing(
      join(disabledPin.SQLITE_PATH, '..', 'vault.json'),
      'audit-signing-key',
      () => new SecretVersionGoneError('audit-signing-key', 'd4e5f6'),
    );
    await expect(createServices(disabledPin, undefined, { secrets: disabled })).rejects.toThrow(
      'Invalid configuration:\n  - Secret audit-signing-key version d4e5f6 does not exist or is disabled',
    );
  });

  // An outage says nothing of the configuration: the paths that need the key answer 503 to retry.
  it('start while Key Vault cannot be read this time, naming the secret in the log', async () => {
    const settings = testSettings({ LOG_LEVEL: 'info' });
    const down = vaultFailing(
      join(settings.SQLITE_PATH, '..', 'vault.json'),
      'person-ref-key',
      () => new SecretUnavailableError('person-ref-key'),
    );
    const { result, lines } = await loggedWhile(() => createServices(settings, undefined, { secrets: down }));
    await result.close();
    expect(lines.filter((line) => line.event === 'secrets.unavailable-at-start')).toEqual([
      expect.objectContaining({ level: 'warn', secret: 'person-ref-key' }),
    ]);
  });

  // An operator's identity may hold no role on the vault, and `migrate` needs none.
  it("are not read by an operator's script", async () => {
    const settings = testSettings();
    const refused = vaultFailing(
      join(settings.SQLITE_PATH, '..', 'vault.json'),
      'pseudonymisation-key',
      () => new SecretMalformedError('pseudonymisation-key', '0a1b2c'),
    );
    const services = await createServices(settings, undefined, { secrets: refused, operatorScript: true });
    await services.close();
  });
});
