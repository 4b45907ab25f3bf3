/**
 * The store's memory of which agreement each purpose belonged to, for filing access-log entries
 * under a purpose a re-signed agreement dropped (entry-agreements.ts). The agreement files say
 * only what is signed now; an entry that names no dataset is filed by its purpose's agreement, and
 * once the purpose was gone its entries — consents recorded, each naming a person — were read as
 * every agreement's the party signed, shown to the DPO of an unrelated one (found by a review).
 *
 * At start-up, after migrations, the host writes each purpose it loaded with its agreement
 * (`purpose_agreement`, migration 0038), and reads back those the files no longer define into the
 * AgreementSet it serves with (`withFormerPurposes`): the question is asked for every entry a DPO
 * view or watch rule reads, and stays a lookup in memory. A row is written only where the purpose
 * is new or has moved, so `recorded_at` is when it was first loaded as that agreement's, and a
 * start-up on unchanged files writes nothing. One row a purpose, its latest agreement: a purpose
 * that moved is filed by where it is now, past entries too (as the files alone did). A purpose
 * dropped before a host with migration 0038 first started is not known: its entries are read as
 * they were, as the party's own conduct. Ids and a time only.
 */
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Store } from '../store/database.js';
import { isUniqueViolation } from './alerts.js';

/**
 * Records the loaded purposes' agreements, and answers, for each purpose the agreements no longer
 * define, the agreement that last did.
 */
export async function rememberPurposeAgreements(
  store: Store,
  agreements: AgreementSet,
  now: Date = new Date(),
): Promise<ReadonlyMap<string, string>> {
  const remembered = new Map(
    (await store.db.selectFrom('purpose_agreement').select(['purpose_id', 'agreement_id']).execute()).map((row) => [
      row.purpose_id,
      row.agreement_id,
    ]),
  );
  const recordedAt = now.toISOString();
  for (const { agreement } of agreements.all()) {
    for (const { id: purposeId } of agreement.purposes) {
      const was = remembered.get(purposeId);
      if (was === agreement.id) continue;
      if (was === undefined) {
        try {
          await store.db
            .insertInto('purpose_agreement')
            .values({ purpose_id: purposeId, agreement_id: agreement.id, recorded_at: recordedAt })
            .execute();
          continue;
        } catch (err) {
          // Another host starting on the same store wrote it first. On the same files it wrote
          // this row; on others (a deployment under way) the last host to start sets it, as for a
          // moved purpose.
          if (!isUniqueViolation(err)) throw err;
        }
      }
      await store.db
        .updateTable('purpose_agreement')
        .set({ agreement_id: agreement.id, recorded_at: recordedAt })
        .where('purpose_id', '=', purposeId)
        .where('agreement_id', '<>', agreement.id)
        .execute();
    }
  }
  const former = new Map<string, string>();
  for (const [purposeId, agreementId] of remembered) {
    if (agreements.purpose(purposeId) === undefined) former.set(purposeId, agreementId);
  }
  return former;
}
