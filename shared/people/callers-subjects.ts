import type { AgreementSet } from '../agreements/agreement-set.js';
import { grantsOfDecision, narrowToGrants } from '../policy/decide.js';
import type { AllowDecision } from '../policy/decision.js';
import { inSlices } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import type { PersonRecords } from './person-view.js';

/**
 * The decision as it stands for this person where a grant it rests on says `subjects:
 * with-caller-record` (the ISA's housing providers see "their tenants"): such a grant answers
 * only about a person of whom the calling party's own extract of its dataset holds a record.
 * The caller's other grants (of another role, or without the condition) answer as they do for
 * anyone: their fields stay. Undefined when no grant answers about the person; the decision
 * itself when every grant does. `records`: the person's records in some datasets, read already.
 *
 * Only a current source's records make a person the caller's own subject ({@link AgreementSet.isSource}):
 * a party that no longer supplies the dataset (a re-signing dropped it as a source, and left it
 * the grant) has no one through the records it loaded before, which are no longer the
 * agreement's to share, and which would keep answering about people long gone from its books
 * (found by a review: a former source's provider was shown the indicators of anyone its old
 * extract held, while the planning export counted none of them as its own).
 */
export async function decisionForSubject(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
  records?: PersonRecords,
): Promise<AllowDecision | undefined> {
  const grants = grantsOfDecision(agreements, decision);
  const restricted = new Set<string>();
  for (const grant of grants) if (grant.grant.subjects === 'with-caller-record') restricted.add(grant.dataset);
  if (restricted.size === 0) return decision;
  const held = new Set<string>();
  for (const datasetId of restricted) {
    if (!agreements.isSource(decision.partyId, datasetId)) continue;
    if (records?.datasets.includes(datasetId)) {
      if (records.rows.some((row) => row.dataset_id === datasetId && row.party_id === decision.partyId))
        held.add(datasetId);
      continue;
    }
    const rows = await store.reads.execute(
      store.dialect
        .firstRows(
          store.db
            .selectFrom('source_record')
            .select('id')
            .where('person_id', '=', personId)
            .where('dataset_id', '=', datasetId)
            .where('party_id', '=', decision.partyId),
          1,
        )
        .compile(),
    );
    if (rows.length > 0) held.add(datasetId);
  }
  if (held.size === restricted.size) return decision;
  return narrowToGrants(
    agreements,
    decision,
    grants.filter((grant) => grant.grant.subjects !== 'with-caller-record' || held.has(grant.dataset)),
  );
}

/**
 * For each group of people, the decision as it stands for the person they would be as one (as
 * {@link decisionForSubject} gives it for one): an officer reviewing a candidate link decides
 * whether two people are one, so a grant for the caller's own subjects answers about the pair
 * when the caller, a current source of the dataset, holds a record of either. Undefined for a
 * group no grant answers about (a group of no people, where a grant says `with-caller-record`).
 * One read per restricted dataset for all the groups; groups kept by the same grants share one
 * decision.
 */
export async function decisionsForGroups(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  groups: readonly (readonly string[])[],
): Promise<(AllowDecision | undefined)[]> {
  const grants = grantsOfDecision(agreements, decision);
  const restricted = [
    ...new Set(grants.filter((g) => g.grant.subjects === 'with-caller-record').map((g) => g.dataset)),
  ];
  if (restricted.length === 0) return groups.map(() => decision);
  const people = [...new Set(groups.flat())];
  const heldIn = new Map<string, Set<string>>(restricted.map((datasetId) => [datasetId, new Set<string>()]));
  for (const datasetId of restricted) {
    if (!agreements.isSource(decision.partyId, datasetId)) continue;
    const rows = await inSlices(store.dialect.engine, people, (slice) =>
      store.reads.execute(
        store.db
          .selectFrom('source_record')
          .select('person_id')
          .distinct()
          .where('person_id', 'in', slice)
          .where('dataset_id', '=', datasetId)
          .where('party_id', '=', decision.partyId)
          .compile(),
      ),
    );
    for (const row of rows) if (row.person_id !== null) heldIn.get(datasetId)!.add(row.person_id);
  }
  const narrowed = new Map<string, AllowDecision | undefined>();
  return groups.map((group) => {
    const held = restricted.filter((datasetId) => group.some((personId) => heldIn.get(datasetId)!.has(personId)));
    if (held.length === restricted.length) return decision;
    const key = held.join('\n');
    if (!narrowed.has(key))
      narrowed.set(
        key,
        narrowToGrants(
          agreements,
          decision,
          grants.filter((grant) => grant.grant.subjects !== 'with-caller-record' || held.includes(grant.dataset)),
        ),
      );
    return narrowed.get(key);
  });
}
