import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `agreement_party.content_hash`: a hash of the agreement as loaded (its parsed content, in a
 * canonical form: agreements/remembered-agreements.ts), beside its `version`. An agreement file's
 * content could change while its version stayed the same, and nothing noticed: the access-log
 * entries under that version no longer said which rules they were decided under, and two hosts on
 * files that differ under one version (a deployment) could not be ordered by it (found by a
 * review). A host that finds the same version remembered with another hash warns at start
 * (`agreements.changed-without-version`), then remembers its own. Null in a row written before
 * this: the next start writes it, warning of nothing. A SHA-256, in hex.
 */
export function agreementContentHash(d: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('agreement_party').addColumn('content_hash', d.text(64)).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('agreement_party').dropColumn('content_hash').execute();
    },
  };
}
