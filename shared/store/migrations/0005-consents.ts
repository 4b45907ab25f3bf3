import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Consents and national data opt-outs as an event history: recording and withdrawing both
 * append a row, so who recorded what, when and on which evidence is never overwritten.
 */
export function consents(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('consent_event')
        .addColumn('event_id', d.text(64), (c) => c.primaryKey())
        .addColumn('consent_id', d.text(64), (c) => c.notNull())
        .addColumn('subject_key', d.text(64), (c) => c.notNull())
        /** `consent` (for one purpose) or `opt-out` (national data opt-out, all purposes it applies to). */
        .addColumn('kind', d.text(16), (c) => c.notNull())
        .addColumn('purpose_id', d.text(100))
        .addColumn('action', d.text(16), (c) => c.notNull())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addColumn('client_id', d.text(200), (c) => c.notNull())
        .addColumn('evidence_ref', d.text(200))
        .addColumn('at', d.timestamp(), (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('consent_event_subject')
        .on('consent_event')
        .columns(['subject_key', 'kind'])
        .execute();
      await db.schema.createIndex('consent_event_consent').on('consent_event').columns(['consent_id']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('consent_event').execute();
    },
  };
}
