import { createHmac, hkdfSync } from 'node:crypto';
import { keyVersionOf } from '../matching/hard-identifiers.js';
import type { RecordBatch } from '../matching/record.js';
import type { SecretSource } from '../secrets/secret-source.js';

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
 * a decision when it proposes its pair, and keeps it under the key of today. That key is the
 * version current when the officer decided, which a rotation since has made an old one: a pass
 * tries each version the store's identifiers are hashed under (link-people.ts), with each
 * record's values as that release read them under that version — its own hashes, and a hash
 * under any other version as absent (that release did not read those).
 *
 * A confirmation is kept under a second key too ({@link PairKeys.identity}): over the sources,
 * names and date of birth only. What an officer judges is whether two records name one person;
 * an address is where that person lives now, and moving house is not evidence that they are
 * someone else. So a confirmed pair stays confirmed when either record's address or postcode
 * changes, where keyed on the address alone it would be asked about again, and the person
 * split until an officer answered a second time. A change of a name or of the date of birth is
 * what the officer judged, and the pair is asked about again. A rejection is kept under the
 * first key only: a rejected pair one of whose records moves is new evidence, and is proposed
 * again (link-decisions.ts says which decision holds when both keys hold one).
 */
export class PairKeys {
  readonly #key: Buffer;

  private constructor(
    key: Buffer,
    private readonly values: 'matching' | 'with-identifiers' | 'identity',
    /** For keys of an earlier release: the key version they are under, '' for the batch's current one. */
    private readonly keyVersion = '',
  ) {
    this.#key = key;
  }

  /**
   * Pair keys as earlier releases made them, under the pseudonymisation key of `keyVersion`,
   * then current: '' for the version the batches' plain hashes are under (the current one),
   * else an older version, whose hashes the batches hold as other-key values.
   */
  static legacy(pseudonymisationKey: Buffer, keyVersion = ''): PairKeys {
    return new PairKeys(pseudonymisationKey, 'with-identifiers', keyVersion);
  }

  /** Pair keys under a key of their own, derived from the `person-ref-key` secret. */
  static from(personRefKey: Buffer): PairKeys {
    return new PairKeys(
      Buffer.from(hkdfSync('sha256', personRefKey, Buffer.alloc(0), 'lintel link-decision pair key v1', 32)),
      'matching',
    );
  }

  /**
   * Keys of a pair by its sources, names and dates of birth only, under which confirmations are
   * kept as well: a key of its own (from `person-ref-key` too), so that they can never equal
   * a key of {@link PairKeys.from}.
   */
  static identity(personRefKey: Buffer): PairKeys {
    return new PairKeys(
      Buffer.from(hkdfSync('sha256', personRefKey, Buffer.alloc(0), 'lintel link-decision identity key v1', 32)),
      'identity',
    );
  }

  recordFingerprint(batch: RecordBatch, i: number): string {
    const parts = [batch.sourceId, batch.givenName[i], batch.familyName[i], batch.dob[i]];
    if (this.values !== 'identity') parts.push(batch.postcode[i], batch.address[i]);
    if (this.values === 'with-identifiers') {
      const asThen = (value: string) => this.#asThen(value);
      parts.push(
        asThen(batch.nhsHash[i]!),
        asThen(batch.upnHash[i]!),
        asThen(batch.niHash[i]!),
        ...[...batch.systemIds.keys()].sort().map((system) => `${system}=${asThen(batch.systemIds.get(system)![i]!)}`),
      );
    }
    return createHmac('sha256', this.#key)
      .update(`record\u0000${parts.join('\u0000')}`)
      .digest('hex');
  }

  /** A batch's identifier value as a release before 2 December read it under {@link keyVersion}: its hash, or absent. */
  #asThen(value: string): string {
    const version = keyVersionOf(value);
    if (version !== this.keyVersion) return '';
    return version === '' ? value : value.slice(version.length + 1);
  }

  pairKey(fingerprintA: string, fingerprintB: string): string {
    const [first, second] = orderedPrints(fingerprintA, fingerprintB);
    return createHmac('sha256', this.#key).update(`pair\u0000${first}\u0000${second}`).digest('hex');
  }
}

/**
 * Two records' fingerprints in the order a pair is taken in, the lesser first: either way round
 * is one pair (its key; the prints a confirmation keeps, link-decisions.ts).
 */
export function orderedPrints(x: string, y: string): [string, string] {
  return x < y ? [x, y] : [y, x];
}

/** The `person-ref-key` secret, from which the keys of decisions are derived. */
export async function personRefKeyOf(secrets: SecretSource): Promise<Buffer> {
  return Buffer.from((await secrets.get('person-ref-key')).value, 'base64');
}
