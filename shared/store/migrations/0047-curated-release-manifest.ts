import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `curated_release.manifest`: the release's manifest.json as written beside its counts. A run
 * whose process died after rewriting a day's folders but before its own SQL release left no
 * folder holding the release the view still marks latest, and the files were healed to an older
 * release, or emptied (found by a review). The counts files are rebuilt from the stored lines;
 * the manifest says what the view does not hold (the extracts' dates, the records awaiting
 * linkage, the method's settings at the time), so it is kept whole, read by the release's key,
 * never searched. Null in a release stored before this: its files cannot be rebuilt.
 */
export function curatedReleaseManifest(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('curated_release').addColumn('manifest', d.text()).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('curated_release').dropColumn('manifest').execute();
    },
  };
}
