/**
 * The policy decision point: the one place that says whether a caller may do something and,
 * if it returns data, exactly which fields. Every handler calls it; nothing else reads grants.
 *
 * Checks run in the order of the request path in the design brief: who (party, role), why
 * (purpose granted to the party), what (datasets and fields), and last the subject's own
 * conditions (national data opt-out, consent), which need the store and so come after every
 * check that can be answered from the agreements alone.
 */
import type { AgreementSet, ResolvedGrant } from '../agreements/agreement-set.js';
import type { DataAction, Purpose } from '../agreements/schema.js';
import { ukDateOf } from '../domain/uk-date.js';
import type { ConsentRegister } from './consent-register.js';
import type { AllowDecision, Decision, DenyDecision, DenyReason, PolicyAction, SubjectConditions } from './decision.js';

export interface DecisionInput {
  readonly caller: {
    readonly partyId: string;
    /** For the access log; the decision itself goes by party and roles. */
    readonly clientId: string;
    readonly roles: readonly string[];
  };
  /** The `X-Purpose` header, as sent. */
  readonly purpose: string | undefined;
  /** Requested dataset ids; empty means every dataset the caller is granted for the purpose. */
  readonly datasets: readonly string[];
  /** The pseudonymous person key, or null before matching. */
  readonly subject: { readonly subjectKey: string } | null;
  readonly action: PolicyAction;
  /**
   * For `consent-withdraw`: the agreement whose datasets hold the consent's person
   * (people/person-agreement.ts), where one does; else the agreement the store remembers the
   * consent's purpose was (agreements/remembered-agreements.ts). It decides the withdrawal of a
   * consent whose purpose no agreement defines any more. For `opt-out-withdraw`: the agreement
   * the opt-out's person belongs to, where the stated purpose is one it last defined and no
   * agreement defines now (it ended). Unused otherwise.
   */
  readonly subjectAgreementId?: string | undefined;
}

export interface DecisionDeps {
  readonly agreements: AgreementSet;
  readonly consents: ConsentRegister;
  readonly now: () => Date;
}

const DATA_ACTIONS: ReadonlySet<PolicyAction> = new Set<DataAction>([
  'lookup',
  'search',
  'duplicate-check',
  'review',
  'export',
]);

const NO_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map();

/**
 * The decision once the person is matched. A purpose that needs neither consent nor opt-out
 * has nothing more to decide about the subject, so the decision made before matching stands,
 * now naming the subject; otherwise (`pending`) it is decided again with the subject, for the
 * subject's consent and national data opt-out.
 */
export async function decideForSubject(
  beforeMatch: AllowDecision,
  input: Omit<DecisionInput, 'subject'>,
  subjectKey: string,
  deps: DecisionDeps,
): Promise<Decision> {
  if (beforeMatch.subjectConditions === 'not-applicable') return { ...beforeMatch, subjectKey };
  return decide({ ...input, subject: { subjectKey } }, deps);
}

export async function decide(input: DecisionInput, deps: DecisionDeps): Promise<Decision> {
  const { agreements } = deps;
  const { caller, action } = input;
  const purposeId = input.purpose?.trim() === '' ? undefined : input.purpose?.trim();

  const deny = (
    reason: DenyReason,
    detail: string,
    extra: Partial<Pick<DenyDecision, 'agreementId' | 'datasets'>> = {},
  ): DenyDecision => ({
    allow: false,
    reason,
    action,
    partyId: agreements.knowsParty(caller.partyId) ? caller.partyId : null,
    purpose: purposeId ?? null,
    agreementId: extra.agreementId ?? null,
    datasets: extra.datasets ?? [],
    detail,
  });

  // A party only to agreements that have ended (their files removed) is known for two things: its
  // DPO answers for the accesses made under them, and it withdraws the consents it recorded there
  // (UK GDPR Art. 7(3)). So is one a re-signing dropped, for the withdrawals alone (its DPO audits
  // nothing of an agreement that goes on without it: decideAudit). No agreement it is a party to
  // now defines a purpose or dataset it could use.
  const current = agreements.party(caller.partyId) !== undefined;
  const knownOnly = !current && agreements.knowsParty(caller.partyId);
  const withdrawal = action === 'consent-withdraw' || action === 'opt-out-withdraw';
  if (!current && !(knownOnly && (action === 'audit' || withdrawal))) {
    return deny('party-unknown', 'The caller is not a party to any current agreement.');
  }
  if (action === 'upload') return decideUpload(input, agreements, deny);
  if (action === 'audit') return decideAudit(input, agreements, deny);

  if (purposeId === undefined) {
    return deny('purpose-required', 'State the purpose of the request in the X-Purpose header.');
  }
  const purposeEntry = agreements.purpose(purposeId);
  // A consent outlives its purpose when a re-signed agreement drops the purpose (an evaluation
  // over, renamed for a follow-up whose consents are taken afresh). It releases nothing while no
  // agreement defines the purpose, but it stays in force: a retention pass holds its person whole
  // for it (retention-people.ts), and were the purpose written back it would release their data
  // again. Its withdrawal is still the recording party's to make (the API asks only for that
  // party): answered `purpose-unknown`, it had been a consent no one could withdraw (found by a
  // review). It is decided under the agreement its person is held in (or, where no current
  // dataset holds them, the one its purpose was), which the API names (`subjectAgreementId`), as
  // any other withdrawal is under its purpose's: the decision, and so the access-log entry, is
  // that agreement's. The purpose is the consent's own, as stored, not the caller's text.
  const agreementId = purposeEntry?.agreementId ?? (withdrawal ? input.subjectAgreementId : undefined);
  const purposeUnknown = (): DenyDecision =>
    // The unknown value is caller-supplied text: it is not echoed into the decision or log.
    ({ ...deny('purpose-unknown', 'No agreement defines the stated purpose.'), purpose: null });
  if (agreementId === undefined) return purposeUnknown();
  const agreement = agreements.agreement(agreementId)?.agreement;
  // An agreement whose file was removed (not re-signed) is decided on here only for the
  // withdrawal of a consent taken under it, which still holds its person from retention: by the
  // roles the party held in it, as the store remembers them (agreements/remembered-agreements.ts).
  // With the file gone the party held none, and every consent it took there could be withdrawn
  // by no one (found by a review). A party a re-signing dropped from the agreement holds no role
  // in it either: for a withdrawal alone, the roles it last held there count, as the store
  // remembers them; it had taken consents no one could withdraw (found by a review).
  const heldRoles =
    agreement === undefined
      ? agreements.rolesOfPartyInFormer(agreementId, caller.partyId)
      : agreements.rolesOfPartyIn(agreementId, caller.partyId);
  const partyRoles =
    heldRoles.size === 0 && withdrawal ? agreements.rolesOfPartyDroppedFrom(agreementId, caller.partyId) : heldRoles;
  const roles = caller.roles.filter((role) => partyRoles.has(role));

  const allow = (
    fields: FieldSets,
    earnedBy: readonly string[],
    datasets: readonly string[],
    subjectConditions: SubjectConditions,
  ): AllowDecision => ({
    allow: true,
    reason: 'granted',
    action,
    partyId: caller.partyId,
    roles: earnedBy,
    agreementId,
    agreementVersion: agreement?.version ?? agreements.formerAgreement(agreementId)?.version ?? null,
    agreementIds: [agreementId],
    purpose: purposeId,
    lawfulBasis: purposeEntry?.purpose.lawfulBasis ?? null,
    subjectKey: input.subject?.subjectKey ?? null,
    subjectConditions,
    datasets,
    fields: fields.all,
    specialCategoryFields: fields.specialCategory,
  });

  // UK GDPR Art. 7(3): "It shall be as easy to withdraw as to give consent." A person asks the
  // party that took their consent to stop, through the officer who took it or the party's DPO,
  // whom they are told to contact; both may withdraw it. Asked only for the party that recorded
  // the consent (the API answers anyone else that it is unknown). Withdrawing never rests on the
  // right to record: once an agreement is re-signed with another consentSource, the recording
  // party's staff no longer have that right, the new source did not record the consent, and it
  // would go on releasing the person's data with no one able to end it; once it drops the
  // purpose there is no consentSource left to go by. The store keeps no roles of a record, so
  // the roles that recorded it cannot be told from the agreement: not once the source is another
  // party, nor while it is the same party, whose source roles may have been re-signed to others
  // since (found by a review: the housing officers who took consents were refused them once a
  // `consent-officer` role took over). Any role the party holds in the agreement may withdraw,
  // its DPO's among them; a role it holds only in another agreement earns nothing (`roles`).
  // Refusing to stop a disclosure is worse than letting one of the recording party's own roles
  // stop one of its consents. Nor does a withdrawal wait for the agreement's effective date: an
  // agreement re-signed with a later date leaves consents recorded under the last one, and
  // stopping a disclosure needs no basis for making one.
  if (action === 'consent-withdraw') {
    if (roles.length === 0) {
      const of = purposeEntry === undefined ? 'a purpose no agreement defines' : `purpose '${purposeId}'`;
      return deny('role-not-permitted', `None of the caller's roles may withdraw a consent for ${of}.`, {
        agreementId,
      });
    }
    return allow({ all: NO_FIELDS, specialCategory: NO_FIELDS }, roles, [], 'not-applicable');
  }
  // An opt-out recorded under an agreement that ended (its file removed) stays in force, keeping
  // its person's records from planning were the agreement written back; its person may still
  // change their mind. Decided as while the file was there, by the recording party's DPO (the API
  // asks only for that party), with the role it held there as the store remembers it, under a
  // purpose that agreement defined (the API names the agreement only then). Refused as a party
  // to nothing, it had been an opt-out no one could withdraw while a consent taken under the same
  // agreement could be (found by a review). The store does not remember whether the opt-out
  // applied to that purpose: it was recorded under one of them, which is what the API checks.
  // Nor does a withdrawal wait for the agreement's effective date, as a consent's does not: a
  // re-signed agreement not yet in force leaves the opt-outs recorded under the version before,
  // and the person's change of mind is theirs to make now. It releases nothing before the date,
  // which still holds back every lookup and export below (found by a review: refused as not in
  // force, the DPO could only ask the person to come back after the date).
  if (action === 'opt-out-withdraw') {
    if (purposeEntry !== undefined && !purposeEntry.purpose.nationalDataOptOutApplies) {
      return deny('purpose-not-permitted', `The national data opt-out does not apply to purpose '${purposeId}'.`, {
        agreementId,
      });
    }
    if (!roles.includes('dpo')) {
      return deny('role-not-permitted', 'Only a DPO of the party that recorded an opt-out withdraws it.', {
        agreementId,
      });
    }
    return allow({ all: NO_FIELDS, specialCategory: NO_FIELDS }, ['dpo'], [], 'not-applicable');
  }
  // Only a withdrawal is decided without a purpose an agreement defines (above).
  if (purposeEntry === undefined) return purposeUnknown();
  const { purpose } = purposeEntry;
  // An opt-out only holds a person's data back, so recording one needs no agreement in force: a
  // person may object at any time, and refused as not in force, one who objected before a
  // re-signed agreement's date could be recorded only once lookups under it had begun (found by
  // a review). The date below still holds back every lookup and export, and every consent, which
  // releases data.
  if (action === 'opt-out-write') {
    if (!purpose.nationalDataOptOutApplies) {
      return deny('purpose-not-permitted', `The national data opt-out does not apply to purpose '${purpose.id}'.`, {
        agreementId,
      });
    }
    // `roles` holds only the roles the caller's party has in this purpose's agreement.
    if (!roles.includes('dpo')) {
      return deny(
        'role-not-permitted',
        `Only a DPO of a party to the agreement records an opt-out for '${purpose.id}'.`,
        {
          agreementId,
        },
      );
    }
    return allow({ all: NO_FIELDS, specialCategory: NO_FIELDS }, ['dpo'], [], 'not-applicable');
  }

  // Before its effective date an agreement is no basis for sharing (found by a review). The date
  // is a UK date, as the councils that signed it mean it: in force from midnight in the UK, which
  // in summer is 23:00 UTC the day before (found by a review: the UTC date kept it out of force
  // for the first hour of its day).
  if (agreement?.effectiveDate && ukDateOf(deps.now()) < agreement.effectiveDate) {
    return deny(
      'purpose-not-permitted',
      `The agreement that defines purpose '${purpose.id}' is not in force until ${agreement.effectiveDate}.`,
      { agreementId },
    );
  }

  if (action === 'consent-write') {
    const source = purpose.consentSource;
    if (!purpose.consentRequired || source === undefined || source.party !== caller.partyId) {
      return deny('purpose-not-permitted', `The caller's party does not record consent for purpose '${purpose.id}'.`, {
        agreementId,
      });
    }
    const earnedBy = roles.filter((role) => source.roles.includes(role));
    if (earnedBy.length === 0) {
      return deny('role-not-permitted', `None of the caller's roles may record consent for purpose '${purpose.id}'.`, {
        agreementId,
      });
    }
    return allow({ all: NO_FIELDS, specialCategory: NO_FIELDS }, earnedBy, [], 'not-applicable');
  }

  if (!DATA_ACTIONS.has(action)) {
    return deny('action-not-permitted', `Action '${action}' is not decided by purpose.`, { agreementId });
  }
  const dataAction = action as DataAction;

  const partyGrants = agreements.grantsFor(purpose.id).filter((grant) => grant.parties.has(caller.partyId));
  if (partyGrants.length === 0) {
    return deny('purpose-not-permitted', `Purpose '${purpose.id}' is not granted to the caller's party.`, {
      agreementId,
    });
  }
  const roleGrants = partyGrants.filter((grant) => roles.some((role) => grant.roles.has(role)));
  if (roleGrants.length === 0) {
    return deny('role-not-permitted', `None of the caller's roles is granted purpose '${purpose.id}'.`, {
      agreementId,
    });
  }
  const actionGrants = roleGrants.filter((grant) => grant.actions.has(dataAction));
  if (actionGrants.length === 0) {
    return deny(
      'action-not-permitted',
      `Action '${action}' is not granted for purpose '${purpose.id}' to the caller's roles.`,
      { agreementId },
    );
  }

  const granted = [...new Set(actionGrants.map((grant) => grant.dataset))];
  const requested = input.datasets.length === 0 ? granted : [...new Set(input.datasets)];
  const unknown = requested.filter((id) => agreements.dataset(id) === undefined);
  if (unknown.length > 0) {
    return deny('dataset-unknown', `${unknown.length} requested dataset id(s) are defined by no agreement.`, {
      agreementId,
    });
  }
  const notGranted = requested.filter((id) => !granted.includes(id));
  if (notGranted.length > 0) {
    return deny(
      'dataset-not-permitted',
      `${notGranted.length} requested dataset id(s) are not granted to the caller for purpose '${purpose.id}'.`,
      {
        agreementId,
        datasets: notGranted,
      },
    );
  }

  const applying = actionGrants.filter((grant) => requested.includes(grant.dataset));
  const fields = fieldSetsOf(
    agreements,
    applying,
    `${purpose.id}\u0000${caller.partyId}\u0000${roles.join(',')}\u0000${dataAction}\u0000${requested.join(',')}`,
  );
  const earnedBy = roles.filter((role) => applying.some((grant) => grant.roles.has(role)));

  const conditions = await subjectConditions(purpose, input.subject, deps);
  if (conditions === 'opted-out') {
    return deny('opted-out', `The subject has opted out of the use of their data for purpose '${purpose.id}'.`, {
      agreementId,
    });
  }
  if (conditions === 'no-consent') {
    return deny(
      'consent-required',
      `Purpose '${purpose.id}' needs the subject's current consent, and none is recorded.`,
      { agreementId },
    );
  }
  return allow(fields, earnedBy, requested, conditions);
}

/**
 * The grants an allow for a data action rests on: those of its purpose that name the party,
 * one of the roles that earned it, its action and one of its datasets.
 */
export function grantsOfDecision(agreements: AgreementSet, decision: AllowDecision): readonly ResolvedGrant[] {
  if (decision.purpose === null || !DATA_ACTIONS.has(decision.action)) return [];
  const action = decision.action as DataAction;
  return agreements
    .grantsFor(decision.purpose)
    .filter(
      (grant) =>
        grant.parties.has(decision.partyId) &&
        grant.actions.has(action) &&
        decision.datasets.includes(grant.dataset) &&
        decision.roles.some((role) => grant.roles.has(role)),
    );
}

/**
 * The decision as it stands for one person when only some of its grants answer about them
 * (`subjects: with-caller-record` where the caller holds no record of the person): the fields
 * and datasets of the grants `kept`, some of {@link grantsOfDecision}. Undefined when none is
 * kept. A caller's roles give the union of their grants, so a grant that keeps a person from one
 * role does not keep them from another role's grant (found by a review).
 */
export function narrowToGrants(
  agreements: AgreementSet,
  decision: AllowDecision,
  kept: readonly ResolvedGrant[],
): AllowDecision | undefined {
  if (kept.length === 0) return undefined;
  const fields = fieldSets(kept, agreements);
  const roles = decision.roles.filter((role) => kept.some((grant) => grant.roles.has(role)));
  const datasets = decision.datasets.filter((id) => fields.all.has(id));
  return { ...decision, roles, datasets, fields: fields.all, specialCategoryFields: fields.specialCategory };
}

/**
 * Field sets are a function of the agreements and of what chose the grants (purpose, party,
 * roles held in the agreement, action, datasets), and every lookup asks for the same few: kept
 * per agreement set rather than rebuilt field by field twice a request. Every part of the key
 * has been checked against the agreements by the time it is used, so the keys are bounded by
 * them; the cap is a second guard.
 */
const fieldSetCache = new WeakMap<AgreementSet, Map<string, FieldSets>>();
const MAX_CACHED_FIELD_SETS = 1000;

function fieldSetsOf(agreements: AgreementSet, grants: readonly ResolvedGrant[], key: string): FieldSets {
  let cache = fieldSetCache.get(agreements);
  if (!cache) {
    cache = new Map();
    fieldSetCache.set(agreements, cache);
  }
  let fields = cache.get(key);
  if (!fields) {
    if (cache.size >= MAX_CACHED_FIELD_SETS) cache.clear();
    fields = fieldSets(grants, agreements);
    cache.set(key, fields);
  }
  return fields;
}

interface FieldSets {
  readonly all: ReadonlyMap<string, ReadonlySet<string>>;
  readonly specialCategory: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * The union of the grants' fields, per dataset. Each field's classification is looked up again
 * here rather than trusted from the grant list, so a matching-only identifier can never reach
 * the field set and a special-category field arrives only through `specialCategoryFields`.
 */
function fieldSets(grants: readonly ResolvedGrant[], agreements: AgreementSet): FieldSets {
  const all = new Map<string, Set<string>>();
  const specialCategory = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, dataset: string, field: string): void => {
    const set = map.get(dataset) ?? new Set<string>();
    set.add(field);
    map.set(dataset, set);
  };
  for (const grant of grants) {
    if (!all.has(grant.dataset)) all.set(grant.dataset, new Set());
    for (const name of grant.fields) {
      if (agreements.field(grant.dataset, name)?.classification === 'display') add(all, grant.dataset, name);
    }
    for (const name of grant.specialCategoryFields) {
      if (agreements.field(grant.dataset, name)?.classification === 'special-category') {
        add(all, grant.dataset, name);
        add(specialCategory, grant.dataset, name);
      }
    }
  }
  return { all, specialCategory };
}

async function subjectConditions(
  purpose: Purpose,
  subject: DecisionInput['subject'],
  deps: DecisionDeps,
): Promise<SubjectConditions | 'opted-out' | 'no-consent'> {
  if (!purpose.nationalDataOptOutApplies && !purpose.consentRequired) return 'not-applicable';
  if (subject === null) return 'pending';
  const at = deps.now();
  if (purpose.nationalDataOptOutApplies && (await deps.consents.isOptedOut(subject.subjectKey, at))) return 'opted-out';
  if (purpose.consentRequired && !(await deps.consents.currentConsent(subject.subjectKey, purpose.id, at)))
    return 'no-consent';
  return 'checked';
}

type Deny = (
  reason: DenyReason,
  detail: string,
  extra?: Partial<Pick<DenyDecision, 'agreementId' | 'datasets'>>,
) => DenyDecision;

/** A party may upload a dataset it is a source of; no purpose or role is involved. */
function decideUpload(input: DecisionInput, agreements: AgreementSet, deny: Deny): Decision {
  const requested = [...new Set(input.datasets)];
  if (requested.length === 0) {
    return deny('dataset-not-permitted', 'An upload names the dataset it supplies.');
  }
  const unknown = requested.filter((id) => agreements.dataset(id) === undefined);
  if (unknown.length > 0) {
    return deny('dataset-unknown', `${unknown.length} requested dataset id(s) are defined by no agreement.`);
  }
  const notSource = requested.filter((id) => !agreements.isSource(input.caller.partyId, id));
  if (notSource.length > 0) {
    return deny(
      'dataset-not-permitted',
      `The caller's party is not a source of ${notSource.length} of the requested dataset id(s).`,
      { datasets: notSource },
    );
  }
  const agreementIds = [...new Set(requested.map((id) => agreements.dataset(id)?.agreementId ?? ''))];
  const agreementId = agreementIds.length === 1 ? (agreementIds[0] ?? null) : null;
  return {
    allow: true,
    reason: 'granted',
    action: 'upload',
    partyId: input.caller.partyId,
    roles: [],
    agreementId,
    agreementVersion: agreementId === null ? null : (agreements.agreement(agreementId)?.agreement.version ?? null),
    agreementIds,
    purpose: null,
    lawfulBasis: null,
    subjectKey: null,
    subjectConditions: 'not-applicable',
    datasets: requested,
    fields: NO_FIELDS,
    specialCategoryFields: NO_FIELDS,
  };
}

/**
 * The agreements whose access log a caller of this party with these roles may read (their
 * `audit` block names one of the roles the party holds there), with the roles that earned each:
 * those it signs, and those that ended with their files removed, as the store remembers them.
 * The decision's, and the DPO views' for the caller's own `audit` entries, whose logged roles are
 * the ones decided on (audit/dpo-views.ts).
 */
export function auditedAgreementsOf(
  agreements: AgreementSet,
  partyId: string,
  roles: readonly string[],
): { agreementId: string; earnedBy: string[] }[] {
  const audited: { agreementId: string; earnedBy: string[] }[] = [];
  const auditing = (
    agreementId: string,
    audit: { roles: readonly string[]; parties?: readonly string[] | undefined } | null | undefined,
    held: ReadonlySet<string>,
  ) => {
    if (audit == null || (audit.parties !== undefined && !audit.parties.includes(partyId))) return;
    const matching = roles.filter((role) => held.has(role) && audit.roles.includes(role));
    if (matching.length > 0) audited.push({ agreementId, earnedBy: matching });
  };
  for (const agreement of agreements.agreementsOfParty(partyId)) {
    auditing(agreement.id, agreement.audit, agreements.rolesOfPartyIn(agreement.id, partyId));
  }
  // An ended agreement's accesses stay answerable to the people they were about (UK GDPR Art.
  // 15), by those who audited it: with its file removed they were no DPO's (found by a review).
  for (const agreement of agreements.formerAgreementsOfParty(partyId)) {
    auditing(agreement.id, agreement.audit, agreements.rolesOfPartyInFormer(agreement.id, partyId));
  }
  return audited;
}

/** The access log of an agreement is open to the roles its `audit` block names, within its parties. */
function decideAudit(input: DecisionInput, agreements: AgreementSet, deny: Deny): Decision {
  const { partyId, roles } = input.caller;
  const audited = auditedAgreementsOf(agreements, partyId, roles);
  const earnedBy = new Set(audited.flatMap((a) => a.earnedBy));
  const agreementIds = audited.map((a) => a.agreementId);
  if (agreementIds.length === 0) {
    return deny('role-not-permitted', "None of the caller's roles may read the access log of any agreement.");
  }
  return {
    allow: true,
    reason: 'granted',
    action: 'audit',
    partyId,
    roles: [...earnedBy],
    agreementId: agreementIds.length === 1 ? (agreementIds[0] ?? null) : null,
    agreementVersion: null,
    agreementIds,
    purpose: null,
    lawfulBasis: null,
    subjectKey: input.subject?.subjectKey ?? null,
    subjectConditions: 'not-applicable',
    datasets: [],
    fields: NO_FIELDS,
    specialCategoryFields: NO_FIELDS,
  };
}
