import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `source_record.carried_person_id`: the person id a record's predecessor in the party's
 * previous snapshot of the dataset held, given at load (shared/imports/snapshot-writer.ts) when
 * that predecessor is found unambiguously (and written to `person_id` too, so lookups find the
 * record before the pass). While set, the record counts as not yet linked, so the pass still
 * sees the source as changed; the pass keeps the carried id where the links agree and clears
 * it (shared/linkage/), so a person known to one source only keeps their id — and with it their
 * consents and opt-outs — across that source's snapshots. Nullable, no index: read only by the
 * pass, the pending-links timer and the next load of the same party's dataset.
 */
export function carriedPersonId(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('source_record').addColumn('carried_person_id', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('source_record').dropColumn('carried_person_id').execute();
    },
  };
}
