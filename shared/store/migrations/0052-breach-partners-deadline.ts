import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `breach_record.partners_deadline`: when the partner parties must have been told of the breach,
 * by the agreement its alert is under (the Keyways DSA 7.2: "within 72 hours of becoming aware";
 * agreements/*.yaml `breachNotification`). Fixed when the record is opened, as the ICO's deadline
 * is: a later re-signing, or the agreement's end, does not move a duty the parties had when they
 * became aware. Null under an agreement that asked none when it was opened, and for records
 * opened before this migration: both are read by the agreement as it is loaded now
 * (shared/audit/breach-records.ts), so a Keyways breach opened before still shows its partners'
 * deadline, and is not closed until they are told.
 */
export function breachPartnersDeadline(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('breach_record').addColumn('partners_deadline', d.timestamp()).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('breach_record').dropColumn('partners_deadline').execute();
    },
  };
}
