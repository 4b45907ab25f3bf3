import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * What a DPO records on a breach record after opening it (shared/audit/breach-records.ts): when
 * the ICO was notified, when the partner parties were (the Keyways DSA asks for both within the
 * 72 hours), or that the breach was judged not reportable and when, by a reason code from a
 * fixed list (UK GDPR Art. 33(5): every breach is documented, reported or not; no free text, so
 * no personal data), and when it was closed. All null until recorded; records opened before
 * this migration have none, and read as open and undecided, as they were.
 */
const COLUMNS = ['ico_notified_at', 'partners_notified_at', 'not_reportable_at', 'closed_at'] as const;

export function breachSteps(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const column of COLUMNS)
        await db.schema.alterTable('breach_record').addColumn(column, d.timestamp()).execute();
      await db.schema.alterTable('breach_record').addColumn('not_reportable_reason', d.text(40)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('breach_record').dropColumn('not_reportable_reason').execute();
      for (const column of [...COLUMNS].reverse())
        await db.schema.alterTable('breach_record').dropColumn(column).execute();
    },
  };
}
