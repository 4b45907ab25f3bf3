import type { DenyDecision } from '../policy/decision.js';
import { problem, type HttpResult } from '../http/problem.js';

/**
 * Every way a lookup can find nobody to show answers alike: no match, an ambiguous match, a
 * reference unknown to the caller, a person with nothing the caller may see, and a person whose
 * consent or opt-out bars this use. Why the last: a distinct answer would tell the caller that
 * the person is known (a research participant, say) without the consent that would let it know.
 * The access log keeps the real reason.
 */
export function noMatch(): HttpResult {
  return problem('no-match', { detail: 'No single person matched; nothing is shown.' });
}

/**
 * A policy denial as problem+json: the reason code is the problem type, except for the denials
 * that depend on the subject's own consent or opt-out, which have no type of their own and are
 * answered as no match (see noMatch).
 */
export function decisionProblem(decision: DenyDecision): HttpResult {
  const { reason, detail } = decision;
  return reason === 'opted-out' || reason === 'consent-required' ? noMatch() : problem(reason, { detail });
}
