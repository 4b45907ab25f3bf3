import type { AgreementSet } from '../agreements/agreement-set.js';
import type { AllowDecision } from '../policy/decision.js';
import type { Store } from '../store/database.js';

/**
 * Whether the person is someone the decision may answer about, where a grant it rests on says
 * `subjects: with-caller-record` (the ISA's housing providers see "their tenants"): the calling
 * party's own extract of that dataset must hold a record of the person. Grants without it
 * answer about anyone the match finds.
 */
export async function isCallersSubjectWhereRequired(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
): Promise<boolean> {
  if (decision.purpose === null) return true;
  const roles = new Set(decision.roles);
  const restricted = new Set<string>();
  for (const grant of agreements.grantsFor(decision.purpose)) {
    if (grant.grant.subjects !== 'with-caller-record' || !decision.fields.has(grant.dataset)) continue;
    if (grant.parties.has(decision.partyId) && [...grant.roles].some((role) => roles.has(role)))
      restricted.add(grant.dataset);
  }
  for (const datasetId of restricted) {
    const held = await store.reads.execute(
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
    if (held.length === 0) return false;
  }
  return true;
}
