import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { CachedSecretSource, type CachedSecretSourceOptions } from './cached-secret-source.js';
import { hasSecretShape } from './secret-generators.js';
import {
  SecretAccessRefusedError,
  SecretMalformedError,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
  type SecretValue,
} from './secret-source.js';

export interface KeyVaultSecretSourceOptions extends CachedSecretSourceOptions {
  vaultUri: string;
  credential?: TokenCredential;
  /** The HTTP client under the SDK (tests answer as Key Vault would). */
  httpClient?: SecretClientOptions['httpClient'];
}

/** Key Vault through managed identity, each read cached a while (cached-secret-source.ts). */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretClient;
  private readonly cached: CachedSecretSource;

  constructor(options: KeyVaultSecretSourceOptions) {
    this.client = new SecretClient(options.vaultUri, options.credential ?? new DefaultAzureCredential(), {
      httpClient: options.httpClient,
    });
    this.cached = new CachedSecretSource({ get: (name, version) => this.fetch(name, version) }, options);
  }

  get(name: SecretName, version?: string): Promise<SecretValue> {
    return this.cached.get(name, version);
  }

  private async fetch(name: SecretName, version: string | undefined): Promise<SecretValue> {
    let read: SecretValue;
    try {
      const secret = await this.client.getSecret(name, version ? { version } : {});
      if (secret.value === undefined || !secret.properties.version) throw new Error('empty secret');
      read = { name, value: secret.value, version: secret.properties.version };
    } catch (err) {
      if (isGone(err)) throw new SecretVersionGoneError(name, version, { cause: err });
      if (isRefused(err)) throw new SecretAccessRefusedError(name, { cause: err });
      throw new SecretUnavailableError(name, { cause: err });
    }
    // Checked here, where the version is known: a key set by hand in another shape otherwise
    // failed where it was first used, a TypeError or RangeError naming neither secret nor version.
    if (!hasSecretShape(name, read.value)) throw new SecretMalformedError(name, read.version);
    return read;
  }
}

/**
 * Whether Key Vault said the secret version is not there to read: 404 (deleted or never made),
 * or 403 with inner code `SecretDisabled`. Any other 403 is the app's own access (RBAC, firewall)
 * and, like throttling, a 5xx or the network, is not a statement about the version: treating it
 * as gone would let an import drop every person id its rotation was meant to carry.
 */
function isGone(err: unknown): boolean {
  // The SDK's RestError, read by shape: @azure/core-rest-pipeline is not a dependency of ours.
  if (!(err instanceof Error)) return false;
  const { statusCode, details } = err as Error & {
    statusCode?: unknown;
    details?: { error?: { innerError?: { code?: unknown } | null } | null };
  };
  if (statusCode === 404) return true;
  return statusCode === 403 && details?.error?.innerError?.code === 'SecretDisabled';
}

/** Whether Key Vault refused this identity (401, or a 403 {@link isGone} does not read as gone). */
function isRefused(err: unknown): boolean {
  // A RestError by its name, as scripts/cli.ts reads it: @azure/identity's errors carry a status too.
  if (!(err instanceof Error) || err.name !== 'RestError' || isGone(err)) return false;
  const { statusCode } = err as Error & { statusCode?: unknown };
  return statusCode === 401 || statusCode === 403;
}
