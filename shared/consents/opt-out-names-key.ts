import type { Kysely } from 'kysely';
import { familyNameKey } from '../domain/normalise.js';
import type { Pseudonymiser } from '../domain/pseudonymise.js';
import type { MatchTier } from '../people/find-person.js';
import type { CanonicalQuery } from '../people/person-query.js';
import type { Database } from '../store/schema.js';

/**
 * The names key of an opt-out recorded by names alone for someone nobody held (consents-api.ts):
 * the key each names step of the lookup searches by (find-person.ts) — date of birth, or
 * postcode, with the family name as compared (familyNameKey) and the given name's first three
 * letters — kept in `opt_out_kept_identifier` as a keyed hash, never the names. No record's
 * identifiers are hashed as these kinds, so none ever meets one.
 */
export const NAMES_KEY_KINDS = ['dob-name', 'postcode-name'] as const;

export type NamesKeyKind = (typeof NAMES_KEY_KINDS)[number];

/**
 * The names keys `query` gives, unhashed, each with the tier of the names step it stands for:
 * what an opt-out by names alone keeps hashed, and what a subject access request by names looks
 * for among those kept. None without a family name and a given name.
 */
export function namesKeysOf(query: CanonicalQuery): { kind: NamesKeyKind; value: string; tier: MatchTier }[] {
  const { familyName, first3, dateOfBirth, postcode } = query;
  if (familyName === undefined || first3 === undefined) return [];
  const names = `${familyNameKey(familyName)}|${first3}`;
  const [byDate, byPostcode] = NAMES_KEY_KINDS;
  const steps: [NamesKeyKind, string | undefined, MatchTier][] = [
    [byDate, dateOfBirth, 3],
    [byPostcode, postcode, 4],
  ];
  return steps.flatMap(([kind, value, tier]) =>
    value === undefined ? [] : [{ kind, value: `${value}|${names}`, tier }],
  );
}

/**
 * The key versions names keys are kept under: a names key is hashed under each of them as well
 * as the current one to meet one kept before a rotation. Only names keys' versions, so that a
 * version only identifier hashes are kept under never stops a request by names.
 */
export async function namesKeyVersions(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('opt_out_kept_identifier')
    .select('key_version')
    .distinct()
    .where('kind', 'in', NAMES_KEY_KINDS)
    .execute();
  return rows.map((row) => row.key_version).sort();
}

/**
 * The person ids an opt-out keeps `query`'s names key under in `datasets`, hashed under any of
 * `pseudonymisers`, each with the tier of the most reliable names step that found them.
 */
export async function namesKeyMatches(
  db: Kysely<Database>,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
): Promise<{ personId: string; tier: MatchTier }[]> {
  const found = new Map<string, MatchTier>();
  if (datasets.length === 0 || pseudonymisers.length === 0) return [];
  for (const { kind, value, tier } of namesKeysOf(query)) {
    const rows = await db
      .selectFrom('opt_out_kept_identifier')
      .select('person_id')
      .distinct()
      .where('kind', '=', kind)
      .where(
        'hash',
        'in',
        pseudonymisers.map((p) => p.hash(kind, value)),
      )
      .where('dataset_id', 'in', datasets)
      .execute();
    for (const { person_id: personId } of rows) if (!found.has(personId)) found.set(personId, tier);
  }
  return [...found]
    .map(([personId, tier]) => ({ personId, tier }))
    .sort((a, b) => a.tier - b.tier || (a.personId < b.personId ? -1 : 1));
}
