/**
 * The outcome of a policy decision. An allow carries the exact field set the caller may
 * receive; a deny carries a stable reason code for the problem response and the access log.
 */
import type { DataAction, LawfulBasis } from '../agreements/schema.js';

export type { DataAction };

/**
 * `lookup`, `search`, `duplicate-check`, `review`: return data about people, per the grants.
 * `export`: counts of the granted fields across the dataset (shared/curated/); the subject
 *   conditions are applied to everyone in it at once, so the decision stays `pending`.
 * `consent-write`: record a consent (the purpose's consentSource party and roles).
 * `consent-withdraw`: withdraw a consent, asked only for the party that recorded it (anyone else
 *   is answered before the policy is asked): any role it holds in the purpose's agreement, its
 *   DPO's among them (which role recorded is not kept, and the source's roles may have changed).
 * `opt-out-write`: record a national data opt-out (a DPO of a party to the purpose's agreement,
 *   where the opt-out applies to the purpose); not held back by the agreement's effective date,
 *   as it releases nothing.
 * `opt-out-withdraw`: withdraw one (asked only for the party that recorded it): as `opt-out-write`,
 *   and under an agreement that ended (its file removed) by the `dpo` role the party held in it,
 *   as the store remembers it, with a purpose that agreement defined (`subjectAgreementId`); not
 *   held back by the agreement's effective date, as a consent's withdrawal is not.
 * All four are decided before the subject is matched, from the agreements alone, so a caller who
 * may not write learns nothing about whether the person is known.
 * `upload`: supply a dataset (its source parties).
 * `audit`: read the access log (the agreement's audit roles).
 */
export type PolicyAction =
  DataAction | 'consent-write' | 'consent-withdraw' | 'opt-out-write' | 'opt-out-withdraw' | 'upload' | 'audit';

export const DENY_REASONS = [
  'party-unknown',
  'purpose-required',
  'purpose-unknown',
  'purpose-not-permitted',
  'role-not-permitted',
  'action-not-permitted',
  'dataset-unknown',
  'dataset-not-permitted',
  'opted-out',
  'consent-required',
] as const;

export type DenyReason = (typeof DENY_REASONS)[number];

/**
 * - `checked`: the subject's consent and opt-out were checked and passed.
 * - `not-applicable`: the purpose needs neither consent nor opt-out checks.
 * - `pending`: the purpose needs them but no subject was given (a search before matching);
 *   the field set is shown for planning the response, but `projectRecord` refuses to use it.
 *   Decide again with the matched subject before returning anything about them.
 */
export type SubjectConditions = 'checked' | 'not-applicable' | 'pending';

export interface AllowDecision {
  readonly allow: true;
  readonly reason: 'granted';
  readonly action: PolicyAction;
  readonly partyId: string;
  /** The caller's roles that earned the decision (a subset of the roles it presented). */
  readonly roles: readonly string[];
  /** The agreement the purpose belongs to; for `upload` and `audit` without a purpose, null. */
  readonly agreementId: string | null;
  readonly agreementVersion: string | null;
  /** For `audit`: every agreement whose access log the caller may read. Otherwise `[agreementId]` or []. */
  readonly agreementIds: readonly string[];
  readonly purpose: string | null;
  readonly lawfulBasis: LawfulBasis | null;
  readonly subjectKey: string | null;
  readonly subjectConditions: SubjectConditions;
  /** The datasets covered by the decision. */
  readonly datasets: readonly string[];
  /** Dataset id -> every field the caller may receive (special-category ones included). */
  readonly fields: ReadonlyMap<string, ReadonlySet<string>>;
  /** Dataset id -> the special-category subset of `fields`, for the access log and response marking. */
  readonly specialCategoryFields: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface DenyDecision {
  readonly allow: false;
  readonly reason: DenyReason;
  readonly action: PolicyAction;
  readonly partyId: string | null;
  readonly purpose: string | null;
  readonly agreementId: string | null;
  /** The requested (known) datasets that caused a dataset-not-permitted denial. */
  readonly datasets: readonly string[];
  /** A sentence for the problem response; ids and codes only, never personal data. */
  readonly detail: string;
}

export type Decision = AllowDecision | DenyDecision;
