import type { Kysely } from 'kysely';
import { familyNameKey } from '../domain/normalise.js';
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
