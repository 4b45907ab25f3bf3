import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CachedSecretSource, SECRET_CACHE_TTL_MS } from '../../../shared/secrets/cached-secret-source.js';
import {
  SecretAccessRefusedError,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
} from '../../../shared/secrets/secret-source.js';

/**
 * Where Key Vault would be: versions of `pseudonymisation-key` that an operator may disable, and
 * an outage that answers nothing. Counts its reads.
 */
class Vault implements SecretSource {
  readonly versions = new Map([
    ['a1', randomBytes(32).toString('base64')],
    ['b2', randomBytes(32).toString('base64')],
  ]);
  current = 'b2';
  down = false;
  /** The app's role on the vault taken away. */
  refused = false;
  reads = 0;

  async get(name: SecretName, version?: string) {
    this.reads += 1;
    if (this.down) throw new SecretUnavailableError(name);
    if (this.refused) throw new SecretAccessRefusedError(name);
    const wanted = version ?? this.current;
    const value = this.versions.get(wanted);
    if (value === undefined) throw new SecretVersionGoneError(name, version);
    return { name, value, version: wanted };
  }
}

function cachedOver(vault: Vault, pinnedVersions?: Record<string, string>) {
  const clock = { now: 0 };
  const source = new CachedSecretSource(vault, { pinnedVersions, now: () => clock.now });
  return { source, clock };
}

describe('secrets read from the vault and kept a while', () => {
  // A version disabled to crypto-shred the hashes kept under it, or a leaked key's version
  // revoked, went on matching (and signing) in every running instance until it restarted.
  it('stop using a version the vault has disabled once its read is five minutes old', async () => {
    const vault = new Vault();
    const { source, clock } = cachedOver(vault);
    const old = await source.get('pseudonymisation-key', 'a1');
    vault.versions.delete('a1');
    clock.now = SECRET_CACHE_TTL_MS - 1;
    expect(await source.get('pseudonymisation-key', 'a1')).toEqual(old);
    clock.now = SECRET_CACHE_TTL_MS;
    const err = await source.get('pseudonymisation-key', 'a1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretVersionGoneError);
    expect((err as Error).message).toBe('Secret pseudonymisation-key version a1 does not exist or is disabled');
  });

  it('stop using a pinned version the vault has disabled, as any other', async () => {
    const vault = new Vault();
    const { source, clock } = cachedOver(vault, { 'pseudonymisation-key': 'b2' });
    expect((await source.get('pseudonymisation-key')).version).toBe('b2');
    vault.versions.delete('b2');
    clock.now = SECRET_CACHE_TTL_MS;
    await expect(source.get('pseudonymisation-key')).rejects.toBeInstanceOf(SecretVersionGoneError);
  });

  // An outage says nothing of whether a version was revoked: lookups under it are not held up.
  it('use a version read before while the vault cannot answer, and ask again five minutes on', async () => {
    const vault = new Vault();
    const { source, clock } = cachedOver(vault);
    const old = await source.get('pseudonymisation-key', 'a1');
    vault.down = true;
    clock.now = SECRET_CACHE_TTL_MS;
    expect(await source.get('pseudonymisation-key', 'a1')).toEqual(old);
    const reads = vault.reads;
    expect(await source.get('pseudonymisation-key', 'a1')).toEqual(old);
    expect(vault.reads).toBe(reads);
    vault.down = false;
    vault.versions.delete('a1');
    clock.now = 2 * SECRET_CACHE_TTL_MS;
    await expect(source.get('pseudonymisation-key', 'a1')).rejects.toBeInstanceOf(SecretVersionGoneError);
  });

  // Taking the app's role on the vault away is how an operator cuts it off from every key at once.
  it('stop using a version read before once the vault refuses this identity', async () => {
    const vault = new Vault();
    const { source, clock } = cachedOver(vault, { 'pseudonymisation-key': 'b2' });
    await source.get('pseudonymisation-key');
    vault.refused = true;
    clock.now = SECRET_CACHE_TTL_MS;
    await expect(source.get('pseudonymisation-key')).rejects.toBeInstanceOf(SecretAccessRefusedError);
    await expect(source.get('pseudonymisation-key')).rejects.toBeInstanceOf(SecretAccessRefusedError);
  });

  it('follow the latest version to a rotation within five minutes', async () => {
    const vault = new Vault();
    const { source, clock } = cachedOver(vault);
    expect((await source.get('pseudonymisation-key')).version).toBe('b2');
    vault.versions.set('c3', randomBytes(32).toString('base64'));
    vault.current = 'c3';
    clock.now = SECRET_CACHE_TTL_MS - 1;
    expect((await source.get('pseudonymisation-key')).version).toBe('b2');
    clock.now = SECRET_CACHE_TTL_MS;
    expect((await source.get('pseudonymisation-key')).version).toBe('c3');
  });
});
