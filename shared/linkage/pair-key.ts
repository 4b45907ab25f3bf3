import { createHmac, hkdfSync } from 'node:crypto';
import type { RecordBatch } from '../matching/record.js';

/**
 * The key an officer's decision is kept under: a keyed hash of the two records' sources and
 * matching values, in a fixed order. Record ids change with every snapshot a partner sends; the
 * values of the same two records do not, so a rejected pair stays rejected next month, while
 * a record whose values changed (a new address, a corrected date) is new evidence and may be
 * proposed again. Keyed, because names and dates of birth are few enough to guess from a plain
 * hash.
 *
 * Neither the key nor the values may change when the pseudonymisation key is rotated, or every
 * decision would be forgotten on the next pass: confirmed people split again, rejected pairs
 * back in the queue. So the key is derived from `person-ref-key`, which is never rotated in
 * place (infra/README.md), and the values leave out the identifier pseudonyms. Identifiers
 * decide nothing here anyway: two records sharing one are linked at tier 1 whatever was decided,
 * and two holding different NHS numbers, UPNs or system ids are never merged. (An NI number a
 * record gains after an officer's confirmation, and which differs, does not undo it.)
 *
 * Releases before 2 December 2026 keyed decisions under the pseudonymisation key, over the
 * values with the identifier pseudonyms ({@link PairKeys.legacy}); a pass still recognises such
 * a decision when it proposes its pair, and keeps it under the key of today.
 */
export class PairKeys {
  readonly #key: Buffer;

  private constructor(
    key: Buffer,
    private readonly withIdentifiers = false,
  ) {
    this.#key = key;
  }

  /** Pair keys as earlier releases made them, under the pseudonymisation key then current. */
  static legacy(pseudonymisationKey: Buffer): PairKeys {
    return new PairKeys(pseudonymisationKey, true);
  }

  /** Pair keys under a key of their own, derived from the `person-ref-key` secret. */
  static from(personRefKey: Buffer): PairKeys {
    return new PairKeys(
      Buffer.from(hkdfSync('sha256', personRefKey, Buffer.alloc(0), 'lintel link-decision pair key v1', 32)),
    );
  }

  recordFingerprint(batch: RecordBatch, i: number): string {
    const parts = [
      batch.sourceId,
      batch.givenName[i],
      batch.familyName[i],
      batch.dob[i],
      batch.postcode[i],
      batch.address[i],
    ];
    if (this.withIdentifiers) {
      parts.push(
        batch.nhsHash[i],
        batch.upnHash[i],
        batch.niHash[i],
        ...[...batch.systemIds.keys()].sort().map((system) => `${system}=${batch.systemIds.get(system)![i]}`),
      );
    }
    return createHmac('sha256', this.#key)
      .update(`record\u0000${parts.join('\u0000')}`)
      .digest('hex');
  }

  pairKey(fingerprintA: string, fingerprintB: string): string {
    const [first, second] = fingerprintA < fingerprintB ? [fingerprintA, fingerprintB] : [fingerprintB, fingerprintA];
    return createHmac('sha256', this.#key).update(`pair\u0000${first}\u0000${second}`).digest('hex');
  }
}
