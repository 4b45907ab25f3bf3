/**
 * Keyed pseudonymisation of identifiers (HMAC-SHA-256), applied at import so the store links
 * people on hashes and never needs the identifiers themselves. Without the key — which lives in
 * Key Vault — a hash cannot be reversed by hashing every possible NHS number.
 */

import { createHmac, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * What an identifier is. Each kind hashes under its own derived key, so the same characters as
 * an NHS number and as a system id never produce the same pseudonym. System ids are best
 * qualified by the issuing system (`system-id:mosaic`), which separates two systems' "12345".
 */
export type PseudonymKind =
  'nhs' | 'upn' | 'ni' | 'postcode' | 'dob-name' | 'postcode-name' | 'system-id' | `system-id:${string}`;

const KIND_SHAPE = /^(?:nhs|upn|ni|postcode|dob-name|postcode-name|system-id(?::[a-z0-9][a-z0-9._-]{0,63})?)$/;

/** Shorter keys than the hash output would weaken the HMAC below its 256-bit design strength. */
export const MIN_PSEUDONYMISATION_KEY_BYTES = 32;

/** Version-tagged so derived keys can be changed without colliding with older pseudonyms. */
const KIND_KEY_LABEL = 'lintel/pseudonym/v1/';

export interface Pseudonym {
  /** 64 lower-case hex characters. */
  readonly hash: string;
  /** Which key produced it, so hashes made before a key rotation can be told apart. */
  readonly keyVersion: string;
}

export interface PseudonymiserOptions {
  readonly keyVersion: string;
  readonly key: Buffer;
}

export class Pseudonymiser {
  readonly keyVersion: string;
  // The master key is kept only as a KeyObject, outside the JS heap, and never exposed.
  readonly #masterKey: KeyObject;
  readonly #kindKeys = new Map<string, KeyObject>();

  constructor(options: PseudonymiserOptions) {
    if (options.keyVersion.trim() === '') {
      throw new RangeError('Pseudonymiser: keyVersion must not be empty');
    }
    if (options.key.length < MIN_PSEUDONYMISATION_KEY_BYTES) {
      throw new RangeError(`Pseudonymiser: key must be at least ${MIN_PSEUDONYMISATION_KEY_BYTES} bytes`);
    }
    this.keyVersion = options.keyVersion;
    this.#masterKey = createSecretKey(Buffer.from(options.key));
  }

  /** Pseudonym of an identifier already in canonical form (see `identifiers.ts`). */
  pseudonymise(kind: PseudonymKind, canonicalValue: string): Pseudonym {
    return { hash: this.hash(kind, canonicalValue), keyVersion: this.keyVersion };
  }

  /** Just the hex hash, for hot loops that carry the key version separately. */
  hash(kind: PseudonymKind, canonicalValue: string): string {
    // An empty value would give every blank identifier the same pseudonym and link them all.
    if (canonicalValue.length === 0) throw new RangeError('Pseudonymiser: value must not be empty');
    return createHmac('sha256', this.#kindKey(kind)).update(canonicalValue, 'utf8').digest('hex');
  }

  /**
   * Derived once per kind and cached: HMAC(master, label || kind). Deriving per kind rather than
   * prefixing the message with the kind leaves no way for a crafted value to straddle kinds.
   */
  #kindKey(kind: string): KeyObject {
    const cached = this.#kindKeys.get(kind);
    if (cached !== undefined) return cached;
    if (!KIND_SHAPE.test(kind)) throw new TypeError('Pseudonymiser: unknown identifier kind');
    const derived = createSecretKey(
      createHmac('sha256', this.#masterKey)
        .update(KIND_KEY_LABEL + kind, 'utf8')
        .digest(),
    );
    this.#kindKeys.set(kind, derived);
    return derived;
  }
}

/**
 * Pseudonymisers by key buffer, so repeated calls of {@link pseudonymise} with the same key
 * reuse the derived keys. The copy guards against a caller refilling the same buffer with a
 * different key.
 */
const byKey = new WeakMap<Buffer, { readonly keyCopy: Buffer; readonly pseudonymiser: Pseudonymiser }>();

/**
 * Hex HMAC-SHA-256 pseudonym of a canonical identifier value, domain-separated by `kind`.
 * For bulk work construct a {@link Pseudonymiser} once; this helper caches one per key buffer.
 */
export function pseudonymise(kind: PseudonymKind, canonicalValue: string, key: Buffer): string {
  let entry = byKey.get(key);
  if (entry === undefined || !entry.keyCopy.equals(key)) {
    entry = {
      keyCopy: Buffer.from(key),
      pseudonymiser: new Pseudonymiser({ keyVersion: 'unversioned', key }),
    };
    byKey.set(key, entry);
  }
  return entry.pseudonymiser.hash(kind, canonicalValue);
}
