/**
 * Breach records opened from alerts. UK GDPR Art. 33: a personal data breach is reported to the
 * ICO within 72 hours of the controller becoming aware of it. The record is opened when the DPO
 * concludes an alert is a breach — that is the moment of awareness — so the deadline is fixed
 * then, and every view shows how many hours are left.
 *
 * Then the DPO records what was done (recordBreachStep): the ICO notified, the partner parties
 * notified, or the breach judged not reportable — Art. 33(5) asks for every breach to be
 * documented, reported or not — and then closed. The ICO's deadline is settled by its
 * notification or by the judgement that none is due: then it is not overdue and no hours remain,
 * and a notification recorded after the deadline is shown as late. Without these steps every
 * breach read as overdue after 72 hours, however promptly it was reported, and none could be
 * closed (a product gap).
 *
 * The partner parties have a deadline of their own where the agreement the breach's alert is
 * under asks for one (its `breachNotification`; the Keyways DSA 7.2: "inform each Party together
 * with the Information Commissioner's Office of any security breaches ... within 72 hours of
 * becoming aware of such breach"), shown as the ICO's is, and such a breach is not closed until
 * they are told. Before, a Keyways breach could be closed with its partners never told, and
 * nothing showed their deadline passing. Only a judgement that the accesses were authorised — no
 * breach occurred — settles it otherwise: the DSA asks for "any security breaches", not those the
 * ICO must hear of, so a breach judged not reportable for another reason (nothing released, the
 * data unintelligible, no likely risk) is still to be told to the partners. That is the cautious
 * reading of the text; whether it asks less is for the parties' DPOs to agree.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Store } from '../store/database.js';
import type { AuditAlertTable, BreachRecordTable, Database } from '../store/schema.js';
import { isUniqueViolation } from '../store/unique-violation.js';
import { alertInScopeWhere, scopeIsEmpty, type AlertScope, type ListPosition } from './alerts.js';

export const ICO_NOTIFICATION_HOURS = 72;
const HOUR_MS = 3_600_000;

/**
 * Why a breach was judged not reportable to the ICO: a code, never free text, for a record kept
 * for years must hold no personal data. Art. 33(1): a breach "unlikely to result in a risk to
 * the rights and freedoms of natural persons" need not be notified; the others are the usual
 * grounds a watch rule's alert comes to.
 */
export const NOT_REPORTABLE_REASONS = [
  /** On investigation the accesses were authorised: no breach occurred. */
  'accesses-authorised',
  /** Nothing about anyone was released (a run of lookups that found nobody). */
  'no-personal-data-released',
  /** What was released was unintelligible to whoever received it (encrypted, pseudonymised). */
  'data-unintelligible',
  /** A breach, but unlikely to result in a risk to anyone's rights and freedoms. */
  'unlikely-to-result-in-risk',
] as const;
export type NotReportableReason = (typeof NOT_REPORTABLE_REASONS)[number];

/** The one judgement that there was no breach: nothing is then owed to the partner parties. */
const NO_BREACH: NotReportableReason = 'accesses-authorised';

/** What a DPO records on an open breach; the times are when it was done, the others are now. */
export type BreachStep =
  | { step: 'ico-notified'; at: Date }
  | { step: 'partners-notified'; at: Date }
  | { step: 'not-reportable'; reason: NotReportableReason }
  | { step: 'closed' };

/**
 * Why a step was refused: the breach is closed; the step is on record already with another time
 * or reason (the first stands); the ICO already has it (nothing to judge not reportable); the
 * breach is closed before the ICO question was settled (Art. 33(5) wants the decision kept); or
 * it is closed before the partner parties its agreement asks to be told were.
 */
export type BreachStepRefusal =
  'closed' | 'already-recorded' | 'ico-notified' | 'reporting-undecided' | 'partners-not-notified';

export interface BreachRecord {
  id: string;
  alertId: string;
  openedAt: string;
  openedBy: string;
  icoDeadline: string;
  status: BreachRecordTable['status'];
  icoNotifiedAt: string | null;
  partnersNotifiedAt: string | null;
  notReportable: { reason: string; at: string } | null;
  closedAt: string | null;
  /**
   * Hours until the ICO deadline as of the view, one decimal; negative once it has passed. Null
   * once the ICO was notified or the breach judged not reportable: nothing is then due.
   */
  hoursRemaining: number | null;
  /** Past the deadline with the ICO neither notified nor the breach judged not reportable. */
  overdue: boolean;
  /** The ICO was notified after the deadline. */
  notifiedLate: boolean;
  /** When the partner parties must have been told, by the breach's agreement; null where it asks none. */
  partnersDeadline: string | null;
  /**
   * Hours until the partners' deadline as of the view, one decimal; negative once it has passed.
   * Null where there is none, once they were told, or once the accesses were judged authorised
   * (the ICO not notified).
   */
  partnersHoursRemaining: number | null;
  /** Past the partners' deadline with them not told (nor the accesses judged authorised). */
  partnersOverdue: boolean;
  /** The partner parties were told after their deadline. */
  partnersNotifiedLate: boolean;
}

/** What a breach record's view needs of its alert: whose business it is. */
type AlertOfBreach = Pick<Selectable<AuditAlertTable>, 'agreement_id' | 'party_id'>;
type BreachRow = Selectable<BreachRecordTable> & AlertOfBreach;

export function icoDeadline(awareAt: Date): Date {
  return new Date(awareAt.getTime() + ICO_NOTIFICATION_HOURS * HOUR_MS);
}

export function hoursRemaining(deadline: Date, now: Date): number {
  // Floor to a tenth so "72.0" is never shown once any time has passed.
  return Math.floor(((deadline.getTime() - now.getTime()) / HOUR_MS) * 10) / 10;
}

/**
 * The hours the agreement of a breach's alert gives to tell the partner parties; null where it
 * asks none, or is no longer loaded. An alert raised before alerts carried an agreement
 * (migration 0034) is its party's: which agreement's entries it counted was not recorded, so it
 * is held to the shortest any agreement the party signs asks, the cautious reading.
 */
export function partnersNotificationHours(agreements: AgreementSet, alert: AlertOfBreach): number | null {
  const under =
    alert.agreement_id === null
      ? agreements.agreementsOfParty(alert.party_id)
      : [agreements.agreement(alert.agreement_id)?.agreement];
  const hours = under.flatMap((agreement) => agreement?.breachNotification?.partnersWithinHours ?? []);
  return hours.length === 0 ? null : Math.min(...hours);
}

/**
 * The partners' deadline of a breach record: the one fixed at its opening, or where none was
 * (opened before migration 0052, or under terms that asked none), the one the agreement as
 * loaded now asks for, from the same moment of awareness.
 */
function partnersDeadline(agreements: AgreementSet, row: BreachRow): Date | null {
  if (row.partners_deadline !== null) return new Date(row.partners_deadline);
  const hours = partnersNotificationHours(agreements, row);
  return hours === null ? null : new Date(Date.parse(row.opened_at) + hours * HOUR_MS);
}

/**
 * Opens the breach record for an alert, or returns the one already open for it (`created:
 * false`): an alert is one incident, so a second DPO pressing the button must not restart the
 * clock. Undefined when there is no such alert.
 */
export async function openBreach(
  store: Store,
  agreements: AgreementSet,
  alertId: string,
  openedBy: string,
  at: Date,
  /** A transaction of `store` to write in, which the caller commits (see the API's writeAhead). */
  db?: Kysely<Database>,
): Promise<{ breach: BreachRecord; created: boolean } | undefined> {
  const existing = await breachForAlert(store, agreements, alertId, at, db);
  if (existing) return { breach: existing, created: false };
  try {
    const write = async (trx: Kysely<Database>): Promise<BreachRow | undefined> => {
      const alert = await trx
        .selectFrom('audit_alert')
        .select(['agreement_id', 'party_id'])
        .where('id', '=', alertId)
        .executeTakeFirst();
      if (!alert) return undefined;
      const partnersHours = partnersNotificationHours(agreements, alert);
      const row: Selectable<BreachRecordTable> = {
        id: randomUUID(),
        alert_id: alertId,
        opened_at: at.toISOString(),
        opened_by: openedBy,
        ico_deadline: icoDeadline(at).toISOString(),
        partners_deadline:
          partnersHours === null ? null : new Date(at.getTime() + partnersHours * HOUR_MS).toISOString(),
        status: 'open',
        ico_notified_at: null,
        partners_notified_at: null,
        not_reportable_reason: null,
        not_reportable_at: null,
        closed_at: null,
      };
      await trx.insertInto('breach_record').values(row).execute();
      await trx.updateTable('audit_alert').set({ status: 'breach-opened' }).where('id', '=', alertId).execute();
      return { ...row, ...alert };
    };
    const opened = db?.isTransaction ? await write(db) : await store.db.transaction().execute(write);
    return opened && { breach: breachFromRow(agreements, opened, at), created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const raced = await breachForAlert(store, agreements, alertId, at, db);
    if (raced) return { breach: raced, created: false };
    throw err;
  }
}

export async function breachForAlert(
  store: Store,
  agreements: AgreementSet,
  alertId: string,
  now: Date,
  db: Kysely<Database> = store.db,
): Promise<BreachRecord | undefined> {
  const row = await breachRows(db).where('b.alert_id', '=', alertId).executeTakeFirst();
  return row && breachFromRow(agreements, row, now);
}

/** Breach records with what their views need of their alerts. */
function breachRows(db: Kysely<Database>) {
  return db
    .selectFrom('breach_record as b')
    .innerJoin('audit_alert as a', 'a.id', 'b.alert_id')
    .selectAll('b')
    .select(['a.agreement_id', 'a.party_id']);
}

/**
 * Newest first; only breaches from alerts in scope, of one status where one is given (as alerts
 * are listed: a DPO asking for the open breaches was given the closed ones among them too, the
 * filter not known); from after `after`, as alerts page.
 */
export async function listBreaches(
  store: Store,
  agreements: AgreementSet,
  scope: AlertScope,
  now: Date,
  options: { status?: BreachRecord['status']; limit: number; after?: ListPosition },
): Promise<BreachRecord[]> {
  if (scopeIsEmpty(scope)) return [];
  const { status, limit, after } = options;
  let query = breachRows(store.db).where((eb) => alertInScopeWhere(eb, scope));
  if (status) query = query.where('b.status', '=', status);
  if (after)
    query = query.where((eb) =>
      eb.or([eb('b.opened_at', '<', after.at), eb.and([eb('b.opened_at', '=', after.at), eb('b.id', '>', after.id)])]),
    );
  const rows = await store.dialect.firstRows(query.orderBy('b.opened_at', 'desc').orderBy('b.id'), limit).execute();
  return rows.map((row) => breachFromRow(agreements, row, now));
}

/** The place in the list of a breach record from an alert in scope. */
export async function breachPosition(store: Store, scope: AlertScope, id: string): Promise<ListPosition | undefined> {
  if (scopeIsEmpty(scope)) return undefined;
  const row = await store.db
    .selectFrom('breach_record as b')
    .innerJoin('audit_alert as a', 'a.id', 'b.alert_id')
    .select(['b.opened_at', 'b.id'])
    .where('b.id', '=', id)
    .where((eb) => alertInScopeWhere(eb, scope))
    .executeTakeFirst();
  return row && { at: row.opened_at, id: row.id };
}

/** A breach record by id, of an alert in scope; undefined for any other id. */
export async function findBreach(
  store: Store,
  agreements: AgreementSet,
  scope: AlertScope,
  id: string,
  now: Date,
): Promise<BreachRecord | undefined> {
  if (scopeIsEmpty(scope)) return undefined;
  const row = await breachRows(store.db)
    .where('b.id', '=', id)
    .where((eb) => alertInScopeWhere(eb, scope))
    .executeTakeFirst();
  return row && breachFromRow(agreements, row, now);
}

type StepOutcome =
  | { ok: true; breach: BreachRecord; changed: boolean }
  | { ok: false; refusal: BreachStepRefusal; breach: BreachRecord };

/**
 * Records one step on a breach record, in `db` (a transaction the caller commits with its
 * access-log entry, as openBreach). A step already on record with the same time or reason is
 * answered with the record as it is (`changed: false`): a retry after a lost answer must not be
 * refused. Undefined when there is no such breach record.
 *
 * Each write is guarded by the state it was decided on, so two DPOs recording at once (two
 * instances on SQL Server) cannot overwrite one another: the one that finds the row changed
 * reads it again and decides afresh.
 */
export async function recordBreachStep(
  db: Kysely<Database>,
  agreements: AgreementSet,
  breachId: string,
  step: BreachStep,
  now: Date,
): Promise<StepOutcome | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = await breachRows(db).where('b.id', '=', breachId).executeTakeFirst();
    if (!row) return undefined;
    const decided = decideStep(row, partnersDeadline(agreements, row), step, now);
    const breach = () => breachFromRow(agreements, row, now);
    if (decided.kind === 'refused') return { ok: false, refusal: decided.refusal, breach: breach() };
    if (decided.kind === 'unchanged') return { ok: true, breach: breach(), changed: false };
    const { numUpdatedRows } = await db
      .updateTable('breach_record')
      .set(decided.set)
      .where('id', '=', breachId)
      .where('status', '=', row.status)
      .where((eb) =>
        eb.and(
          (['ico_notified_at', 'partners_notified_at', 'not_reportable_reason', 'closed_at'] as const).map((column) =>
            row[column] === null ? eb(column, 'is', null) : eb(column, '=', row[column]),
          ),
        ),
      )
      .executeTakeFirst();
    if (numUpdatedRows > 0n)
      return { ok: true, breach: breachFromRow(agreements, { ...row, ...decided.set }, now), changed: true };
  }
  throw new Error('breach record changed under every attempt to record a step');
}

type Decided =
  | { kind: 'refused'; refusal: BreachStepRefusal }
  | { kind: 'unchanged' }
  | { kind: 'set'; set: Partial<Selectable<BreachRecordTable>> };

function decideStep(row: BreachRow, partners: Date | null, step: BreachStep, now: Date): Decided {
  if (row.closed_at !== null) return step.step === 'closed' ? { kind: 'unchanged' } : refused('closed');
  switch (step.step) {
    // A breach judged not reportable and then reported after all (the facts changed) keeps both:
    // the judgement and its time are part of what Art. 33(5) asks to be documented.
    case 'ico-notified':
      return once(row.ico_notified_at, step.at.toISOString(), {
        ico_notified_at: step.at.toISOString(),
        status: 'notified',
      });
    case 'partners-notified':
      return once(row.partners_notified_at, step.at.toISOString(), { partners_notified_at: step.at.toISOString() });
    case 'not-reportable':
      if (row.ico_notified_at !== null) return refused('ico-notified');
      return once(row.not_reportable_reason, step.reason, {
        not_reportable_reason: step.reason,
        not_reportable_at: now.toISOString(),
      });
    case 'closed':
      if (row.ico_notified_at === null && row.not_reportable_reason === null) return refused('reporting-undecided');
      if (awaitingPartners(row, partners)) return refused('partners-not-notified');
      return { kind: 'set', set: { closed_at: now.toISOString(), status: 'closed' } };
  }
}

/** A step recorded once: the same value again changes nothing, another is refused. */
function once(recorded: string | null, sent: string, set: Partial<Selectable<BreachRecordTable>>): Decided {
  if (recorded === null) return { kind: 'set', set };
  return recorded === sent ? { kind: 'unchanged' } : refused('already-recorded');
}

const refused = (refusal: BreachStepRefusal): Decided => ({ kind: 'refused', refusal });

/**
 * The partner parties are still to be told: their agreement asks it, and no breach was ruled out.
 * A judgement that the accesses were authorised rules one out only until the ICO is notified: a
 * breach the ICO was told of after all (the facts changed; both are kept) was one, and closed on
 * that judgement its partners were never told (found by a defect hunt).
 */
function awaitingPartners(row: BreachRow, deadline: Date | null): deadline is Date {
  const ruledOut = row.not_reportable_reason === NO_BREACH && row.ico_notified_at === null;
  return deadline !== null && row.partners_notified_at === null && !ruledOut;
}

/**
 * How a deadline stands as of `now`: the hours left and whether it has passed while `awaiting`
 * (nothing left once settled), and whether a notification at `notifiedAt` came after it. The
 * ICO's and the partner parties' are read alike.
 */
function deadlineStanding(deadline: Date, awaiting: boolean, notifiedAt: string | null, now: Date) {
  return {
    hoursRemaining: awaiting ? hoursRemaining(deadline, now) : null,
    overdue: awaiting && deadline.getTime() < now.getTime(),
    notifiedLate: notifiedAt !== null && new Date(notifiedAt).getTime() > deadline.getTime(),
  };
}

function breachFromRow(agreements: AgreementSet, row: BreachRow, now: Date): BreachRecord {
  // The deadline is the ICO's: settled by its notification or by a judgement that none is due.
  const awaitingIco = row.ico_notified_at === null && row.not_reportable_reason === null;
  const ico = deadlineStanding(new Date(row.ico_deadline), awaitingIco, row.ico_notified_at, now);
  const partnersBy = partnersDeadline(agreements, row);
  const partners =
    partnersBy === null
      ? { hoursRemaining: null, overdue: false, notifiedLate: false }
      : deadlineStanding(partnersBy, awaitingPartners(row, partnersBy), row.partners_notified_at, now);
  return {
    id: row.id,
    alertId: row.alert_id,
    openedAt: row.opened_at,
    openedBy: row.opened_by,
    icoDeadline: row.ico_deadline,
    status: row.status,
    icoNotifiedAt: row.ico_notified_at,
    partnersNotifiedAt: row.partners_notified_at,
    notReportable:
      row.not_reportable_reason === null
        ? null
        : { reason: row.not_reportable_reason, at: row.not_reportable_at ?? row.opened_at },
    closedAt: row.closed_at,
    ...ico,
    partnersDeadline: partnersBy?.toISOString() ?? null,
    partnersHoursRemaining: partners.hoursRemaining,
    partnersOverdue: partners.overdue,
    partnersNotifiedLate: partners.notifiedLate,
  };
}
