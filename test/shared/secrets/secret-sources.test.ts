import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainedTokenCredential, CredentialUnavailableError, type TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import { failureLine } from '../../../scripts/cli.js';
import { KeyVaultSecretSource } from '../../../shared/secrets/key-vault-secret-source.js';
import { LocalSecretSource, SecretsFileError } from '../../../shared/secrets/local-secret-source.js';
import {
  SecretAccessRefusedError,
  SecretMalformedError,
  SecretUnavailableError,
  SecretVersionGoneError,
} from '../../../shared/secrets/secret-source.js';

/**
 * A version that is gone (deleted, never made, disabled) is told apart from one that could not
 * be read this time: an import drops person ids only for the first (import-extract.ts), and
 * retries the second.
 */

type HttpClient = NonNullable<SecretClientOptions['httpClient']>;
type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

const VAULT = 'https://lintel-test.vault.azure.net';
const credential: TokenCredential = {
  getToken: async () => ({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** Key Vault as the SDK meets it: a 401 challenge for a request without a token, then `answer`. */
function vault(answer: () => Answer): HttpClient {
  return {
    sendRequest: async (request) => {
      const authorised = request.headers.get('authorization') !== undefined;
      const { status, body, headers } = authorised
        ? answer()
        : {
            status: 401,
            body: undefined,
            headers: {
              'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"`,
            },
          };
      const all = new Map(Object.entries({ 'content-type': 'application/json', ...headers }));
      return {
        request,
        status,
        bodyAsText: body === undefined ? '' : JSON.stringify(body),
        headers: {
          get: (name: string) => all.get(name.toLowerCase()),
          has: (name: string) => all.has(name.toLowerCase()),
          set: (name: string, value: string | number | boolean) => void all.set(name.toLowerCase(), String(value)),
          delete: (name: string) => void all.delete(name.toLowerCase()),
          toJSON: () => Object.fromEntries(all),
          [Symbol.iterator]: () => all.entries(),
        },
      };
    },
  };
}

const kvError = (code: string, inner?: string) => ({
  error: { code, message: 'refused', ...(inner === undefined ? {} : { innererror: { code: inner } }) },
});

async function failureOf(answer: Answer): Promise<unknown> {
  const source = new KeyVaultSecretSource({ vaultUri: VAULT, credential, httpClient: vault(() => answer) });
  return source.get('pseudonymisation-key', 'a1b2c3').then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('the Key Vault secret source', () => {
  it('reads a version it is given', async () => {
    // As `openssl rand -base64 64` writes it: a longer key, its line wrapped at 64 characters.
    const key = `${randomBytes(64).toString('base64').replace(/.{64}/, '$&\n')}\n`;
    const source = new KeyVaultSecretSource({
      vaultUri: VAULT,
      credential,
      httpClient: vault(() => ({
        status: 200,
        body: { value: key, id: `${VAULT}/secrets/pseudonymisation-key/a1b2c3`, attributes: { enabled: true } },
      })),
    });
    expect(await source.get('pseudonymisation-key', 'a1b2c3')).toEqual({
      name: 'pseudonymisation-key',
      value: key,
      version: 'a1b2c3',
    });
  });

  it('says a version is gone when Key Vault does not have it (404) or it is disabled (403 SecretDisabled)', async () => {
    for (const answer of [
      { status: 404, body: kvError('SecretNotFound') },
      { status: 403, body: kvError('Forbidden', 'SecretDisabled') },
    ]) {
      const err = await failureOf(answer);
      expect(err, String(answer.status)).toBeInstanceOf(SecretVersionGoneError);
      expect(err).toBeInstanceOf(SecretUnavailableError);
    }
  });

  it('says only "unavailable" for throttling, a fault, the app refused access, or no answer at all', async () => {
    for (const answer of [
      { status: 429, body: kvError('Throttled'), headers: { 'retry-after': '0' } },
      { status: 500, body: kvError('InternalServerError') },
      { status: 503, body: kvError('ServiceUnavailable'), headers: { 'retry-after': '0' } },
      // An RBAC refusal is about the app's own access, not the version: an operator fixes it.
      { status: 403, body: kvError('Forbidden', 'ForbiddenByRbac') },
    ]) {
      const err = await failureOf(answer);
      expect(err, String(answer.status)).toBeInstanceOf(SecretUnavailableError);
      expect(err, String(answer.status)).not.toBeInstanceOf(SecretVersionGoneError);
    }
    const down = new KeyVaultSecretSource({
      vaultUri: VAULT,
      credential,
      httpClient: {
        sendRequest: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        },
      },
    });
    const err = await down.get('pseudonymisation-key', 'a1b2c3').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect(err).not.toBeInstanceOf(SecretVersionGoneError);
  }, 60_000);
  // The operator's CLIs (scripts/cli.ts) read the SDK's error by shape: checked here against the
  // error the SDK throws, not one a test made up.
  it('gives an operator refused by Key Vault the status, the codes and the role, and nothing of the message', async () => {
    const err = await failureOf({ status: 403, body: kvError('Forbidden', 'ForbiddenByRbac') });
    // A refusal, which a cached version does not outlive (cached-secret-source.ts).
    expect(err).toBeInstanceOf(SecretAccessRefusedError);
    expect(failureLine('audit', err)).toBe(
      'audit: Key Vault refused this identity (403 Forbidden, ForbiddenByRbac): it needs the Key Vault Secrets User role on the vault (infra/README.md, "Operator access")\n',
    );
  });
  // A rotation made by hand in another shape (`openssl rand -base64 16`, an RSA key) was read and
  // used: an import failed on a RangeError, a checkpoint on a TypeError, "audit: failed (TypeError)".
  it("refuses a version not in its secret's shape, naming the secret and version, quoting no key", async () => {
    const short = randomBytes(16).toString('base64');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    for (const [name, value] of [
      ['pseudonymisation-key', short],
      ['audit-signing-key', rsa],
    ] as const) {
      const source = new KeyVaultSecretSource({
        vaultUri: VAULT,
        credential,
        httpClient: vault(() => ({
          status: 200,
          body: { value, id: `${VAULT}/secrets/${name}/0a1b2c`, attributes: { enabled: true } },
        })),
      });
      const err = await source.get(name).catch((e: unknown) => e);
      const line = failureLine('audit', err);
      expect(line).toBe(`audit: Secret ${name} version 0a1b2c is not in its shape (infra/README.md, step 1)\n`);
      expect(line).not.toContain(value.slice(0, 8));
      expect(err, name).toBeInstanceOf(SecretMalformedError);
    }
  });
  // A pin moved to a version since disabled, or the latest version disabled, stopped the
  // operator's scripts with "failed (SecretVersionGoneError)": not which of three secrets, nor
  // which version to restore, re-enable or pin.
  it('tells an operator which secret and version Key Vault no longer has, quoting nothing of its answer', async () => {
    const pinned = new KeyVaultSecretSource({
      vaultUri: VAULT,
      credential,
      pinnedVersions: { 'audit-signing-key': 'd4e5f6' },
      httpClient: vault(() => ({ status: 403, body: kvError('Forbidden', 'SecretDisabled') })),
    });
    const disabledPin = await pinned.get('audit-signing-key').catch((e: unknown) => e);
    expect(failureLine('audit', disabledPin)).toBe(
      'audit: Secret audit-signing-key version d4e5f6 does not exist or is disabled: restore or re-enable it, or pin a version that is there (SECRET_VERSIONS) (infra/README.md, "Rotating keys")\n',
    );
    const latest = new KeyVaultSecretSource({
      vaultUri: VAULT,
      credential,
      httpClient: vault(() => ({ status: 403, body: kvError('Forbidden', 'SecretDisabled') })),
    });
    const disabledLatest = await latest.get('person-ref-key').catch((e: unknown) => e);
    expect(failureLine('curate', disabledLatest)).toBe(
      'curate: Secret person-ref-key has no current version to read: it does not exist, or its latest version is disabled: restore or re-enable it, or pin a version that is there (SECRET_VERSIONS) (infra/README.md, "Rotating keys")\n',
    );
  });
  // Key Vault answers a token of another tenant (or expired) 401: not a role to grant.
  it('tells an operator whose token Key Vault did not accept to sign in again, advising no role', async () => {
    const err = await failureOf({ status: 401, body: kvError('Unauthorized') });
    expect(err).toBeInstanceOf(SecretAccessRefusedError);
    const line = failureLine('audit', err);
    expect(line).toBe(
      'audit: Key Vault did not accept this identity\'s token (401 Unauthorized): it is for another tenant, or has expired: sign in again (`az login --tenant <tenant id>`) (infra/README.md, "Operator access")\n',
    );
  });
  // A machine signed in to no Azure account: the SDK's chain finds no credential once the vault's
  // challenge names its tenant. The line was `audit: failed (SecretUnavailableError)`.
  it('tells an operator signed in to nothing to sign in, not that the vault refused', async () => {
    const signedOut = new ChainedTokenCredential({
      getToken: () => Promise.reject(new CredentialUnavailableError('EnvironmentCredential is unavailable.')),
    });
    const source = new KeyVaultSecretSource({
      vaultUri: VAULT,
      credential: signedOut,
      httpClient: vault(() => ({ status: 200, body: {} })),
    });
    const err = await source.get('audit-signing-key').catch((e: unknown) => e);
    expect(failureLine('audit', err)).toBe(
      'audit: no Azure credential found: sign in with `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or run with a managed identity)\n',
    );
  });
});

describe('the local secret source', () => {
  it('says a version its file does not hold is gone, as Key Vault would', async () => {
    const local = new LocalSecretSource(join(mkdtempSync(join(tmpdir(), 'lintel-secrets-')), 'secrets.json'));
    const current = await local.get('pseudonymisation-key');
    expect(await local.get('pseudonymisation-key', current.version)).toEqual(current);
    await expect(local.get('pseudonymisation-key', 'no-such-version')).rejects.toBeInstanceOf(SecretVersionGoneError);
  });

  // A version restored or added by hand was found out by the first import or checkpoint to read
  // it: a RangeError, or a TypeError the operator's line named by its kind alone.
  it('refuses a key file edited out of shape at once, naming the secret and version, quoting no key', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-secrets-')), 'secrets.json');
    new LocalSecretSource(path);
    const written = JSON.parse(readFileSync(path, 'utf8')) as {
      secrets: Record<string, { current: string; versions: Record<string, string> }>;
    };
    const refusal = (edit: (secrets: typeof written.secrets) => void): string => {
      const secrets = structuredClone(written.secrets);
      edit(secrets);
      writeFileSync(path, JSON.stringify({ secrets }));
      try {
        new LocalSecretSource(path);
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(SecretsFileError);
        return (err as Error).message;
      }
    };
    const short = randomBytes(16).toString('base64');
    expect(refusal((s) => (s['pseudonymisation-key']!.versions['f00d'] = short))).toBe(
      `${path} holds pseudonymisation-key version f00d in a shape that is not pseudonymisation-key's`,
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    expect(refusal((s) => (s['audit-signing-key']!.versions['beef'] = rsa.toString()))).toBe(
      `${path} holds audit-signing-key version beef in a shape that is not audit-signing-key's`,
    );
    expect(refusal((s) => (s['person-ref-key']!.current = 'cafe'))).toBe(
      `${path} names person-ref-key version cafe current, and holds no such version`,
    );
    expect(refusal(() => undefined)).toBe('accepted');
  });
});
