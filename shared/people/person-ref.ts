import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const ISSUED_CACHE_MAX = 10_000;
/**
 * Every ref this codec issues: base64url of a 12-byte IV, the person id (and `since`) and a
 * 16-byte tag. Also what the OpenAPI document gives clients (api/person-ref-schema.ts).
 */
export const PERSON_REF_PATTERN = /^[A-Za-z0-9_-]{40,200}$/;
/** Between a ref's person id (a UUID) and its `since`. */
const SINCE_SEPARATOR = '|';

/**
 * What a ref was issued for. `lookup`: by a search, for the party's lookups. `audit`: in a DPO's
 * view of the access log, which names people other clients looked up; such a ref must not work
 * as a lookup, or the party's lookup clients could open those people without their identifiers.
 * `review-cursor`: no person but a place in the link review queue (link-review-api.ts), sealed
 * so that it shows no candidate, since it may be one the reviewer may not see.
 */
export type PersonRefUse = 'lookup' | 'audit' | 'review-cursor';

/**
 * Opaque person references scoped to the calling party. A ref is the person id encrypted under
 * a key derived for that party (AES-256-GCM with a synthetic IV from an HMAC of the plaintext,
 * so the same person always gets the same ref for the same party). Two parties get unrelated
 * refs for one person, and a ref presented by another party fails authentication: it cannot be
 * used to correlate people across partners, and no lookup table is needed. Refs for the audit
 * views are under keys of their own ({@link PersonRefUse}).
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

  private keysFor(partyId: string, use: PersonRefUse) {
    const id = `${use}\u0000${partyId}`;
    let keys = this.encryptionKeys.get(id);
    if (!keys) {
      // The lookup keys' label is the one refs were first issued under, so those stay valid.
      const info = use === 'lookup' ? `lintel person-ref v1 ${partyId}` : `lintel person-ref v1 ${use} ${partyId}`;
      const derived = Buffer.from(hkdfSync('sha256', this.masterKey, Buffer.alloc(0), info, 64));
      keys = { enc: derived.subarray(0, 32), mac: derived.subarray(32) };
      this.encryptionKeys.set(id, keys);
    }
    return keys;
  }

  /**
   * `since`: for a lookup ref, the time records last moved out of the person before it was
   * issued (person_id_move), so that a split after it is seen when the ref comes back
   * ({@link decodeClaim}); the ref stays the same until the next such move.
   */
  encode(partyId: string, personId: string, use: PersonRefUse = 'lookup', since = ''): string {
    const plaintext = since === '' ? personId : `${personId}${SINCE_SEPARATOR}${since}`;
    const key = `${use}\u0000${partyId}\u0000${plaintext}`;
    let ref = this.issued.get(key);
    if (ref === undefined) {
      ref = this.encrypt(partyId, plaintext, use);
      if (this.issued.size >= ISSUED_CACHE_MAX) this.issued.delete(this.issued.keys().next().value!);
    } else {
      this.issued.delete(key);
    }
    this.issued.set(key, ref);
    return ref;
  }

  private encrypt(partyId: string, text: string, use: PersonRefUse): string {
    const { enc, mac } = this.keysFor(partyId, use);
    const plaintext = Buffer.from(text, 'utf8');
    const iv = createHmac('sha256', mac).update(plaintext).digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', enc, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * The person id, or undefined for a ref that is malformed, was issued to another party, or was
   * issued for a use not in `uses`.
   */
  decode(partyId: string, ref: string, uses: readonly PersonRefUse[] = ['lookup']): string | undefined {
    return this.decodeClaim(partyId, ref, uses)?.personId;
  }

  /** The person id and the `since` it was issued with ('' for a ref issued without one). */
  decodeClaim(
    partyId: string,
    ref: string,
    uses: readonly PersonRefUse[] = ['lookup'],
  ): { personId: string; since: string } | undefined {
    if (!PERSON_REF_PATTERN.test(ref)) return undefined;
    const raw = Buffer.from(ref, 'base64url');
    if (raw.length < 12 + 16 + 1) return undefined;
    for (const use of uses) {
      const plaintext = this.decrypt(raw, this.keysFor(partyId, use));
      if (plaintext === undefined) continue;
      const at = plaintext.indexOf(SINCE_SEPARATOR);
      return at < 0
        ? { personId: plaintext, since: '' }
        : { personId: plaintext.slice(0, at), since: plaintext.slice(at + 1) };
    }
    return undefined;
  }

  private decrypt(raw: Buffer, { enc, mac }: { enc: Buffer; mac: Buffer }): string | undefined {
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
