import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';
import { familyNameSpellings, givenNamesEquivalent, normaliseName } from '../domain/normalise.js';
import { datesClearlyDiffer } from '../matching/deterministic.js';
import type { Store } from '../store/database.js';
import { identifiersConflict, isHardKind } from './identifier-conflict.js';
import type { IdentifierUse } from './lookup-identifiers.js';
import type { CanonicalQuery } from './person-query.js';
import { QueryShapes } from './query-shapes.js';

export type MatchTier = 1 | 2 | 3 | 4;

/** Whether the caller may be answered about a person at all (subject-scope.ts). */
export type Visibility = (personId: string) => Promise<boolean>;

/**
 * Which steps' person a date of birth the caller gave must fit. `every-step`, for a lookup that
 * shows the person or tells of them (a search, a duplicate check): an NHS number pasted from a
 * sibling's file, or an NI number mistyped into a stranger's, finds that other person as surely
 * as the right one, and only the caller's date of birth says so; a miss sends the officer back to
 * the identifier, while showing the other person is a breach. `postcode-step`, for a subject
 * access request and a consent or opt-out, which answer a contradiction their own way (the
 * former lists the people for its DPO to judge, the latter records for everyone matched): the
 * postcode step's alone, whose names and address fit a parent or sibling as well.
 */
export type DateOfBirthCheck = 'every-step' | 'postcode-step';

/**
 * Why nobody is shown. The conflicts: the one person a step found holds an identifier of a kind
 * the caller gave, with another value, or (at the postcode step, and the identifier steps where
 * DateOfBirthCheck says) a date of birth that cannot be the caller's mistyped — the caller's
 * evidence says this is someone else (a twin, a parent at the same address, a sibling whose NHS
 * number was pasted), as linking itself would refuse the pair.
 */
export type NoMatchReason = 'no-match' | 'ambiguous' | 'identifier-conflict' | 'date-of-birth-conflict';

export type FindResult =
  | { found: true; personId: string; tier: MatchTier }
  /**
   * Nobody, two people at the most reliable tier that matched, or one the caller's evidence
   * contradicts: no data. `hidden`: the people it is about are all people the caller may not be
   * answered about (`visible` said no), so an answer that differs from "nobody" would tell of them.
   */
  | { found: false; reason: NoMatchReason; tier: MatchTier | null; hidden?: true };

/**
 * Find one person by the agreement's matching hierarchy, most reliable first: (1) NHS number, UPN
 * or NI number, (2) system ids, (3) date of birth + legal last name + first three letters of legal
 * first name, (4) home postcode + the same names. Only records of the datasets the caller may
 * see are searched, so a reply never reveals a person known only to other datasets, and each
 * only by the identifier kinds its agreement's matching names (lookup-identifiers.ts). A tier
 * that points at two different people stops the search: "where no link is found, data will
 * not be displayed" — a guess is never shown in place of the right person. So does a tier whose
 * one person the caller's other identifiers contradict: a later, weaker step finding them does
 * not outweigh an identifier that says they are someone else.
 */
export async function findPerson(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
  identifiers: IdentifierUse,
  visible?: Visibility,
  dateOfBirthCheck: DateOfBirthCheck = 'every-step',
): Promise<FindResult> {
  const searches = tierSearches(store, pseudonymisers, query, datasets, identifiers);
  // People the caller may not see are passed over while a later step may find one it may: an
  // identifier of theirs sent beside a visible person's names must not stop the search on them
  // and turn that person's answer into no-match, telling the caller the identifier is known
  // (found by a review). Found alone, they are answered as before, so the access log keeps why
  // nobody was shown.
  const seeable = async (people: Set<string> | undefined) => {
    if (people === undefined || visible === undefined) return people;
    const seen = new Set<string>();
    for (const person of people) if (await visible(person)) seen.add(person);
    return seen;
  };
  let hidden: { tier: MatchTier; people: Set<string> } | undefined;
  for (const [tier, run] of searches) {
    const all = await run();
    if (!all || all.size === 0) continue;
    const people = (await seeable(all))!;
    if (people.size === 0) {
      hidden ??= { tier, people: all };
      continue;
    }
    return settle(tier, people);
  }
  if (hidden === undefined) return { found: false, reason: 'no-match', tier: null };
  const settled = await settle(hidden.tier, hidden.people);
  return settled.found ? settled : { ...settled, hidden: true };

  async function settle(tier: MatchTier, people: Set<string>): Promise<FindResult> {
    if (people.size > 1) return { found: false, reason: 'ambiguous', tier };
    const personId = [...people][0]!;
    const conflict = await contradiction(
      store,
      pseudonymisers,
      query,
      datasets,
      identifiers,
      personId,
      tier,
      dateOfBirthCheck,
    );
    if (conflict !== null) return { found: false, reason: conflict, tier };
    // A system id the caller also gave that names someone else (the NHS number one child's, the
    // social care id another's): the evidence names two people, and neither is shown (found by
    // a review). The person found holds none of that kind, or the check above had refused.
    for (const [later, search] of searches) {
      if (later <= tier || later > 2) continue;
      const named = await seeable(await search());
      if (named !== undefined && [...named].some((other) => other !== personId)) {
        return { found: false, reason: 'identifier-conflict', tier };
      }
    }
    return { found: true, personId, tier };
  }
}

/**
 * Everyone any tier finds, each with the most reliable tier that found them, most reliable
 * first — for a subject access request, which must not stop where a lookup stops: a person held
 * as two (two NHS numbers kept apart) was accessed under both ids, and the data protection
 * officer judges which are the requester. Never used to show anyone's data.
 */
export async function everyMatch(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
  identifiers: IdentifierUse,
): Promise<{ personId: string; tier: MatchTier }[]> {
  const found = new Map<string, MatchTier>();
  for (const [tier, run] of tierSearches(store, pseudonymisers, query, datasets, identifiers)) {
    for (const personId of (await run()) ?? []) if (!found.has(personId)) found.set(personId, tier);
  }
  return [...found].map(([personId, tier]) => ({ personId, tier }));
}

/** Each tier's search, most reliable first; a search answers undefined when the query gives it nothing to search by. */
function tierSearches(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
  identifiers: IdentifierUse,
): [MatchTier, () => Promise<Set<string> | undefined>][] {
  if (datasets.length === 0) return [];

  const byIdentifier = async (kinds: (kind: string) => boolean): Promise<Set<string> | undefined> => {
    // One query for each set of datasets an identifier may be searched in: usually a single one.
    const groups = new Map<string, { datasets: string[]; pairs: string[] }>();
    for (const i of query.identifiers) {
      if (!kinds(i.kind)) continue;
      const searchable = datasets.filter((d) => identifiers(d, i.kind));
      if (searchable.length === 0) continue;
      const key = searchable.join('\u0000');
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { datasets: searchable, pairs: [] }));
      for (const p of pseudonymisers) group.pairs.push(i.kind, p.hash(i.kind as PseudonymKind, i.value));
    }
    if (groups.size === 0) return undefined;
    const people = new Set<string>();
    for (const { datasets: searchable, pairs } of groups.values()) {
      if (pairs.length === 0) continue;
      const rows = await byIdentifierQuery.execute(store, String(pairs.length / 2), [...pairs, ...searchable]);
      for (const person of personIds(rows)) people.add(person);
    }
    return people;
  };

  // Every stored spelling of the caller's family name (O BRIEN for OBRIEN), worked out once for both steps.
  const familyNames = query.familyName === undefined ? undefined : familyNameSpellings(query.familyName);
  const byNames = async (column: NameKeyColumn, value: string | undefined): Promise<Set<string> | undefined> => {
    if (value === undefined || familyNames === undefined || query.first3 === undefined) return undefined;
    const shape: NameKeyShape = `${column}/${familyNames.length}`;
    const rows = await byNamesQuery.execute(store, shape, [value, ...familyNames, query.first3, ...datasets]);
    return personIds(rows);
  };

  return [
    [1, () => byIdentifier((k) => k === 'nhs' || k === 'upn' || k === 'ni')],
    [2, () => byIdentifier((k) => k.startsWith('system-id'))],
    [3, () => byNames('date_of_birth', query.dateOfBirth)],
    [4, () => byNames('postcode', query.postcode)],
  ];
}

/**
 * Whether the caller's own evidence says `personId` is someone else. Only the records of the
 * searched datasets are compared (a refusal that came from a record the caller may not see
 * would tell it what that record holds), by every identifier kind they hold that the caller
 * gave, not only those their agreement searches by: the ISA matches on NHS numbers and system
 * ids, yet a namesake found by names whose stored NI number is not the caller's is someone
 * else, as linking itself holds (found by a review).
 */
async function contradiction(
  store: Store,
  pseudonymisers: readonly Pseudonymiser[],
  query: CanonicalQuery,
  datasets: readonly string[],
  identifiers: IdentifierUse,
  personId: string,
  tier: MatchTier,
  dateOfBirthCheck: DateOfBirthCheck,
): Promise<NoMatchReason | null> {
  // Found at tier 1 with no identifier given but NI numbers, the person was found by a record
  // holding the caller's NI number under the key it was hashed with, and an NI number conflicts
  // only where none of the person's is the caller's: the read could only answer no conflict.
  const foundByAllGiven = tier === 1 && query.identifiers.every((given) => !isHardKind(given.kind));
  if (query.identifiers.length > 0 && !foundByAllGiven) {
    const held = await personIdentifiersQuery.execute(store, '', [personId, ...datasets]);
    if (identifiersConflict(pseudonymisers, query.identifiers, held)) return 'identifier-conflict';
  }
  // The postcode step's names and address fit a parent or sibling as well as the caller's person,
  // and an identifier step's identifier may be theirs, pasted or mistyped (DateOfBirthCheck). The
  // date of birth step's person holds the caller's date by the search itself.
  const checksDate = tier === 4 || (dateOfBirthCheck === 'every-step' && tier <= 2);
  if (checksDate && query.dateOfBirth !== undefined) {
    const dates = (await personDatesQuery.execute(store, '', [personId, ...datasets]))
      .map((row) => row.date_of_birth)
      .filter((date): date is string => date !== null && date !== '');
    // One record's slip must not block the person: only dates that all clearly differ do.
    if (dates.length > 0 && dates.every((date) => datesClearlyDiffer(query.dateOfBirth!, date))) {
      return 'date-of-birth-conflict';
    }
  }
  return null;
}

/**
 * Whether one of the person's records in the datasets holds the given name the caller gave, or
 * a nickname of it (first names compared: "Mary" fits "Mary Ann"). The names steps find anyone
 * whose first name shares the caller's first three letters: right for a lookup, whose officer
 * sees whom it found, but a consent recorded for "Leo" must not land on a Leon held at the same
 * postcode, releasing his data on someone else's say (found by a review of the Housing First
 * notice: "only ... with informed consent of the individual").
 */
export async function holdsGivenName(
  store: Store,
  personId: string,
  datasets: readonly string[],
  givenName: string,
): Promise<boolean> {
  const firstName = (name: string) => normaliseName(name).split(' ')[0] ?? '';
  const given = firstName(givenName);
  const rows = await personGivenNamesQuery.execute(store, '', [personId, ...datasets]);
  return rows.some((row) => row.given_name !== null && givenNamesEquivalent(given, firstName(row.given_name)));
}

type NameKeyColumn = 'date_of_birth' | 'postcode';
/** The key column and how many spellings of the family name are searched (familyNameSpellings). */
type NameKeyShape = `${NameKeyColumn}/${number}`;

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

/**
 * Tiers 3 and 4; shape: the key column and the number of family name spellings. Values: the key
 * column's value, the spellings, first three letters, then the datasets. The spellings are an
 * `in` list on the index's second column: one index seek each, as the single name was.
 */
const byNamesQuery = new QueryShapes((db, shape: NameKeyShape, values) => {
  const [column, count] = shape.split('/') as [NameKeyColumn, string];
  const spellings = Number(count);
  return db
    .selectFrom('source_record')
    .select('person_id')
    .where(column, '=', values[0]!)
    .where('family_name', 'in', values.slice(1, 1 + spellings))
    .where('first3', '=', values[1 + spellings]!)
    .where('dataset_id', 'in', values.slice(2 + spellings));
});

/** The person's identifiers in the searched datasets. Values: the person id, then the datasets. */
const personIdentifiersQuery = new QueryShapes((db, _shape, values) =>
  db
    .selectFrom('record_identifier as ri')
    .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
    .select(['sr.dataset_id', 'ri.kind', 'ri.hash', 'ri.key_version'])
    .where('sr.person_id', '=', values[0]!)
    .where('sr.dataset_id', 'in', values.slice(1)),
);

/** The person's dates of birth in the searched datasets. Values: the person id, then the datasets. */
const personDatesQuery = new QueryShapes((db, _shape, values) =>
  db
    .selectFrom('source_record')
    .select('date_of_birth')
    .where('person_id', '=', values[0]!)
    .where('dataset_id', 'in', values.slice(1)),
);

const personGivenNamesQuery = new QueryShapes((db, _shape, values) =>
  db
    .selectFrom('source_record')
    .select('given_name')
    .where('person_id', '=', values[0]!)
    .where('dataset_id', 'in', values.slice(1)),
);

function personIds(rows: readonly { person_id: string | null }[]): Set<string> {
  const people = new Set<string>();
  for (const row of rows) if (row.person_id !== null) people.add(row.person_id);
  return people;
}
