import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Store } from '../store/database.js';

/**
 * Where a person id is held: a dataset and the agreement it belongs to. People are formed within
 * one agreement's datasets (linkage/link-people.ts), and a dataset id names its agreement, so any
 * record the id holds says which — or, where no record holds it any more (an opted-out person
 * every party's snapshot has dropped, or retention deleted), the dataset its kept keys came from
 * (imports/opt-out-kept-keys.ts). A dataset a re-signing dropped still names the agreement that
 * last defined it (audit/remembered-agreements.ts): its records stay in the store, and so do the
 * consents and opt-outs of their people, which that agreement, not the X-Purpose a caller sends,
 * decides the withdrawal of (found by a review: an opt-out of the ISA's was withdrawn, and filed,
 * under another agreement's purpose once the ISA's dataset was renamed). Undefined when nothing
 * says: a person without an opt-out removed by retention, one whose dataset an operator purged,
 * or an id merged away.
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
  const agreementId =
    kept === undefined
      ? undefined
      : (agreements.dataset(kept.dataset_id)?.agreementId ?? agreements.formerAgreementOfDataset(kept.dataset_id));
  return kept === undefined || agreementId === undefined ? undefined : { datasetId: kept.dataset_id, agreementId };
}
