/**
 * Whose business an access-log entry is: the agreements a DPO of which may read it, and whose
 * watch rules count it. One rule for both — the DPO's views (dpo-views.ts, auditScope.covers) and
 * the watch rules' alerts (watch-rules.ts) — so a DPO is never shown an alert made of entries
 * their views would hide (found by a review: the rules counted a client's lookups across every
 * agreement its party signed, and the DPO of one agreement saw, and could open a breach on, an
 * alert made entirely of the party's lookups under another).
 *
 * An entry that touches datasets is the business of their agreements: for a dataset a re-signed
 * agreement dropped, the agreement that last defined it, as the store remembers it
 * (agreements/remembered-agreements.ts). Its entries — lookups, each with a reference to the person found —
 * were otherwise nobody's, shown to no DPO and counted by no watch rule (found by a review). A
 * dataset that moved is filed by where it is now, as a purpose is. One that names no dataset
 * — a consent recorded, a refusal before matching — goes by its purpose: a purpose names its
 * agreement (purpose ids are unique across agreements), and an entry of a party to that agreement
 * under it is that agreement's alone. A party may sign several agreements, and a DPO of one of
 * them read by the party alone the consents another recorded, with a reference to each person
 * (found by a review: no seeded agreement shared a party). A purpose a re-signed agreement dropped
 * still names the agreement that last defined it, as the store remembers it
 * (agreements/remembered-agreements.ts): its entries were written while it was that agreement's. Read as the
 * party's own conduct, Dudley's consents recorded for an evaluation gave the DPO of another
 * agreement Dudley signed a reference to each person (found by a review). A purpose that moved to
 * another agreement is filed by where it is now, past entries too: the store keeps only its latest
 * agreement. A DPO's own reading of the log, under the `audit` purpose, is the business of the
 * agreements it was allowed under: those whose `audit` block names one of the roles logged with it
 * that the party holds there (the decision's, policy/decide.ts). A party signs agreements where it
 * audits nothing, and their DPOs had read its DPO's subject access requests, with a reference to
 * each person asked about (found by a review). One that names datasets — an inclusion proof that
 * carried an entry on them, and names that entry's person (api/audit-api.ts), or a subject access
 * answer, which names those of the entries it showed and of the records the person is held in,
 * within the DPO's scope (api/dpo-api.ts, audit/dpo-views.ts datasetsShown) — is the business of
 * those of their agreements it was allowed under: the proved entry, the person's records, were
 * theirs alone, and filed under every agreement the DPO audits, the DPOs of the others were given
 * a reference to a person none of their entries or data was about (found by reviews). Were none of
 * them audited any more (a re-signing since), it is the datasets' agreements', as the proved entry
 * is. A subject access answer that names no dataset (the person's records gone or held outside the
 * scope, no opt-out keeping their keys within it, and no entry shown on a dataset) stays the
 * business of every agreement it was allowed under: nothing on record ties the person to one of
 * them rather than another, and the read must stay in some audited agreement's view. Any other
 * entry with no dataset — under `audit` from a caller who audits no agreement (refused), under
 * none, or under a purpose of an agreement the party is not a party to (refused) — is its party's
 * own conduct, and is the business of every agreement the party is a party to.
 *
 * An agreement that ended, its file removed, is still one its parties were parties to, as the
 * store remembers it (agreements/remembered-agreements.ts): its purposes' and datasets' entries are its own,
 * for the DPOs who audited it (policy/decide.ts, auditedAgreementsOf). With no party to it known,
 * its lookups were nobody's and its consents recorded, read as their party's own conduct, were
 * shown with a reference to each person to the DPOs of every other agreement the party signs
 * (found by a review).
 */
import type { AgreementSet } from '../agreements/agreement-set.js';
import { auditedAgreementsOf } from '../policy/decide.js';

/** The purpose a DPO's own calls are logged under (api/dpo-api.ts, api/audit-api.ts). */
export const AUDIT_PURPOSE = 'audit';

/** The columns of an access-log entry that decide whose business it is. */
export interface EntryOwnership {
  party_id: string;
  roles: string;
  purpose: string;
  datasets: string;
}

/** The ids of the agreements whose business the entry is; none for an entry of nobody's (an unknown party's). */
export function agreementsOfEntry(agreements: AgreementSet, entry: EntryOwnership): string[] {
  const touched = stringList(entry.datasets);
  if (touched.length > 0) {
    const owners = [
      ...new Set(touched.map((d) => agreements.filingAgreementOfDataset(d)).filter((id) => id !== undefined)),
    ];
    if (entry.purpose !== AUDIT_PURPOSE) return owners;
    const audited = new Set(
      auditedAgreementsOf(agreements, entry.party_id, stringList(entry.roles)).map((a) => a.agreementId),
    );
    const within = owners.filter((id) => audited.has(id));
    return within.length > 0 ? within : owners;
  }
  if (entry.purpose === AUDIT_PURPOSE) {
    const under = auditedAgreementsOf(agreements, entry.party_id, stringList(entry.roles));
    if (under.length > 0) return under.map(({ agreementId }) => agreementId);
  }
  const signed = [
    ...(agreements.party(entry.party_id)?.agreementIds ?? []),
    ...agreements.formerAgreementsOfParty(entry.party_id).map(({ id }) => id),
  ];
  const agreementId = agreements.filingAgreementOfPurpose(entry.purpose);
  if (agreementId !== undefined && signed.includes(agreementId)) return [agreementId];
  // A party a re-signing dropped still withdraws the consents it recorded under the agreement
  // (policy/decide.ts): those entries, and its earlier ones under the agreement's purposes, are
  // that agreement's. Read as its own conduct, they were no DPO's of it. Not its other entries:
  // it is no party to the agreement now.
  if (agreementId !== undefined && agreements.agreementsDroppedFrom(entry.party_id).includes(agreementId))
    return [agreementId];
  return [...signed];
}

/**
 * A stored JSON list column. A column that does not parse is read empty rather than failing
 * the whole view; `npm run audit -- verify` is what names a tampered entry.
 */
export function stringList(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
