import type { Store } from '../store/database.js';

/**
 * The pseudonymisation key versions the store's identifiers are hashed under, in order. Read on
 * the lookups' connection (`store.reads`), so an import's or a linking pass's long transaction on
 * the store's own does not hold it up, and as one index seek a version
 * (`record_identifier_key_version`) — the smallest version, then the smallest above it, and so
 * on — where `select distinct` would read every identifier: there are a handful of versions and
 * millions of identifiers, and every instance asks once a minute, and again when
 * {@link unknownStoredKeyVersion} finds one it has not loaded (api-context.ts).
 */
export function storedKeyVersions(store: Store): Promise<string[]> {
  return keyVersionsOf(store, 'record_identifier');
}

/**
 * The key versions of the identifier hashes kept after retention deleted their records
 * (retired-identifiers.ts), which only a subject access request by identifiers hashes under:
 * a lookup never reads those hashes, so a version only they hold is not one every lookup needs.
 * Indexed on `key_version` (migration 0021), read as above.
 */
export function retiredKeyVersions(store: Store): Promise<string[]> {
  return keyVersionsOf(store, 'retired_identifier');
}

async function keyVersionsOf(store: Store, table: 'record_identifier' | 'retired_identifier'): Promise<string[]> {
  const versions: string[] = [];
  for (;;) {
    const after = versions.at(-1);
    let query = store.db.selectFrom(table).select((eb) => eb.fn.min<string | null>('key_version').as('key_version'));
    if (after !== undefined) query = query.where('key_version', '>', after);
    const [row] = await store.reads.execute(query.compile());
    const next = row?.key_version;
    if (next === null || next === undefined) return versions;
    versions.push(next);
  }
}

/**
 * A key version the store's identifiers are hashed under that is not among `known`, or undefined
 * when every stored version is known: what a lookup asks on every call to learn that its cached
 * versions (api-context.ts) still cover the store — an import under a newly rotated key, on any
 * instance, commits identifiers under a version no cache has yet. Key Vault version ids are not
 * in the order they were made, so a new version may fall anywhere among the known: the query
 * asks for one identifier in the ranges between them, one index seek each (`known` is a handful),
 * in one statement and one row at most, however many identifiers a new version already holds.
 */
export async function unknownStoredKeyVersion(store: Store, known: readonly string[]): Promise<string | undefined> {
  const bounds = [...new Set(known)].sort();
  let query = store.db.selectFrom('record_identifier').select('key_version');
  if (bounds.length > 0) {
    query = query.where((eb) =>
      eb.or([
        eb('key_version', '<', bounds[0]!),
        ...bounds
          .slice(1)
          .map((upper, k) => eb.and([eb('key_version', '>', bounds[k]!), eb('key_version', '<', upper)])),
        eb('key_version', '>', bounds.at(-1)!),
      ]),
    );
  }
  const [row] = await store.reads.execute(store.dialect.firstRows(query, 1).compile());
  return row?.key_version;
}
