import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';
import type { Store } from '../store/database.js';
import type { CanonicalQuery } from './person-query.js';
import { QueryShapes } from './query-shapes.js';

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
    const pairs: string[] = [];
    for (const i of wanted)
      for (const p of pseudonymisers) pairs.push(i.kind, p.hash(i.kind as PseudonymKind, i.value));
    if (pairs.length === 0) return new Set();
    const rows = await byIdentifierQuery.execute(store, String(pairs.length / 2), [...pairs, ...datasets]);
    return personIds(rows);
  };

  const byNames = async (column: NameKeyColumn, value: string | undefined): Promise<Set<string> | undefined> => {
    if (value === undefined || query.familyName === undefined || query.first3 === undefined) return undefined;
    const rows = await byNamesQuery.execute(store, column, [value, query.familyName, query.first3, ...datasets]);
    return personIds(rows);
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

type NameKeyColumn = 'date_of_birth' | 'postcode';

/** Tiers 1 and 2; shape: how many (kind, hash) pairs. Values: kind, hash for each pair, then the datasets. */
const byIdentifierQuery = new QueryShapes((db, shape, values) => {
  const pairs = Number(shape);
  return db
    .selectFrom('record_identifier as ri')
    .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
    .select('sr.person_id')
    .where((eb) =>
      eb.or(
        Array.from({ length: pairs }, (_, k) =>
          eb.and([eb('ri.kind', '=', values[2 * k]!), eb('ri.hash', '=', values[2 * k + 1]!)]),
        ),
      ),
    )
    .where('sr.dataset_id', 'in', values.slice(2 * pairs));
});

/** Tiers 3 and 4; shape: the key column. Values: its value, family name, first three letters, then the datasets. */
const byNamesQuery = new QueryShapes((db, shape: NameKeyColumn, values) =>
  db
    .selectFrom('source_record')
    .select('person_id')
    .where(shape, '=', values[0]!)
    .where('family_name', '=', values[1]!)
    .where('first3', '=', values[2]!)
    .where('dataset_id', 'in', values.slice(3)),
);

function personIds(rows: readonly { person_id: string | null }[]): Set<string> {
  const people = new Set<string>();
  for (const row of rows) if (row.person_id !== null) people.add(row.person_id);
  return people;
}
