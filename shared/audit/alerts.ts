/**
 * Alert records: what a watch rule found, kept for the DPO. An alert's id is a hash of its rule,
 * client, agreement and window, so raising the same finding again — on the next timer run, or
 * from a second instance at the same moment — meets the primary key and records nothing new. Not
 * of its role: special-category-volume's alert was one a role, two alerts of the same reads for
 * a client holding two roles, and is now one whose `role` lists them (watch-rules.ts); the roles
 * had their place in the hash, left empty so the other rules' ids are as they were.
 *
 * An alert is of one agreement (watch-rules.ts), and is shown only to the DPOs of that agreement
 * (AlertScope). One raised before alerts carried an agreement (migration 0034) is shown by its
 * party, as it was: which agreement's entries it counted was not recorded, and is not guessed.
 *
 * Nothing new but the size of it: a window that goes on filling after its first firing (the rest
 * of the hour, the rest of the night, a no-match run that keeps going) is found again by every
 * run that still sees it, and its alert is brought up to the count found and, for a run, the
 * run's last entry. The DPO judges an incident by the alert, and an alert left at what the first
 * run saw showed one lookup for a night of forty (found by a defect hunt).
 *
 * Until the DPO acts on it: an alert a breach record was opened from is decided at that moment
 * (decisionTime), and what its window holds after it is a new alert, open and listed, keyed by
 * the one decided (watch-rules.ts, continuedAfterDecisions). Grown past it, a run that went on
 * after the breach was opened showed only in the count of an alert no longer open, and no one was
 * told the misuse went on (found by a defect hunt).
 */
import { createHash } from 'node:crypto';
import type { Expression, ExpressionBuilder, Kysely, Selectable, SqlBool } from 'kysely';
import type { Store } from '../store/database.js';
import type { AuditAlertTable, Database } from '../store/schema.js';
import { isUniqueViolation } from '../store/unique-violation.js';
import type { Finding } from './watch-rules.js';
import type { Period } from './working-hours.js';

export type AlertStatus = AuditAlertTable['status'];

export interface Alert {
  id: string;
  rule: string;
  clientId: string;
  partyId: string;
  /** The agreement whose business the counted entries are; null for an alert raised before alerts carried one (migration 0034). */
  agreementId: string | null;
  role: string | null;
  windowStart: string;
  windowEnd: string;
  count: number;
  baseline: number | null;
  raisedAt: string;
  status: AlertStatus;
}

export function alertIdFor(finding: Pick<Finding, 'rule' | 'clientId' | 'agreementId' | 'windowKey'>): string {
  return createHash('sha256')
    .update([finding.rule, finding.clientId, '', finding.windowKey, finding.agreementId].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Records the finding as an open alert, or returns undefined when this firing is already on record
 * — after bringing that record up to the finding's count, where the window has grown since.
 */
export async function raiseAlert(
  store: Store,
  finding: Finding,
  raisedAt: Date,
  /** A transaction of `store` to write in, which the caller commits (see the API's writeAhead). */
  db: Kysely<Database> = store.db,
): Promise<Alert | undefined> {
  const id = alertIdFor(finding);
  const existing = await db.selectFrom('audit_alert').select('id').where('id', '=', id).executeTakeFirst();
  if (existing) {
    await growAlert(db, id, finding);
    return undefined;
  }
  const row: Selectable<AuditAlertTable> = {
    id,
    rule: finding.rule,
    client_id: finding.clientId,
    party_id: finding.partyId,
    agreement_id: finding.agreementId,
    role: finding.role,
    window_start: finding.windowStart,
    window_end: finding.windowEnd,
    count: finding.count,
    baseline: finding.baseline === null ? null : Math.round(finding.baseline * 1000) / 1000,
    raised_at: raisedAt.toISOString(),
    status: 'open',
  };
  try {
    await db.insertInto('audit_alert').values(row).execute();
  } catch (err) {
    // Another evaluator recorded it between our read and our write.
    if (isUniqueViolation(err)) {
      await growAlert(db, id, finding);
      return undefined;
    }
    throw err;
  }
  return alertFromRow(row);
}

/**
 * A window only fills, so a larger count is the later reading (with the roles it was read
 * under); a smaller one is an evaluator that read the log earlier, or a run the bounded scan
 * reported short, and changes nothing.
 */
async function growAlert(db: Kysely<Database>, id: string, finding: Finding): Promise<void> {
  await db
    .updateTable('audit_alert')
    .set({ count: finding.count, window_end: finding.windowEnd, role: finding.role })
    .where('id', '=', id)
    .where('count', '<', finding.count)
    .execute();
}

/**
 * The clients with an alert of a rule whose window ends after `from` (and which carries an
 * agreement, as {@link alertWindows} reads them): a sliding window's rule counts their entries
 * whatever their total in its lookback, so that such a window is found again to grow though it
 * holds fewer entries than the rule's floor (watch-rules.ts, slidingVolume).
 */
export async function alertedClients(store: Store, rule: string, from: Date): Promise<string[]> {
  const rows = await store.db
    .selectFrom('audit_alert')
    .select('client_id')
    .distinct()
    .where('rule', '=', rule)
    .where('window_end', '>', from.toISOString())
    .where('agreement_id', 'is not', null)
    .execute();
  return rows.map((row) => row.client_id);
}

/**
 * The windows of a rule's alerts that end after `from`, of the clients given, keyed by client and
 * agreement (`client\u0000agreement`): a sliding window's rule finds a burst again from a later
 * minute on each run, and places its windows by the alerts already raised (watch-rules.ts). An
 * alert raised before alerts carried an agreement is of none, and places nothing.
 */
export async function alertWindows(
  store: Store,
  rule: string,
  from: Date,
  clientIds: readonly string[],
): Promise<Map<string, Period[]>> {
  const windows = new Map<string, Period[]>();
  if (clientIds.length === 0) return windows;
  const rows = await store.db
    .selectFrom('audit_alert')
    .select(['client_id', 'agreement_id', 'window_start', 'window_end'])
    .where('rule', '=', rule)
    .where('window_end', '>', from.toISOString())
    .where('client_id', 'in', clientIds)
    .where('agreement_id', 'is not', null)
    .execute();
  for (const row of rows) {
    const key = `${row.client_id}\u0000${row.agreement_id}`;
    windows.set(key, [
      ...(windows.get(key) ?? []),
      { start: new Date(row.window_start), end: new Date(row.window_end) },
    ]);
  }
  return windows;
}

/**
 * When the alert was acted on: the opening of its breach record, after which its window's entries
 * are not its own (see above). Undefined for an alert still open.
 */
export async function decisionTime(store: Store, alertId: string): Promise<string | undefined> {
  const row = await store.db
    .selectFrom('breach_record')
    .select('opened_at')
    .where('alert_id', '=', alertId)
    .executeTakeFirst();
  return row?.opened_at;
}

export async function findAlert(store: Store, id: string): Promise<Alert | undefined> {
  const row = await store.db.selectFrom('audit_alert').selectAll().where('id', '=', id).executeTakeFirst();
  return row && alertFromRow(row);
}

/**
 * Where a list of alerts or breach records continues: after the item of the previous page's last
 * id, in the lists' order (newest first, then by id, for the many alerts one run raises at once).
 */
export interface ListPosition {
  readonly at: string;
  readonly id: string;
}

/** Whose alerts a DPO may read: the audited agreements' (dpo-views.ts, AuditScope has both). */
export interface AlertScope {
  readonly agreementIds: readonly string[];
  /** The audited agreements' parties: for an alert with no agreement, raised before they had one. */
  readonly parties: readonly string[];
}

export function alertInScope(scope: AlertScope, alert: Pick<Alert, 'agreementId' | 'partyId'>): boolean {
  return alert.agreementId === null
    ? scope.parties.includes(alert.partyId)
    : scope.agreementIds.includes(alert.agreementId);
}

/** alertInScope as SQL, over `audit_alert` aliased `a`. */
export function alertInScopeWhere<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  scope: AlertScope,
): Expression<SqlBool> {
  const a = eb as unknown as ExpressionBuilder<{ a: AuditAlertTable }, 'a'>;
  return a.or([
    a('a.agreement_id', 'in', scope.agreementIds),
    a.and([a('a.agreement_id', 'is', null), a('a.party_id', 'in', scope.parties)]),
  ]);
}

export const scopeIsEmpty = (scope: AlertScope) => scope.agreementIds.length === 0 || scope.parties.length === 0;

/**
 * Newest first; only alerts of the audited agreements; from after `after` (the lists are
 * paged by the last alert shown: a list cut at its limit with no way on had hidden every older
 * alert, however long it stayed open — found by a defect hunt).
 */
export async function listAlerts(
  store: Store,
  options: { scope: AlertScope; status?: AlertStatus; limit: number; after?: ListPosition },
): Promise<Alert[]> {
  if (scopeIsEmpty(options.scope)) return [];
  let query = store.db
    .selectFrom('audit_alert as a')
    .selectAll()
    .where((eb) => alertInScopeWhere(eb, options.scope));
  if (options.status) query = query.where('status', '=', options.status);
  const { after } = options;
  if (after)
    query = query.where((eb) =>
      eb.or([eb('raised_at', '<', after.at), eb.and([eb('raised_at', '=', after.at), eb('id', '>', after.id)])]),
    );
  const rows = await store.dialect.firstRows(query.orderBy('raised_at', 'desc').orderBy('id'), options.limit).execute();
  return rows.map(alertFromRow);
}

/** The place in the list of an alert in scope; undefined for any other id. */
export async function alertPosition(store: Store, scope: AlertScope, id: string): Promise<ListPosition | undefined> {
  if (scopeIsEmpty(scope)) return undefined;
  const row = await store.db
    .selectFrom('audit_alert as a')
    .select(['raised_at', 'id'])
    .where('id', '=', id)
    .where((eb) => alertInScopeWhere(eb, scope))
    .executeTakeFirst();
  return row && { at: row.raised_at, id: row.id };
}

export function alertFromRow(row: Selectable<AuditAlertTable>): Alert {
  return {
    id: row.id,
    rule: row.rule,
    clientId: row.client_id,
    partyId: row.party_id,
    agreementId: row.agreement_id,
    role: row.role,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    count: Number(row.count),
    baseline: row.baseline === null ? null : Number(row.baseline),
    raisedAt: row.raised_at,
    status: row.status,
  };
}
