import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Store } from '../store/database.js';

/**
 * Where a person id is held: a dataset and the agreement it belongs to. People are formed within
 * one agreement's datasets (linkage/link-people.ts), and a dataset id names its agreement, so any
 * record the id holds says which — or, where no record holds it any more (an opted-out person
 * every party's snapshot has dropped, or retention deleted), the dataset its kept keys came from
 * (imports/opt-out-kept-keys.ts). Undefined when neither says: a person without an opt-out removed
 * by retention, or an id merged away.
 */
export async function datasetOfPerson(
  store: Store,
  agreements: AgreementSet,
  personId: string,
): Promise<{ datasetId: string; agreementId: string } | undefined> {
  const held = await store.dialect
    .firstRows(store.db.selectFrom('source_record').select('dataset_id').where('person_id', '=', personId), 1)
    .executeTakeFirst();
  const kept =
    held ??
    (await store.dialect
      .firstRows(store.db.selectFrom('opt_out_kept_record').select('dataset_id').where('person_id', '=', personId), 1)
      .executeTakeFirst());
  const agreementId = kept === undefined ? undefined : agreements.dataset(kept.dataset_id)?.agreementId;
  return kept === undefined || agreementId === undefined ? undefined : { datasetId: kept.dataset_id, agreementId };
}
