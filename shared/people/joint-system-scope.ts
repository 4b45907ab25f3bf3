import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Agreement } from '../agreements/schema.js';
import type { AllowDecision } from '../policy/decision.js';
import { keepsPerson, keepWhileRules, keepWhileTest, type KeepWhileTest } from '../retention/keep-while.js';
import type { Store } from '../store/database.js';
import type { PersonRecords } from './person-view.js';
import { withAttributes } from '../store/record-attributes.js';

/** A condition a person must meet to be in the joint system's scope, on one dataset's records. */
export interface ScopeCondition {
  readonly datasetId: string;
  readonly test: KeepWhileTest;
}

/**
 * The agreement's joint-system conditions on the datasets `covers` accepts. `unjudgeable` when
 * one of them cannot be judged (a field the dataset lacks, a value its type cannot hold): then
 * no one is known to be in scope, and no one is shown or counted.
 */
export function jointSystemScopeConditions(
  agreement: Agreement,
  covers: (datasetId: string) => boolean,
): ScopeCondition[] | 'unjudgeable' {
  const conditions: ScopeCondition[] = [];
  for (const { dataset, keepWhile } of keepWhileRules(agreement)) {
    if (!covers(dataset.id)) continue;
    const test = keepWhileTest(dataset, keepWhile);
    if (typeof test === 'string') return 'unjudgeable';
    conditions.push({ datasetId: dataset.id, test });
  }
  return conditions;
}

/**
 * Whether a lookup may show the person, where the decision's agreement keeps a dataset on the
 * joint system only while a condition holds (the ISA: "only ... whilst clients of Housing are in
 * temporary accommodation"; "Where no link is found, data will not be displayed from any of the
 * systems"): one of the person's records from the condition's sources must hold the value now.
 * Retention deletes the others in time, but waits whenever it cannot judge (retention/); a
 * lookup does not wait: a person not known to be in scope — no Housing record linked, the flag
 * blank or N — is not shown. The planning export counts by the same conditions (curated/).
 */
export async function isWithinJointSystemScope(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
  records?: PersonRecords,
): Promise<boolean> {
  const known = records === undefined ? undefined : { personId, records };
  const [within] = await groupsWithinJointSystemScope(store, agreements, decision, [[personId]], known);
  return within === true;
}

/** One person's records in some datasets, read already: a condition on one of those datasets is judged from them. */
interface KnownRecords {
  readonly personId: string;
  readonly records: PersonRecords;
}

/**
 * For each group of people, whether the person they would be as one is in the joint system's
 * scope (as {@link isWithinJointSystemScope} judges one): an officer reviewing a candidate link
 * decides whether two people are one, so the pair is in scope when their records together meet
 * every condition, and out of it when neither could be shown however it is decided. A group
 * with no people is out of scope wherever there is a condition.
 */
export async function groupsWithinJointSystemScope(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  groups: readonly (readonly string[])[],
  known?: KnownRecords,
): Promise<boolean[]> {
  const all = () => groups.map(() => true);
  if (decision.agreementId === null) return all();
  const agreement = agreements.agreement(decision.agreementId)?.agreement;
  if (agreement === undefined) return all();
  const conditions = jointSystemScopeConditions(agreement, (datasetId) => decision.fields.has(datasetId));
  if (conditions === 'unjudgeable') return groups.map(() => false);
  const people = [...new Set(groups.flat())];
  const within = groups.map(() => true);
  for (const { datasetId, test } of conditions) {
    const byPerson = new Map<string, { partyId: string; attributes: Record<string, unknown> }[]>();
    if (people.length > 0) {
      const knownHere =
        known !== undefined &&
        people.length === 1 &&
        people[0] === known.personId &&
        known.records.datasets.includes(datasetId);
      const rows = knownHere
        ? known.records.rows
            .filter((row) => row.dataset_id === datasetId && test.decidingParties.includes(row.party_id))
            .map((row) => ({ person_id: known.personId, party_id: row.party_id, attributes: row.attributes }))
        : await store.reads.execute(
            store.db
              .selectFrom('source_record')
              .select(['person_id', 'party_id', 'attributes'])
              .where('person_id', 'in', people)
              .where('dataset_id', '=', datasetId)
              .where('party_id', 'in', test.decidingParties)
              .compile(),
          );
      for (const row of await withAttributes(rows, store)) {
        if (row.person_id === null) continue;
        const records = byPerson.get(row.person_id) ?? [];
        records.push({ partyId: row.party_id, attributes: row.attributes });
        byPerson.set(row.person_id, records);
      }
    }
    groups.forEach((group, i) => {
      if (
        !keepsPerson(
          test,
          group.flatMap((personId) => byPerson.get(personId) ?? []),
        )
      )
        within[i] = false;
    });
  }
  return within;
}
