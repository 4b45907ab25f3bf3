import type { AgreementSet } from '../agreements/agreement-set.js';
import { grantsOfDecision, narrowToGrants } from '../policy/decide.js';
import type { AllowDecision } from '../policy/decision.js';
import type { Store } from '../store/database.js';

/**
 * The decision as it stands for this person where a grant it rests on says `subjects:
 * with-caller-record` (the ISA's housing providers see "their tenants"): such a grant answers
 * only about a person of whom the calling party's own extract of its dataset holds a record.
 * The caller's other grants (of another role, or without the condition) answer as they do for
 * anyone: their fields stay. Undefined when no grant answers about the person; the decision
 * itself when every grant does.
 */
export async function decisionForSubject(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
): Promise<AllowDecision | undefined> {
  const grants = grantsOfDecision(agreements, decision);
  const restricted = new Set<string>();
  for (const grant of grants) if (grant.grant.subjects === 'with-caller-record') restricted.add(grant.dataset);
  if (restricted.size === 0) return decision;
  const held = new Set<string>();
  for (const datasetId of restricted) {
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
