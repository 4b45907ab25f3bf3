import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { MIN_PSEUDONYMISATION_KEY_BYTES, Pseudonymiser, pseudonymise } from '../../../shared/domain/pseudonymise.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const OTHER_KEY = Buffer.alloc(32, 0xab);

describe('Pseudonymiser', () => {
  it('is deterministic and returns 64 hex characters with the key version', () => {
    const p = new Pseudonymiser({ keyVersion: 'k1', key: KEY });
    const first = p.pseudonymise('nhs', '9434765919');
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.keyVersion).toBe('k1');
    expect(p.pseudonymise('nhs', '9434765919')).toEqual(first);
    expect(new Pseudonymiser({ keyVersion: 'k1', key: KEY }).pseudonymise('nhs', '9434765919')).toEqual(first);
  });

  it('keeps hashes stable: HMAC under a per-kind key derived from the master key', () => {
    // Stored pseudonyms depend on this exact construction; changing it orphans every link.
    const kindKey = createHmac('sha256', KEY).update('lintel/pseudonym/v1/nhs').digest();
    const expected = createHmac('sha256', kindKey).update('9434765919').digest('hex');
    const p = new Pseudonymiser({ keyVersion: 'k1', key: KEY });
    expect(p.hash('nhs', '9434765919')).toBe(expected);
    expect(expected).toBe('db9c32f95c67af26e0bfd53a8d72a8fbc14e0f24a001122cb90d5f3a031ebbab');
  });

  it('depends on the key', () => {
    const a = new Pseudonymiser({ keyVersion: 'k1', key: KEY }).hash('nhs', '9434765919');
    const b = new Pseudonymiser({ keyVersion: 'k2', key: OTHER_KEY }).hash('nhs', '9434765919');
    expect(a).not.toBe(b);
  });

  it('separates identifier kinds, so the same characters never collide across kinds', () => {
    const p = new Pseudonymiser({ keyVersion: 'k1', key: KEY });
    const value = '1234567890';
    const hashes = new Set(
      (
        [
          'nhs',
          'upn',
          'ni',
          'postcode',
          'dob-name',
          'postcode-name',
          'system-id',
          'system-id:mosaic',
          'system-id:eclipse',
        ] as const
      ).map((kind) => p.hash(kind, value)),
    );
    expect(hashes.size).toBe(9);
  });

  it('never contains the identifier it hides', () => {
    const p = new Pseudonymiser({ keyVersion: 'k1', key: KEY });
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{8,16}$/), (value) => {
        expect(p.hash('system-id', value)).not.toContain(value);
      }),
    );
  });

  it('refuses short keys, blank key versions, empty values and unknown kinds without echoing them', () => {
    expect(
      () => new Pseudonymiser({ keyVersion: 'k1', key: Buffer.alloc(MIN_PSEUDONYMISATION_KEY_BYTES - 1, 7) }),
    ).toThrow(/at least 32 bytes/);
    expect(() => new Pseudonymiser({ keyVersion: ' ', key: KEY })).toThrow(RangeError);
    const p = new Pseudonymiser({ keyVersion: 'k1', key: KEY });
    expect(() => p.hash('nhs', '')).toThrow(RangeError);
    // A kind arriving from untyped config is checked at run time too.
    const messageOf = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a throw');
    };
    const unknownKind = messageOf(() => p.hash('passport' as 'nhs', '9434765919'));
    expect(unknownKind).toMatch(/unknown identifier kind$/);
    const badSystem = messageOf(() => p.hash('system-id:Bad Name' as 'system-id', 'JG103759A'));
    for (const message of [unknownKind, badSystem]) {
      expect(message).not.toContain('9434765919');
      expect(message).not.toContain('JG103759A');
      expect(message).not.toContain('passport');
      expect(message).not.toContain('Bad Name');
    }
  });

  it('keeps the master key usable after the caller wipes its buffer', () => {
    const key = Buffer.from(KEY);
    const p = new Pseudonymiser({ keyVersion: 'k1', key });
    const before = p.hash('upn', 'Y886123424001');
    key.fill(0);
    expect(p.hash('upn', 'Y886123424001')).toBe(before);
  });
});

describe('pseudonymise', () => {
  it('matches the Pseudonymiser for the same key', () => {
    const p = new Pseudonymiser({ keyVersion: 'k1', key: KEY });
    expect(pseudonymise('ni', 'AB123456', KEY)).toBe(p.hash('ni', 'AB123456'));
    expect(pseudonymise('ni', 'AB123456', KEY)).not.toBe(pseudonymise('upn', 'AB123456', KEY));
  });

  it('notices when the same buffer is refilled with another key', () => {
    const key = Buffer.from(KEY);
    const before = pseudonymise('nhs', '9434765919', key);
    OTHER_KEY.copy(key);
    expect(pseudonymise('nhs', '9434765919', key)).toBe(pseudonymise('nhs', '9434765919', OTHER_KEY));
    expect(pseudonymise('nhs', '9434765919', key)).not.toBe(before);
  });
});
