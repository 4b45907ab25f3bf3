import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Agreement } from '../agreements/schema.js';
import type { AllowDecision } from '../policy/decision.js';
import { keepsPerson, keepWhileRules, keepWhileTest, type KeepWhileTest } from '../retention/keep-while.js';
import type { Store } from '../store/database.js';

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
): Promise<boolean> {
  if (decision.agreementId === null) return true;
  const agreement = agreements.agreement(decision.agreementId)?.agreement;
  if (agreement === undefined) return true;
  const conditions = jointSystemScopeConditions(agreement, (datasetId) => decision.fields.has(datasetId));
  if (conditions === 'unjudgeable') return false;
  for (const { datasetId, test } of conditions) {
    const rows = await store.reads.execute(
      store.db
        .selectFrom('source_record')
        .select(['party_id', 'attributes'])
        .where('person_id', '=', personId)
        .where('dataset_id', '=', datasetId)
        .where('party_id', 'in', test.decidingParties)
        .compile(),
    );
    const records = rows.map((row) => ({
      partyId: row.party_id,
      attributes: JSON.parse(row.attributes) as Record<string, unknown>,
    }));
    if (!keepsPerson(test, records)) return false;
  }
  return true;
}
