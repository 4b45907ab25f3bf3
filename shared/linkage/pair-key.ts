import { createHmac } from 'node:crypto';
import { keyVersionOf } from '../matching/hard-identifiers.js';
import type { RecordBatch } from '../matching/record.js';

/**
 * The key an officer's decision is kept under: a keyed hash of the two records' sources and
 * matching values, in a fixed order. Record ids change with every snapshot a partner sends; the
 * values of the same two records do not, so a rejected pair stays rejected next month, while
 * a record whose values changed (a new address, a corrected date) is new evidence and may be
 * proposed again. Keyed, because names and dates of birth are few enough to guess from a plain
 * hash.
 */
export class PairKeys {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  recordFingerprint(batch: RecordBatch, i: number): string {
    // A value under another key version counts as absent, as it did before such values were
    // held, so that no decision already taken is lost to a changed key.
    const current = (value: string) => (keyVersionOf(value) === '' ? value : '');
    const parts = [
      batch.sourceId,
      batch.givenName[i],
      batch.familyName[i],
      batch.dob[i],
      batch.postcode[i],
      batch.address[i],
      current(batch.nhsHash[i]!),
      current(batch.upnHash[i]!),
      current(batch.niHash[i]!),
      ...[...batch.systemIds.keys()].sort().map((system) => `${system}=${current(batch.systemIds.get(system)![i]!)}`),
    ];
    return createHmac('sha256', this.#key)
      .update(`record\u0000${parts.join('\u0000')}`)
      .digest('hex');
  }

  pairKey(fingerprintA: string, fingerprintB: string): string {
    const [first, second] = fingerprintA < fingerprintB ? [fingerprintA, fingerprintB] : [fingerprintB, fingerprintA];
    return createHmac('sha256', this.#key).update(`pair\u0000${first}\u0000${second}`).digest('hex');
  }
}
