import type { AgreementSet } from '../agreements/agreement-set.js';
import type { AllowDecision } from '../policy/decision.js';
import type { Store } from '../store/database.js';
import { currentSourcesOf, type PersonRecords } from './person-view.js';
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

/**
 * Whether a lookup or a duplicate check finds the person in its second search, made when nobody
 * it may answer about was found: held by a current source now ({@link currentSourcesOf}), and
 * within `scope`, the grant's subject scope under the decision made before matching
 * ({@link subjectScope}), read by the caller once a person and asked only of one a current source
 * holds. The person's own consent or opt-out is not judged, so one they bar is found, and the
 * refusal logged against them. One function for both: the two near-twins had to be kept alike by
 * hand.
 */
export async function withinScopeHeldNow(
  agreements: Pick<AgreementSet, 'isSource'>,
  records: PersonRecords,
  scope: () => Promise<{ readonly outOfScope: OutOfScopeReason | undefined }>,
): Promise<boolean> {
  return currentSourcesOf(agreements, records.rows).length > 0 && (await scope()).outOfScope === undefined;
}
