import { sql, type CompiledQuery } from 'kysely';
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

/**
 * The key versions of the identifier hashes an opt-out keeps (opt-out-kept-keys.ts), which a
 * subject access request hashes under as well: kept before a rotation, they are under a version
 * no record may hold now. Not indexed on `key_version` first, so each seek reads the table: it
 * holds the keys of opted-out people no record holds, few, and only such a request asks.
 */
export function keptKeyVersionsHeld(store: Store): Promise<string[]> {
  return keyVersionsOf(store, 'opt_out_kept_identifier');
}

async function keyVersionsOf(
  store: Store,
  table: 'record_identifier' | 'retired_identifier' | 'opt_out_kept_identifier',
): Promise<string[]> {
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
 * in the order they were made, so a new version may fall anywhere among the known: one statement
 * asks for the smallest and the largest stored version and, after each known version but the
 * last, the smallest above it, each a seek at one end of `record_identifier_key_version`; a
 * version outside the known shows as one of those that is not the known version it should be.
 */
export async function unknownStoredKeyVersion(store: Store, known: readonly string[]): Promise<string | undefined> {
  const { bounds, query } = unknownVersionQuery(store, known);
  const [row] = await store.reads.execute(query);
  if (row === undefined) return undefined;
  const { lo, hi } = row;
  if (lo === null || hi === null) return undefined;
  if (bounds.length === 0) return lo;
  if (lo < bounds[0]!) return lo;
  if (hi > bounds.at(-1)!) return hi;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const next = row[`n${k}`];
    if (next !== null && next !== undefined && next < bounds[k + 1]!) return next;
  }
  return undefined;
}

type VersionSeeks = { lo: string | null; hi: string | null } & Record<string, string | null>;

/**
 * The statement for one store and set of known versions, built once: asked on every lookup, the
 * query builder's work to build and compile it cost more than the seeks (`bench:api`), and the
 * known versions change once a rotation at most. Scalar seeks rather than one `where v < a or
 * (v > a and v < b) or v > b limit 1`, which SQLite runs as a MULTI-INDEX OR, two to three times
 * the seeks' cost.
 */
const unknownVersionQueries = new WeakMap<
  Store,
  { known: string; bounds: string[]; query: CompiledQuery<VersionSeeks> }
>();

function unknownVersionQuery(
  store: Store,
  known: readonly string[],
): { bounds: string[]; query: CompiledQuery<VersionSeeks> } {
  const bounds = [...new Set(known)].sort();
  const key = bounds.join('\u0000');
  const built = unknownVersionQueries.get(store);
  if (built !== undefined && built.known === key) return built;
  const seek = (name: string, fn: 'min' | 'max', above?: string) =>
    sql<string | null>`(select ${sql.raw(fn)}(key_version) from record_identifier${
      above === undefined ? sql`` : sql` where key_version > ${above}`
    })`.as(name);
  const query = store.db
    .selectNoFrom([seek('lo', 'min'), seek('hi', 'max'), ...bounds.slice(0, -1).map((b, k) => seek(`n${k}`, 'min', b))])
    .compile() as CompiledQuery<VersionSeeks>;
  const entry = { known: key, bounds, query };
  unknownVersionQueries.set(store, entry);
  return entry;
}
