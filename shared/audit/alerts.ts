/**
 * Alert records: what a watch rule found, kept for the DPO. An alert's id is a hash of its rule,
 * client, role and window, so raising the same finding again — on the next timer run, or from a
 * second instance at the same moment — meets the primary key and records nothing new.
 *
 * Nothing new but the size of it: a window that goes on filling after its first firing (the rest
 * of the hour, the rest of the night, a no-match run that keeps going) is found again by every
 * run that still sees it, and its alert is brought up to the count found and, for a run, the
 * run's last entry. The DPO judges an incident by the alert, and an alert left at what the first
 * run saw showed one lookup for a night of forty (found by a defect hunt).
 */
import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Store } from '../store/database.js';
import type { AuditAlertTable } from '../store/schema.js';
import type { Finding } from './watch-rules.js';

export type AlertStatus = AuditAlertTable['status'];

export interface Alert {
  id: string;
  rule: string;
  clientId: string;
  partyId: string;
  role: string | null;
  windowStart: string;
  windowEnd: string;
  count: number;
  baseline: number | null;
  raisedAt: string;
  status: AlertStatus;
}

export function alertIdFor(finding: Pick<Finding, 'rule' | 'clientId' | 'role' | 'windowKey'>): string {
  return createHash('sha256')
    .update([finding.rule, finding.clientId, finding.role ?? '', finding.windowKey].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Records the finding as an open alert, or returns undefined when this firing is already on record
 * — after bringing that record up to the finding's count, where the window has grown since.
 */
export async function raiseAlert(store: Store, finding: Finding, raisedAt: Date): Promise<Alert | undefined> {
  const id = alertIdFor(finding);
  const existing = await store.db.selectFrom('audit_alert').select('id').where('id', '=', id).executeTakeFirst();
  if (existing) {
    await growAlert(store, id, finding);
    return undefined;
  }
  const row: Selectable<AuditAlertTable> = {
    id,
    rule: finding.rule,
    client_id: finding.clientId,
    party_id: finding.partyId,
    role: finding.role,
    window_start: finding.windowStart,
    window_end: finding.windowEnd,
    count: finding.count,
    baseline: finding.baseline === null ? null : Math.round(finding.baseline * 1000) / 1000,
    raised_at: raisedAt.toISOString(),
    status: 'open',
  };
  try {
    await store.db.insertInto('audit_alert').values(row).execute();
  } catch (err) {
    // Another evaluator recorded it between our read and our write.
    if (isUniqueViolation(err)) {
      await growAlert(store, id, finding);
      return undefined;
    }
    throw err;
  }
  return alertFromRow(row);
}

/**
 * A window only fills, so a larger count is the later reading; a smaller one is an evaluator
 * that read the log earlier, or a run the bounded scan reported short, and changes nothing.
 */
async function growAlert(store: Store, id: string, finding: Finding): Promise<void> {
  await store.db
    .updateTable('audit_alert')
    .set({ count: finding.count, window_end: finding.windowEnd })
    .where('id', '=', id)
    .where('count', '<', finding.count)
    .execute();
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

/**
 * Newest first; only alerts about clients of the given parties; from after `after` (the lists are
 * paged by the last alert shown: a list cut at its limit with no way on had hidden every older
 * alert, however long it stayed open — found by a defect hunt).
 */
export async function listAlerts(
  store: Store,
  options: { parties: readonly string[]; status?: AlertStatus; limit: number; after?: ListPosition },
): Promise<Alert[]> {
  if (options.parties.length === 0) return [];
  let query = store.db.selectFrom('audit_alert').selectAll().where('party_id', 'in', options.parties);
  if (options.status) query = query.where('status', '=', options.status);
  const { after } = options;
  if (after)
    query = query.where((eb) =>
      eb.or([eb('raised_at', '<', after.at), eb.and([eb('raised_at', '=', after.at), eb('id', '>', after.id)])]),
    );
  const rows = await store.dialect.firstRows(query.orderBy('raised_at', 'desc').orderBy('id'), options.limit).execute();
  return rows.map(alertFromRow);
}

/** The place in the list of an alert about a client of the given parties; undefined for any other id. */
export async function alertPosition(
  store: Store,
  parties: readonly string[],
  id: string,
): Promise<ListPosition | undefined> {
  if (parties.length === 0) return undefined;
  const row = await store.db
    .selectFrom('audit_alert')
    .select(['raised_at', 'id'])
    .where('id', '=', id)
    .where('party_id', 'in', parties)
    .executeTakeFirst();
  return row && { at: row.raised_at, id: row.id };
}

export function alertFromRow(row: Selectable<AuditAlertTable>): Alert {
  return {
    id: row.id,
    rule: row.rule,
    clientId: row.client_id,
    partyId: row.party_id,
    role: row.role,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    count: Number(row.count),
    baseline: row.baseline === null ? null : Number(row.baseline),
    raisedAt: row.raised_at,
    status: row.status,
  };
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  const number = (err as { number?: unknown }).number;
  return (
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || number === 2627 || number === 2601
  );
}
