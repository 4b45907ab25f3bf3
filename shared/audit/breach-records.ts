/**
 * Breach records opened from alerts. UK GDPR Art. 33: a personal data breach is reported to the
 * ICO within 72 hours of the controller becoming aware of it. The record is opened when the DPO
 * concludes an alert is a breach — that is the moment of awareness — so the deadline is fixed
 * then, and every view shows how many hours are left.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Store } from '../store/database.js';
import type { BreachRecordTable, Database } from '../store/schema.js';
import { isUniqueViolation, type ListPosition } from './alerts.js';

export const ICO_NOTIFICATION_HOURS = 72;
const HOUR_MS = 3_600_000;

export interface BreachRecord {
  id: string;
  alertId: string;
  openedAt: string;
  openedBy: string;
  icoDeadline: string;
  status: BreachRecordTable['status'];
  /** Hours until the ICO deadline as of the view, one decimal; negative once it has passed. */
  hoursRemaining: number;
  overdue: boolean;
}

export function icoDeadline(awareAt: Date): Date {
  return new Date(awareAt.getTime() + ICO_NOTIFICATION_HOURS * HOUR_MS);
}

export function hoursRemaining(deadline: Date, now: Date): number {
  // Floor to a tenth so "72.0" is never shown once any time has passed.
  return Math.floor(((deadline.getTime() - now.getTime()) / HOUR_MS) * 10) / 10;
}

/**
 * Opens the breach record for an alert, or returns the one already open for it (`created:
 * false`): an alert is one incident, so a second DPO pressing the button must not restart the
 * clock. Undefined when there is no such alert.
 */
export async function openBreach(
  store: Store,
  alertId: string,
  openedBy: string,
  at: Date,
  /** A transaction of `store` to write in, which the caller commits (see the API's writeAhead). */
  db?: Kysely<Database>,
): Promise<{ breach: BreachRecord; created: boolean } | undefined> {
  const existing = await breachForAlert(store, alertId, at, db);
  if (existing) return { breach: existing, created: false };
  const row: Selectable<BreachRecordTable> = {
    id: randomUUID(),
    alert_id: alertId,
    opened_at: at.toISOString(),
    opened_by: openedBy,
    ico_deadline: icoDeadline(at).toISOString(),
    status: 'open',
  };
  try {
    const write = async (trx: Kysely<Database>) => {
      const alert = await trx.selectFrom('audit_alert').select('id').where('id', '=', alertId).executeTakeFirst();
      if (!alert) return false;
      await trx.insertInto('breach_record').values(row).execute();
      await trx.updateTable('audit_alert').set({ status: 'breach-opened' }).where('id', '=', alertId).execute();
      return true;
    };
    const opened = db?.isTransaction ? await write(db) : await store.db.transaction().execute(write);
    if (!opened) return undefined;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const raced = await breachForAlert(store, alertId, at, db);
    if (raced) return { breach: raced, created: false };
    throw err;
  }
  return { breach: breachFromRow(row, at), created: true };
}

export async function breachForAlert(
  store: Store,
  alertId: string,
  now: Date,
  db: Kysely<Database> = store.db,
): Promise<BreachRecord | undefined> {
  const row = await db.selectFrom('breach_record').selectAll().where('alert_id', '=', alertId).executeTakeFirst();
  return row && breachFromRow(row, now);
}

/** Newest first; only breaches from alerts about clients of the given parties; from after `after`, as alerts page. */
export async function listBreaches(
  store: Store,
  parties: readonly string[],
  now: Date,
  limit: number,
  after?: ListPosition,
): Promise<BreachRecord[]> {
  if (parties.length === 0) return [];
  let query = store.db
    .selectFrom('breach_record as b')
    .innerJoin('audit_alert as a', 'a.id', 'b.alert_id')
    .selectAll('b')
    .where('a.party_id', 'in', parties);
  if (after)
    query = query.where((eb) =>
      eb.or([eb('b.opened_at', '<', after.at), eb.and([eb('b.opened_at', '=', after.at), eb('b.id', '>', after.id)])]),
    );
  const rows = await store.dialect.firstRows(query.orderBy('b.opened_at', 'desc').orderBy('b.id'), limit).execute();
  return rows.map((row) => breachFromRow(row, now));
}

/** The place in the list of a breach record from an alert about a client of the given parties. */
export async function breachPosition(
  store: Store,
  parties: readonly string[],
  id: string,
): Promise<ListPosition | undefined> {
  if (parties.length === 0) return undefined;
  const row = await store.db
    .selectFrom('breach_record as b')
    .innerJoin('audit_alert as a', 'a.id', 'b.alert_id')
    .select(['b.opened_at', 'b.id'])
    .where('b.id', '=', id)
    .where('a.party_id', 'in', parties)
    .executeTakeFirst();
  return row && { at: row.opened_at, id: row.id };
}

function breachFromRow(row: Selectable<BreachRecordTable>, now: Date): BreachRecord {
  const deadline = new Date(row.ico_deadline);
  const remaining = hoursRemaining(deadline, now);
  return {
    id: row.id,
    alertId: row.alert_id,
    openedAt: row.opened_at,
    openedBy: row.opened_by,
    icoDeadline: row.ico_deadline,
    status: row.status,
    hoursRemaining: remaining,
    overdue: deadline.getTime() < now.getTime(),
  };
}
