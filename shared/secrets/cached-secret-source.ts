import {
  SecretAccessRefusedError,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
  type SecretValue,
} from './secret-source.js';

export interface CachedSecretSourceOptions {
  /** Secret name → version. A pinned secret never changes under a running app. */
  pinnedVersions?: Readonly<Record<string, string>>;
  /** How long a secret read is trusted before the vault is asked again (five minutes). */
  ttlMs?: number;
  now?: () => number;
}

/** How long a read is trusted: a rotation, or a version disabled, reaches every instance in it. */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;

/**
 * The secrets of a remote vault, each read at most once in {@link SECRET_CACHE_TTL_MS}. An exact
 * version's value never changes, but it can be disabled or deleted (a crypto-shredding at the end
 * of a retention period, a leaked key revoked): kept for the life of the process, it went on
 * matching, verifying and signing until the instance restarted. So it is read again once its
 * time is up, and dropped when the vault says it is gone or refuses this identity; when the vault
 * cannot answer for this time, the value read before is used on, since nothing says it was
 * revoked. "Latest" is read again in the same time, so a rotation reaches every instance.
 */
export class CachedSecretSource implements SecretSource {
  private readonly exact = new Map<string, { at: number; value: Promise<SecretValue> }>();
  private readonly latest = new Map<string, { at: number; value: Promise<SecretValue> }>();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(
    private readonly vault: SecretSource,
    private readonly options: CachedSecretSourceOptions = {},
  ) {
    this.ttl = options.ttlMs ?? SECRET_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  get(name: SecretName, version?: string): Promise<SecretValue> {
    const wanted = version ?? this.options.pinnedVersions?.[name];
    if (wanted) return this.exactVersion(name, wanted);
    const hit = this.latest.get(name);
    if (hit && this.now() - hit.at < this.ttl) return hit.value;
    const value = this.vault.get(name);
    this.latest.set(name, { at: this.now(), value });
    value.catch(() => this.latest.delete(name));
    return value;
  }

  private exactVersion(name: SecretName, version: string): Promise<SecretValue> {
    const key = `${name}/${version}`;
    const hit = this.exact.get(key);
    if (hit && this.now() - hit.at < this.ttl) return hit.value;
    const read = this.vault.get(name, version);
    const entry = { at: this.now(), value: hit === undefined ? read : readAgain(read, hit.value) };
    this.exact.set(key, entry);
    entry.value.catch(() => {
      if (this.exact.get(key) === entry) this.exact.delete(key);
    });
    return entry.value;
  }
}

/**
 * A version read again. Gone is gone, and access refused is an operator's decision (a role taken
 * away); but an outage says nothing of either, so the earlier value stands.
 */
async function readAgain(read: Promise<SecretValue>, before: Promise<SecretValue>): Promise<SecretValue> {
  try {
    return await read;
  } catch (err) {
    const outage =
      err instanceof SecretUnavailableError &&
      !(err instanceof SecretVersionGoneError || err instanceof SecretAccessRefusedError);
    if (outage) return before;
    throw err;
  }
}
