import type { DenyDecision } from '../policy/decision.js';
import { problem, type HttpResult } from '../http/problem.js';

const STATUS: Record<DenyDecision['reason'], number> = {
  'purpose-required': 400,
  'dataset-unknown': 400,
  'party-unknown': 403,
  'purpose-unknown': 403,
  'purpose-not-permitted': 403,
  'role-not-permitted': 403,
  'action-not-permitted': 403,
  'dataset-not-permitted': 403,
  'opted-out': 403,
  'consent-required': 403,
};

const TITLE: Record<DenyDecision['reason'], string> = {
  'purpose-required': 'X-Purpose header required',
  'dataset-unknown': 'Unknown dataset',
  'party-unknown': 'Caller is not a party to any agreement',
  'purpose-unknown': 'Unknown purpose',
  'purpose-not-permitted': 'Purpose not permitted',
  'role-not-permitted': 'Role not permitted',
  'action-not-permitted': 'Action not permitted',
  'dataset-not-permitted': 'Dataset not permitted',
  'opted-out': 'Subject has opted out',
  'consent-required': 'Consent required',
};

/** A policy denial as problem+json: the reason code is the problem type. */
export function decisionProblem(decision: DenyDecision): HttpResult {
  return problem(STATUS[decision.reason], decision.reason, TITLE[decision.reason], { detail: decision.detail });
}
