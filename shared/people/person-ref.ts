import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const ISSUED_CACHE_MAX = 10_000;

/**
 * Opaque person references scoped to the calling party. A ref is the person id encrypted under
 * a key derived for that party (AES-256-GCM with a synthetic IV from an HMAC of the plaintext,
 * so the same person always gets the same ref for the same party). Two parties get unrelated
 * refs for one person, and a ref presented by another party fails authentication: it cannot be
 * used to correlate people across partners, and no lookup table is needed.
 */
export class PersonRefCodec {
  private readonly encryptionKeys = new Map<string, { enc: Buffer; mac: Buffer }>();
  /**
   * Refs already issued, most recently used last. A ref is deterministic, and a partner asks
   * about the same people again and again (a caseload), so the HMAC and AES work is done once.
   */
  private readonly issued = new Map<string, string>();

  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length < 32) throw new Error('person-ref key must be at least 32 bytes');
  }

  private keysFor(partyId: string) {
    let keys = this.encryptionKeys.get(partyId);
    if (!keys) {
      const derived = Buffer.from(
        hkdfSync('sha256', this.masterKey, Buffer.alloc(0), `lintel person-ref v1 ${partyId}`, 64),
      );
      keys = { enc: derived.subarray(0, 32), mac: derived.subarray(32) };
      this.encryptionKeys.set(partyId, keys);
    }
    return keys;
  }

  encode(partyId: string, personId: string): string {
    const key = `${partyId}\u0000${personId}`;
    let ref = this.issued.get(key);
    if (ref === undefined) {
      ref = this.encrypt(partyId, personId);
      if (this.issued.size >= ISSUED_CACHE_MAX) this.issued.delete(this.issued.keys().next().value!);
    } else {
      this.issued.delete(key);
    }
    this.issued.set(key, ref);
    return ref;
  }

  private encrypt(partyId: string, personId: string): string {
    const { enc, mac } = this.keysFor(partyId);
    const plaintext = Buffer.from(personId, 'utf8');
    const iv = createHmac('sha256', mac).update(plaintext).digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', enc, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The person id, or undefined for a ref that is malformed or was issued to another party. */
  decode(partyId: string, ref: string): string | undefined {
    if (!/^[A-Za-z0-9_-]{40,200}$/.test(ref)) return undefined;
    const raw = Buffer.from(ref, 'base64url');
    if (raw.length < 12 + 16 + 1) return undefined;
    const { enc, mac } = this.keysFor(partyId);
    const iv = raw.subarray(0, 12);
    try {
      const decipher = createDecipheriv('aes-256-gcm', enc, iv);
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const plaintext = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      const expectedIv = createHmac('sha256', mac).update(plaintext).digest().subarray(0, 12);
      return timingSafeEqual(iv, expectedIv) ? plaintext.toString('utf8') : undefined;
    } catch {
      return undefined;
    }
  }
}
