import type { AgreementSet } from '../agreements/agreement-set.js';
import type { AllowDecision } from '../policy/decision.js';
import type { Store } from '../store/database.js';
import { isCallersSubjectWhereRequired } from './callers-subjects.js';
import { isWithinJointSystemScope } from './joint-system-scope.js';

/** Why an allowed decision may still not answer about the person, as the access log records it. */
export type OutOfScopeReason = 'not-callers-subject' | 'outside-joint-system-scope';

/**
 * Whether the agreement lets the caller learn anything about this person at all: their own
 * subject where a grant says `with-caller-record`, and within the joint system's scope where a
 * dataset is kept only while a condition holds. Every answer that tells something of a person
 * (a view, or which councils hold them) asks this first; undefined when the person is in scope.
 */
export async function outOfScopeReason(
  store: Store,
  agreements: AgreementSet,
  decision: AllowDecision,
  personId: string,
): Promise<OutOfScopeReason | undefined> {
  if (!(await isCallersSubjectWhereRequired(store, agreements, decision, personId))) return 'not-callers-subject';
  if (!(await isWithinJointSystemScope(store, agreements, decision, personId))) return 'outside-joint-system-scope';
  return undefined;
}
