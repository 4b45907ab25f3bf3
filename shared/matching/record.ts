/**
 * The canonical record the linkage engine works on: names normalised, date of birth ISO,
 * postcode canonical, and every hard identifier already pseudonymised (HMAC hex), so tiers 1–2
 * compare hashes and the engine never holds an NHS number, UPN or NI number.
 */

import { matchingPostcode } from '../domain/identifiers.js';
import { matchingGivenName } from '../domain/normalise.js';

export interface SystemIdHash {
  /** Issuing system, lower case (e.g. "mosaic", "capita-one"). */
  readonly system: string;
  readonly idHash: string;
}

export interface CanonicalRecord {
  readonly recordId: string;
  readonly sourceId: string;
  readonly nhsHash?: string | undefined;
  readonly upnHash?: string | undefined;
  readonly niHash?: string | undefined;
  readonly systemIds?: readonly SystemIdHash[] | undefined;
  /** Normalised (see `normaliseName`); "" when unknown. A placeholder ("BABY") is taken as unknown. */
  readonly givenName: string;
  /** Normalised; "" when unknown. */
  readonly familyName: string;
  /** ISO YYYY-MM-DD; "" when unknown. */
  readonly dob: string;
  /**
   * Canonical ("ME14 1XX"); "" when unknown. A pseudo-postcode (ZZ99 3VZ) or a forces one (BFPO 61)
   * is taken as unknown.
   */
  readonly postcode: string;
  /** Normalised free text; "" or absent when unknown. */
  readonly address?: string | undefined;
}

/**
 * One source's records column by column. The engine runs on this shape rather than on an array
 * of objects: a million records become a dozen arrays instead of a million objects, and each
 * pass over one field touches only that field's memory. "" marks an absent value everywhere; an
 * identifier hashed under another key version than the current one is an `otherKeyValue`
 * (hard-identifiers.ts).
 */
export interface RecordBatch {
  readonly sourceId: string;
  readonly size: number;
  readonly recordId: readonly string[];
  readonly givenName: readonly string[];
  readonly familyName: readonly string[];
  readonly dob: readonly string[];
  readonly postcode: readonly string[];
  readonly address: readonly string[];
  readonly nhsHash: readonly string[];
  readonly upnHash: readonly string[];
  readonly niHash: readonly string[];
  /** System name -> id hash per record. A record carries at most one id per system. */
  readonly systemIds: ReadonlyMap<string, readonly string[]>;
}

export interface RecordBatchReport {
  /** Records that carried a second, different id from a system they already had an id from. */
  readonly extraSystemIdsDropped: number;
}

/** Columns of `records`, in order. Only the first id per system of a record is kept. */
export function toRecordBatch(
  records: readonly CanonicalRecord[],
  sourceId = records[0]?.sourceId ?? '',
): { batch: RecordBatch; report: RecordBatchReport } {
  const size = records.length;
  const recordId: string[] = new Array<string>(size);
  const givenName: string[] = new Array<string>(size);
  const familyName: string[] = new Array<string>(size);
  const dob: string[] = new Array<string>(size);
  const postcode: string[] = new Array<string>(size);
  const address: string[] = new Array<string>(size);
  const nhsHash: string[] = new Array<string>(size);
  const upnHash: string[] = new Array<string>(size);
  const niHash: string[] = new Array<string>(size);
  const systemIds = new Map<string, string[]>();
  let extraSystemIdsDropped = 0;
  for (let i = 0; i < size; i++) {
    const r = records[i] as CanonicalRecord;
    recordId[i] = r.recordId;
    // "BABY" is every newborn's before naming: no given name to link on.
    givenName[i] = matchingGivenName(r.givenName);
    familyName[i] = r.familyName;
    dob[i] = r.dob;
    // ZZ99 3VZ is where everyone of no fixed abode "lives", BFPO 61 a whole unit: no postcode to link or block on.
    postcode[i] = matchingPostcode(r.postcode) ?? '';
    address[i] = r.address ?? '';
    nhsHash[i] = r.nhsHash ?? '';
    upnHash[i] = r.upnHash ?? '';
    niHash[i] = r.niHash ?? '';
    for (const id of r.systemIds ?? []) {
      let column = systemIds.get(id.system);
      if (column === undefined) {
        column = new Array<string>(size).fill('');
        systemIds.set(id.system, column);
      }
      if (column[i] === '') column[i] = id.idHash;
      else if (column[i] !== id.idHash) extraSystemIdsDropped++;
    }
  }
  return {
    batch: {
      sourceId,
      size,
      recordId,
      givenName,
      familyName,
      dob,
      postcode,
      address,
      nhsHash,
      upnHash,
      niHash,
      systemIds,
    },
    report: { extraSystemIdsDropped },
  };
}

/** The system names present in either batch, sorted, so rule order never depends on input order. */
export function sharedSystemNames(left: RecordBatch, right: RecordBatch): string[] {
  const names = new Set<string>([...left.systemIds.keys(), ...right.systemIds.keys()]);
  return [...names].sort();
}
