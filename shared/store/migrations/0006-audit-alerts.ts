import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * What the watch rules raise and what a DPO makes of it. An alert's id is derived from its rule,
 * client and window (shared/audit/alerts.ts), so the primary key alone keeps a firing from being
 * recorded twice, however many evaluators run. A breach record is opened from at most one alert
 * and carries the ICO deadline fixed when it was opened.
 *
 * The index on `access_log.time` serves the rules, which count entries by time window across
 * all clients; an extra index on an append-only ledger table is allowed on both engines.
 */
export function auditAlerts(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_alert')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('rule', d.text(40), (c) => c.notNull())
        .addColumn('client_id', d.text(200), (c) => c.notNull())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        /** For the special-category rule, which watches a role; null for the others. */
        .addColumn('role', d.text(100))
        .addColumn('window_start', d.timestamp(), (c) => c.notNull())
        .addColumn('window_end', d.timestamp(), (c) => c.notNull())
        .addColumn('count', d.bigInteger(), (c) => c.notNull())
        /** Average entries an hour over the baseline period; null for rules without one. */
        .addColumn('baseline', 'double precision')
        .addColumn('raised_at', d.timestamp(), (c) => c.notNull())
        .addColumn('status', d.text(20), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_alert_raised').on('audit_alert').columns(['raised_at']).execute();

      await db.schema
        .createTable('breach_record')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('alert_id', d.text(64), (c) => c.notNull().references('audit_alert.id'))
        .addColumn('opened_at', d.timestamp(), (c) => c.notNull())
        .addColumn('opened_by', d.text(200), (c) => c.notNull())
        .addColumn('ico_deadline', d.timestamp(), (c) => c.notNull())
        .addColumn('status', d.text(20), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('breach_record_alert').unique().on('breach_record').columns(['alert_id']).execute();

      await db.schema.createIndex('access_log_time').on('access_log').columns(['time']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('access_log_time').on('access_log').execute();
      await db.schema.dropTable('breach_record').execute();
      await db.schema.dropTable('audit_alert').execute();
    },
  };
}
