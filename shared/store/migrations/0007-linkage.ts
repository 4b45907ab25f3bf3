import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * What record linkage keeps (shared/linkage/).
 *
 * `record_link`: one row per pair of records the rules or the probabilistic tier put together,
 * with the agreement's tier, the rule or the score, and the link runs that first and last made
 * it. `source_a`/`source_b` name the two sources (`party/dataset`) so that re-linking one pair
 * of sources replaces exactly that pair's links. Status: `auto` (tiers the agreement confirms
 * automatically), `candidate` (waiting for an officer), `confirmed`, `rejected`.
 *
 * `link_decision`: officers' decisions (a candidate's `pair_key` names its decision), keyed by a keyed hash of the two records' matching
 * values rather than by record ids, which change with every snapshot: a rejected pair is not
 * proposed again when the same records arrive in next month's extracts, and a confirmed pair
 * stays confirmed.
 *
 * `link_run`: each linking pass, with counts only.
 */
export function linkage(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('record_link')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('agreement_id', d.text(100), (c) => c.notNull())
        .addColumn('source_a', d.text(201), (c) => c.notNull())
        .addColumn('source_b', d.text(201), (c) => c.notNull())
        .addColumn('record_a', d.text(64), (c) => c.notNull())
        .addColumn('record_b', d.text(64), (c) => c.notNull())
        .addColumn('tier', d.bigInteger(), (c) => c.notNull())
        .addColumn('rule', d.text(100), (c) => c.notNull())
        /** Tier 5: the posterior match probability; null for rule links. */
        .addColumn('score', 'double precision')
        .addColumn('status', d.text(20), (c) => c.notNull())
        .addColumn('pair_key', d.text(64))
        .addColumn('first_run_id', d.text(64), (c) => c.notNull())
        .addColumn('last_run_id', d.text(64), (c) => c.notNull())
        .addColumn('created_at', d.timestamp(), (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('record_link_sources')
        .on('record_link')
        .columns(['agreement_id', 'source_a', 'source_b'])
        .execute();
      await db.schema.createIndex('record_link_status').on('record_link').columns(['status', 'agreement_id']).execute();

      await db.schema
        .createTable('link_decision')
        .addColumn('pair_key', d.text(64), (c) => c.primaryKey())
        .addColumn('decision', d.text(20), (c) => c.notNull())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addColumn('client_id', d.text(200), (c) => c.notNull())
        .addColumn('request_id', d.text(100), (c) => c.notNull())
        .addColumn('score', 'double precision')
        .addColumn('decided_at', d.timestamp(), (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('link_run')
        .addColumn('id', d.text(64), (c) => c.primaryKey())
        .addColumn('agreement_id', d.text(100), (c) => c.notNull())
        .addColumn('kind', d.text(20), (c) => c.notNull())
        .addColumn('started_at', d.timestamp(), (c) => c.notNull())
        .addColumn('finished_at', d.timestamp())
        /** JSON object of counts. */
        .addColumn('summary', d.text())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('link_run').execute();
      await db.schema.dropTable('link_decision').execute();
      await db.schema.dropTable('record_link').execute();
    },
  };
}
