import { otherKeyValue } from '../matching/hard-identifiers.js';
import type { RecordBatch } from '../matching/record.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Dialect } from '../store/dialect.js';

/**
 * The records of an agreement's datasets, read from the store as the linkage engine's batches:
 * one source per party and dataset (a party's snapshot of a dataset), with the values exactly
 * as import left them (normalised names, canonical dates and postcodes, identifier HMACs). A
 * placeholder given name or a forces postcode is none there: a load keeps none to match on, and
 * migration 0053 cleared those loads before the rules kept.
 *
 * An identifier hashed under another key version than the current one is kept as
 * {@link otherKeyValue}: it equals only a hash of the same identifier under that version, and
 * against a value under another version it is neither a match nor a conflict but a kind both
 * records hold that cannot be compared (see shared/matching/hard-identifiers.ts). Read as
 * absent, it would let date of birth + names join two people whose NHS numbers differ, once
 * one source had re-sent under the new key and the other not.
 */
export interface StoreSource {
  /** `party/dataset`. */
  readonly id: string;
  readonly partyId: string;
  readonly datasetId: string;
  readonly batch: RecordBatch;
  /**
   * Person id each record had before this pass: the one it holds, else the one its import
   * carried from its predecessor in the previous snapshot (`carried_person_id`, see
   * shared/imports/snapshot-writer.ts), else null when it has never been linked.
   */
  readonly personIds: readonly (string | null)[];
  /** `person_id` as a pass left it: null for every record no pass has linked yet, carried id or not. */
  readonly storedPersonIds: readonly (string | null)[];
  /** Since when each record has held `personIds` (`person_since`): null since it was first linked. */
  readonly personSince: readonly (string | null)[];
  /** Records no pass has linked yet (no person id, or one carried at load): new since the last pass. */
  readonly unlinked: number;
}

export interface StoreSources {
  readonly sources: readonly StoreSource[];
  /** Identifier values hashed under another key version: held, but comparable only with their own version's. */
  readonly otherKeyVersionIdentifiers: number;
}

export function sourceIdOf(partyId: string, datasetId: string): string {
  return `${partyId}/${datasetId}`;
}

interface Columns {
  recordId: string[];
  givenName: string[];
  familyName: string[];
  dob: string[];
  postcode: string[];
  address: string[];
  nhsHash: string[];
  upnHash: string[];
  niHash: string[];
  systemIds: Map<string, string[]>;
  personIds: (string | null)[];
  storedPersonIds: (string | null)[];
  personSince: (string | null)[];
  unlinked: number;
  partyId: string;
  datasetId: string;
}

/** Records (or identifiers) a keyset page reads: TOP on SQL Server, which has no LIMIT (dialect.ts). */
const PAGE = 20_000;

export async function readStoreSources(
  db: Kysely<Database>,
  datasets: readonly string[],
  keyVersion: string,
  dialect: Dialect,
): Promise<StoreSources> {
  if (datasets.length === 0) return { sources: [], otherKeyVersionIdentifiers: 0 };
  const bySource = new Map<string, Columns>();
  const where = new Map<string, { columns: Columns; index: number }>();
  // Keyset pages in primary-key order: flat statement memory on both engines.
  let after = '';
  for (;;) {
    const page = await dialect
      .firstRows(
        db
          .selectFrom('source_record')
          .select([
            'id',
            'party_id',
            'dataset_id',
            'given_name',
            'family_name',
            'date_of_birth',
            'postcode',
            'address',
            'person_id',
            'carried_person_id',
            'person_since',
          ])
          .where('dataset_id', 'in', datasets)
          .where('id', '>', after)
          .orderBy('id'),
        PAGE,
      )
      .execute();
    for (const row of page) {
      const key = sourceIdOf(row.party_id, row.dataset_id);
      let c = bySource.get(key);
      if (c === undefined) {
        c = {
          recordId: [],
          givenName: [],
          familyName: [],
          dob: [],
          postcode: [],
          address: [],
          nhsHash: [],
          upnHash: [],
          niHash: [],
          systemIds: new Map(),
          personIds: [],
          storedPersonIds: [],
          personSince: [],
          unlinked: 0,
          partyId: row.party_id,
          datasetId: row.dataset_id,
        };
        bySource.set(key, c);
      }
      where.set(row.id, { columns: c, index: c.recordId.length });
      c.recordId.push(row.id);
      c.givenName.push(row.given_name ?? '');
      c.familyName.push(row.family_name ?? '');
      c.dob.push(row.date_of_birth ?? '');
      c.postcode.push(row.postcode ?? '');
      c.address.push(row.address ?? '');
      c.nhsHash.push('');
      c.upnHash.push('');
      c.niHash.push('');
      c.personIds.push(row.person_id ?? row.carried_person_id);
      // A carried record is written by the pass whatever id it gets, which clears its mark.
      c.storedPersonIds.push(row.carried_person_id === null ? row.person_id : null);
      c.personSince.push(row.person_since);
      if (row.person_id === null || row.carried_person_id !== null) c.unlinked++;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }

  let otherKeyVersionIdentifiers = 0;
  let afterRecord = '';
  let afterKind = '';
  for (;;) {
    const page = await dialect
      .firstRows(
        db
          .selectFrom('record_identifier as ri')
          .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
          .select(['ri.record_id', 'ri.kind', 'ri.hash', 'ri.key_version'])
          .where('sr.dataset_id', 'in', datasets)
          .where((eb) =>
            eb.or([
              eb('ri.record_id', '>', afterRecord),
              eb.and([eb('ri.record_id', '=', afterRecord), eb('ri.kind', '>', afterKind)]),
            ]),
          )
          .orderBy('ri.record_id')
          .orderBy('ri.kind'),
        PAGE,
      )
      .execute();
    for (const row of page) {
      const at = where.get(row.record_id);
      if (at === undefined) continue;
      let hash = row.hash;
      if (row.key_version !== keyVersion) {
        otherKeyVersionIdentifiers++;
        hash = otherKeyValue(row.key_version, row.hash);
      }
      const { columns: c, index } = at;
      if (row.kind === 'nhs') c.nhsHash[index] = hash;
      else if (row.kind === 'upn') c.upnHash[index] = hash;
      else if (row.kind === 'ni') c.niHash[index] = hash;
      else if (row.kind.startsWith('system-id:')) {
        const system = row.kind.slice('system-id:'.length);
        let column = c.systemIds.get(system);
        if (column === undefined) {
          column = new Array<string>(c.recordId.length).fill('');
          c.systemIds.set(system, column);
        }
        column[index] = hash;
      }
    }
    if (page.length < PAGE) break;
    const last = page[page.length - 1]!;
    afterRecord = last.record_id;
    afterKind = last.kind;
  }

  const sources = [...bySource.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, c]): StoreSource => ({
      id,
      partyId: c.partyId,
      datasetId: c.datasetId,
      batch: {
        sourceId: id,
        size: c.recordId.length,
        recordId: c.recordId,
        givenName: c.givenName,
        familyName: c.familyName,
        dob: c.dob,
        postcode: c.postcode,
        address: c.address,
        nhsHash: c.nhsHash,
        upnHash: c.upnHash,
        niHash: c.niHash,
        systemIds: c.systemIds,
      },
      personIds: c.personIds,
      storedPersonIds: c.storedPersonIds,
      personSince: c.personSince,
      unlinked: c.unlinked,
    }));
  return { sources, otherKeyVersionIdentifiers };
}
