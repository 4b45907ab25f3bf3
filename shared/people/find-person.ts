import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';
import type { Store } from '../store/database.js';
import type { CanonicalQuery } from './person-query.js';

export type MatchTier = 1 | 2 | 3 | 4;

export type FindResult =
  | { found: true; personId: string; tier: MatchTier }
  /** Nobody, or more than one person at the most reliable tier that matched: no data either way. */
  | { found: false; reason: 'no-match' | 'ambiguous'; tier: MatchTier | null };

/**
 * Find one person by the agreement's matching hierarchy, most reliable first: (1) NHS number, UPN
 * or NI number, (2) system ids, (3) date of birth + legal last name + first three letters of legal
 * first name, (4) home postcode + the same names. Only records of the datasets the caller may
 * see are searched, so a reply never reveals a person known only to other datasets. A tier
 * that points at two different people stops the search: "where no link is found, data will
 * not be displayed" — a guess is never shown in place of the right person.
 */
export async function findPerson(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
): Promise<FindResult> {
  if (datasets.length === 0) return { found: false, reason: 'no-match', tier: null };

  const byIdentifier = async (kinds: (kind: string) => boolean): Promise<Set<string> | undefined> => {
    const wanted = query.identifiers.filter((i) => kinds(i.kind));
    if (wanted.length === 0) return undefined;
    const hashes = wanted.flatMap((i) => pseudonymisers.map((p) => ({ kind: i.kind, hash: p.hash(i.kind as PseudonymKind, i.value) })));
    const rows = await store.db
      .selectFrom('record_identifier as ri')
      .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
      .select('sr.person_id')
      .where((eb) => eb.or(hashes.map((h) => eb.and([eb('ri.kind', '=', h.kind), eb('ri.hash', '=', h.hash)]))))
      .where('sr.dataset_id', 'in', datasets)
      .execute();
    return new Set(rows.map((r) => r.person_id).filter((p): p is string => p !== null));
  };

  const byNames = async (column: 'date_of_birth' | 'postcode', value: string | undefined): Promise<Set<string> | undefined> => {
    if (value === undefined || query.familyName === undefined || query.first3 === undefined) return undefined;
    const rows = await store.db
      .selectFrom('source_record')
      .select('person_id')
      .where(column, '=', value)
      .where('family_name', '=', query.familyName)
      .where('first3', '=', query.first3)
      .where('dataset_id', 'in', datasets)
      .execute();
    return new Set(rows.map((r) => r.person_id).filter((p): p is string => p !== null));
  };

  const tiers: [MatchTier, () => Promise<Set<string> | undefined>][] = [
    [1, () => byIdentifier((k) => k === 'nhs' || k === 'upn' || k === 'ni')],
    [2, () => byIdentifier((k) => k.startsWith('system-id'))],
    [3, () => byNames('date_of_birth', query.dateOfBirth)],
    [4, () => byNames('postcode', query.postcode)],
  ];
  for (const [tier, run] of tiers) {
    const people = await run();
    if (!people || people.size === 0) continue;
    if (people.size > 1) return { found: false, reason: 'ambiguous', tier };
    return { found: true, personId: [...people][0]!, tier };
  }
  return { found: false, reason: 'no-match', tier: null };
}
