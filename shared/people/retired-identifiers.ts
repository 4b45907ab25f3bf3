/**
 * The identifiers of records a retention rule deleted, kept as their keyed hashes with the
 * person id the records held (migration 0020), for one use: a subject access request by
 * identifiers. The access log keeps its entries about a person long after retention removed
 * their records, and the person asking is found by nothing else. Never read to show anyone's data.
 */
import type { Kysely } from 'kysely';
import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import type { MatchTier } from './find-person.js';
import { identifiersConflict } from './identifier-conflict.js';
import type { IdentifierUse } from './lookup-identifiers.js';
import type { CanonicalQuery } from './person-query.js';

/**
 * The tables that keep a person's identifiers as keyed hashes after no record holds them: those of
 * records retention deleted, and those an opt-out keeps (opt-out-kept-keys.ts: of a departed
 * opted-out person, or given when it was recorded for a person not held). A subject access
 * request by identifiers finds people in both: the log holds their accesses, and an opt-out's
 * recording is one.
 */
export type KeptHashTable = 'retired_identifier' | 'opt_out_kept_identifier';

/** The columns a retired identifier's row carries beside its time. */
const RETIRED_COLUMNS = ['person_id', 'dataset_id', 'kind', 'hash', 'key_version'];

/**
 * Keeps the identifier hashes of these records, about to be deleted, once a person and dataset.
 * In the deleting transaction, before the identifiers go.
 */
export async function retireIdentifiers(
  trx: Kysely<Database>,
  engine: Engine,
  recordIds: readonly string[],
  at: string,
): Promise<void> {
  if (recordIds.length === 0) return;
  const rows = await inSlices(engine, recordIds, (slice) =>
    trx
      .selectFrom('record_identifier as ri')
      .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
      // A record's person as the linking pass reads it (retention-people.ts: a purge deletes records
      // that carry their person's id alone).
      .select((eb) => [
        eb.fn.coalesce('sr.person_id', 'sr.carried_person_id').as('person_id'),
        'sr.dataset_id',
        'ri.kind',
        'ri.hash',
        'ri.key_version',
      ])
      .where('ri.record_id', 'in', slice)
      .where((eb) => eb(eb.fn.coalesce('sr.person_id', 'sr.carried_person_id'), 'is not', null))
      .execute(),
  );
  if (rows.length === 0) return;
  // A person deleted again after a later extract re-sent them adds nothing new. Read by kind and
  // hash, the lookup index's key: by hash alone each page scanned every hash kept so far.
  const kinds = [...new Set(rows.map((r) => r.kind))];
  const hashes = [...new Set(rows.map((r) => r.hash))];
  const kept = await inSlices(engine, hashes, (slice) =>
    trx
      .selectFrom('retired_identifier')
      .select(['person_id', 'dataset_id', 'kind', 'hash', 'key_version'])
      .where('kind', 'in', kinds)
      .where('hash', 'in', slice)
      .execute(),
  );
  const keyOf = (r: {
    person_id: string | null;
    dataset_id: string;
    kind: string;
    hash: string;
    key_version: string;
  }) => [r.person_id, r.dataset_id, r.kind, r.hash, r.key_version].join('\u0000');
  const seen = new Set(kept.map(keyOf));
  const insert = new BatchedInsert(engine, 'retired_identifier', RETIRED_COLUMNS, { shared: { retired_at: at } });
  for (const r of rows) {
    const key = keyOf(r);
    if (seen.has(key)) continue;
    seen.add(key);
    insert.push([r.person_id, r.dataset_id, r.kind, r.hash, r.key_version]);
    if (insert.full) await insert.flush(trx, false);
  }
  await insert.flush(trx, true);
}

/**
 * People whose deleted records held the query's NHS number, UPN or NI number (tier 1) or system
 * ids (tier 2), in the datasets searched and by the kinds their agreements match on, as
 * find-person.ts searches the records still held. Hashed under every key version loaded.
 */
export async function retiredMatches(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
  identifiers: IdentifierUse,
  table: KeptHashTable = 'retired_identifier',
): Promise<{ personId: string; tier: MatchTier }[]> {
  const found = new Map<string, MatchTier>();
  for (const given of query.identifiers) {
    const searchable = datasets.filter((d) => identifiers(d, given.kind));
    if (searchable.length === 0) continue;
    const tier: MatchTier = given.kind.startsWith('system-id') ? 2 : 1;
    const hashes = pseudonymisers.map((p) => p.hash(given.kind as PseudonymKind, given.value));
    if (hashes.length === 0) continue;
    const rows = await store.db
      .selectFrom(table)
      .select('person_id')
      .distinct()
      .where('kind', '=', given.kind)
      .where('hash', 'in', hashes)
      .where('dataset_id', 'in', searchable)
      .execute();
    for (const { person_id: personId } of rows) {
      const known = found.get(personId);
      if (known === undefined || tier < known) found.set(personId, tier);
    }
  }
  return [...found]
    .map(([personId, tier]) => ({ personId, tier }))
    .sort((a, b) => a.tier - b.tier || (a.personId < b.personId ? -1 : 1));
}

/**
 * Whether the identifiers given say the one person found among the deleted records is someone
 * else: a record of theirs held another value of a kind given (an NI number only when none of
 * theirs is the one given, as find-person.ts judges the records still held).
 */
export async function retiredContradicts(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
  personId: string,
  table: KeptHashTable = 'retired_identifier',
): Promise<boolean> {
  if (query.identifiers.length === 0 || datasets.length === 0) return false;
  const held = await store.db
    .selectFrom(table)
    .select(['kind', 'hash', 'key_version'])
    .where('person_id', '=', personId)
    .where('dataset_id', 'in', datasets)
    .execute();
  return identifiersConflict(pseudonymisers, query.identifiers, held);
}

/**
 * How many sets of kept hashes (one person's in one dataset, of each {@link KeptHashTable}) each
 * of `keyVersions` holds in `datasets`: what a subject access request tells the DPO it could not
 * compare once those versions are gone from Key Vault. Counts only, never whose. Versions holding
 * none there are left out.
 */
export async function keptHashSetsUnder(
  store: Store,
  keyVersions: readonly string[],
  datasets: readonly string[],
): Promise<{ keyVersion: string; hashSets: number }[]> {
  if (keyVersions.length === 0 || datasets.length === 0) return [];
  const counts = new Map<string, number>();
  for (const table of ['retired_identifier', 'opt_out_kept_identifier'] as const) {
    const sets = store.db
      .selectFrom(table)
      .select(['key_version', 'person_id', 'dataset_id'])
      .distinct()
      .where('key_version', 'in', keyVersions)
      .where('dataset_id', 'in', datasets)
      .as('sets');
    const rows = await store.db
      .selectFrom(sets)
      .select((eb) => ['sets.key_version', eb.fn.countAll<number | string>().as('n')])
      .groupBy('sets.key_version')
      .execute();
    for (const { key_version: version, n } of rows) counts.set(version, (counts.get(version) ?? 0) + Number(n));
  }
  return [...counts]
    .map(([keyVersion, hashSets]) => ({ keyVersion, hashSets }))
    .sort((a, b) => (a.keyVersion < b.keyVersion ? -1 : 1));
}
