import type { Store } from '../store/database.js';

/**
 * The tables that hold identifier hashes with the key version that made them: the records' own,
 * and those kept after their records went — for a subject access request after retention
 * (retired-identifiers.ts) and for an opt-out to reach its person in another dataset
 * (imports/opt-out-kept-keys.ts). A version only those still hold is still one to hash under:
 * without it the request finds nobody, and the opt-out reaches nobody by identifier.
 */
const HASH_TABLES = ['record_identifier', 'retired_identifier', 'opt_out_kept_identifier'] as const;

/**
 * The pseudonymisation key versions the store's identifier hashes are made under, in order. Read
 * on the lookups' connection (`store.reads`), so an import's or a linking pass's long transaction
 * on the store's own does not hold it up, and as one index seek a version and table (each has an
 * index on `key_version`) — the smallest version, then the smallest above it, and so on — where
 * `select distinct` would read every identifier: there are a handful of versions and millions of
 * identifiers, and every instance asks once a minute, and again before any lookup answer that no
 * identifier found (api-context.ts).
 */
export async function storedKeyVersions(store: Store): Promise<string[]> {
  const versions = new Set<string>();
  for (const table of HASH_TABLES) {
    let after: string | undefined;
    for (;;) {
      let query = store.db.selectFrom(table).select((eb) => eb.fn.min<string | null>('key_version').as('key_version'));
      if (after !== undefined) query = query.where('key_version', '>', after);
      const [row] = await store.reads.execute(query.compile());
      const next = row?.key_version;
      if (next === null || next === undefined) break;
      versions.add(next);
      after = next;
    }
  }
  return [...versions].sort();
}
