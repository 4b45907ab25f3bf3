import type { AgreementSet } from '../agreements/agreement-set.js';
import type { AllowDecision } from '../policy/decision.js';
import type { Store } from '../store/database.js';
import type { PersonRecords } from './person-view.js';
import { decisionForSubject } from './callers-subjects.js';
import { isWithinJointSystemScope } from './joint-system-scope.js';

/** Why an allowed decision may still not answer about the person, as the access log records it. */
export type OutOfScopeReason = 'not-callers-subject' | 'outside-joint-system-scope';

/**
 * What the agreement lets the caller learn about this person: where a grant says
 * `with-caller-record`, only the grants that answer about them (callers-subjects.ts), and only
 * within the joint system's scope where a dataset is kept only while a condition holds. Every
 * answer that tells something of a person (a view, or which councils hold them) asks this
 * first, and answers from the decision it gives back. `records`: the person's records in some
 * datasets, read already; a condition on one of those datasets is judged from them.
 */
export async function subjectScope(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
  records?: PersonRecords,
): Promise<
  { readonly outOfScope: OutOfScopeReason } | { readonly outOfScope: undefined; readonly decision: AllowDecision }
> {
  const forSubject = await decisionForSubject(store, agreements, decision, personId, records);
  if (forSubject === undefined) return { outOfScope: 'not-callers-subject' };
  if (!(await isWithinJointSystemScope(store, agreements, forSubject, personId, records)))
    return { outOfScope: 'outside-joint-system-scope' };
  return { outOfScope: undefined, decision: forSubject };
}
