import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { hasSecretShape } from './secret-generators.js';
import {
  SecretMalformedError,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
  type SecretValue,
} from './secret-source.js';

export interface KeyVaultSecretSourceOptions {
  vaultUri: string;
  /** Secret name → version. A pinned secret never changes under a running app. */
  pinnedVersions?: Readonly<Record<string, string>>;
  /** How long an unpinned "latest" is trusted before Key Vault is asked again (rotation pick-up). */
  latestTtlMs?: number;
  credential?: TokenCredential;
  /** The HTTP client under the SDK (tests answer as Key Vault would). */
  httpClient?: SecretClientOptions['httpClient'];
  now?: () => number;
}

/**
 * Key Vault through managed identity. Exact versions are immutable, so they are cached for the
 * life of the process; "latest" is cached briefly so a rotation reaches every instance.
 */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretClient;
  private readonly exact = new Map<string, Promise<SecretValue>>();
  private readonly latest = new Map<string, { at: number; value: Promise<SecretValue> }>();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(private readonly options: KeyVaultSecretSourceOptions) {
    this.client = new SecretClient(options.vaultUri, options.credential ?? new DefaultAzureCredential(), {
      httpClient: options.httpClient,
    });
    this.ttl = options.latestTtlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  get(name: SecretName, version?: string): Promise<SecretValue> {
    const wanted = version ?? this.options.pinnedVersions?.[name];
    if (wanted) {
      const key = `${name}/${wanted}`;
      let cached = this.exact.get(key);
      if (!cached) {
        cached = this.fetch(name, wanted);
        this.exact.set(key, cached);
        cached.catch(() => this.exact.delete(key));
      }
      return cached;
    }
    const hit = this.latest.get(name);
    if (hit && this.now() - hit.at < this.ttl) return hit.value;
    const value = this.fetch(name, undefined);
    this.latest.set(name, { at: this.now(), value });
    value.catch(() => this.latest.delete(name));
    return value;
  }

  private async fetch(name: SecretName, version: string | undefined): Promise<SecretValue> {
    let read: SecretValue;
    try {
      const secret = await this.client.getSecret(name, version ? { version } : {});
      if (secret.value === undefined || !secret.properties.version) throw new Error('empty secret');
      read = { name, value: secret.value, version: secret.properties.version };
    } catch (err) {
      if (isGone(err)) throw new SecretVersionGoneError(name, version, { cause: err });
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
