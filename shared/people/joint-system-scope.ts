import type { AgreementSet } from '../agreements/agreement-set.js';
import type { AllowDecision } from '../policy/decision.js';
import { keepWhileRules, keepWhileTest } from '../retention/keep-while.js';
import type { Store } from '../store/database.js';

/**
 * Whether a lookup may show the person, where the decision's agreement keeps a dataset on the
 * joint system only while a condition holds (the ISA: "only ... whilst clients of Housing are in
 * temporary accommodation"; "Where no link is found, data will not be displayed from any of the
 * systems"): one of the person's records from the condition's sources must hold the value now.
 * Retention deletes the others in time, but waits whenever it cannot judge (retention/); a
 * lookup does not wait: a person not known to be in scope — no Housing record linked, the flag
 * blank or N — is not shown.
 */
export async function isWithinJointSystemScope(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
): Promise<boolean> {
  if (decision.agreementId === null) return true;
  const agreement = agreements.agreement(decision.agreementId)?.agreement;
  if (agreement === undefined) return true;
  for (const { dataset, keepWhile } of keepWhileRules(agreement)) {
    if (!decision.fields.has(dataset.id)) continue;
    const test = keepWhileTest(dataset, keepWhile);
    if (typeof test === 'string') return false;
    const rows = await store.reads.execute(
      store.db
        .selectFrom('source_record')
        .select('attributes')
        .where('person_id', '=', personId)
        .where('dataset_id', '=', dataset.id)
        .where('party_id', 'in', test.decidingParties)
        .compile(),
    );
    const held = rows.some(
      (row) => (JSON.parse(row.attributes) as Record<string, unknown>)[test.field] === test.wanted,
    );
    if (!held) return false;
  }
  return true;
}
