import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The planning export's releases in the store, for Power BI to read as SQL (the design's "and SQL
 * views") beside the curated container's files: `curated_release` (one a target and day, with
 * the SHA-256 of the CSV it matches) and `curated_count` (its lines, exactly as published:
 * noised, rounded and suppressed by shared/curated/indicator-counts.ts — nothing here is a true
 * count).
 *
 * Power BI reads the view `curated_indicator_counts` and nothing else. On SQL Server the view
 * shows a database user only the releases of the parties `curated_reader` maps that user to
 * (`user_name()`), so one view serves every recipient party and a reader granted SELECT on it
 * alone sees no table behind it (ownership chaining); an operator adds the user, the grant and
 * the mapping (infra/README.md). SQLite has no database users: there the view shows every release.
 */
export function curatedReleases(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('curated_release')
        .addColumn('id', d.text(36), (c) => c.primaryKey())
        .addColumn('agreement_id', d.text(100), (c) => c.notNull())
        .addColumn('agreement_version', d.text(40))
        .addColumn('purpose_id', d.text(100), (c) => c.notNull())
        .addColumn('dataset_id', d.text(100), (c) => c.notNull())
        /** The recipient party. */
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addColumn('generated_at', d.timestamp(), (c) => c.notNull())
        .addColumn('lines', 'integer', (c) => c.notNull())
        /** SHA-256 (hex) of the release's indicator-counts.csv in the curated container. */
        .addColumn('counts_sha256', d.text(64), (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('curated_release_target')
        .on('curated_release')
        .columns(['party_id', 'purpose_id', 'dataset_id', 'generated_at'])
        .execute();

      await db.schema
        .createTable('curated_count')
        .addColumn('release_id', d.text(36), (c) => c.notNull().references('curated_release.id'))
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('measure', d.text(200), (c) => c.notNull())
        .addColumn('category', d.text(400), (c) => c.notNull())
        /** Null when suppressed. */
        .addColumn('people', 'integer')
        .addColumn('suppressed', d.text(1), (c) => c.notNull())
        .addColumn('special_category', d.text(1), (c) => c.notNull())
        .addPrimaryKeyConstraint('curated_count_pk', ['release_id', 'line'])
        .execute();

      await db.schema
        .createTable('curated_reader')
        /** A database user's name as `user_name()` gives it (on Azure SQL, the Entra principal's). */
        .addColumn('principal_name', d.text(128), (c) => c.notNull())
        .addColumn('party_id', d.text(100), (c) => c.notNull())
        .addPrimaryKeyConstraint('curated_reader_pk', ['principal_name', 'party_id'])
        .execute();

      const readerFilter =
        d.engine === 'mssql'
          ? 'where exists (select 1 from curated_reader x where x.party_id = r.party_id and x.principal_name = user_name())'
          : '';
      await sql
        .raw(
          `create view curated_indicator_counts as
           select r.party_id, r.purpose_id, r.dataset_id, r.agreement_id, r.agreement_version, r.generated_at,
             case when r.generated_at = (
               select max(l.generated_at) from curated_release l
               where l.party_id = r.party_id and l.purpose_id = r.purpose_id and l.dataset_id = r.dataset_id
             ) then 'Y' else 'N' end as latest,
             c.line, c.measure, c.category, c.people, c.suppressed, c.special_category
           from curated_release r join curated_count c on c.release_id = r.id
           ${readerFilter}`,
        )
        .execute(db);
    },
    async down(db: Kysely<unknown>) {
      await sql.raw('drop view curated_indicator_counts').execute(db);
      await db.schema.dropTable('curated_reader').execute();
      await db.schema.dropTable('curated_count').execute();
      await db.schema.dropTable('curated_release').execute();
    },
  };
}
