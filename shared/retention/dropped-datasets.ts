/**
 * The records of a dataset a re-signed agreement dropped. The agreement no longer provides for
 * sharing them, yet nothing reached them: no lookup shows them (grants are per dataset), no
 * retention rule applies (rules are per dataset, enforce-retention.ts), and nothing deleted them,
 * so they stayed on the joint system for good (found by a DPO's review: storage limitation, UK
 * GDPR Art. 5(1)(e), and the agreements' termination clauses, which have shared data returned
 * or destroyed). The store remembers which agreement each dataset was (audit/remembered-agreements.ts),
 * so it can tell such a dataset from one it never held.
 *
 * They are not deleted at start-up: deletion cannot be undone, and an agreement file edited by
 * mistake, or deployed ahead of the others, must not destroy a council's data. Every start-up
 * names each such dataset still holding records in one warning (`agreements.dataset-dropped`:
 * the dataset, its former agreement and a count), so that an operator sees it every start.
 */
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Logger } from '../logging.js';
import type { Store } from '../store/database.js';

export interface DroppedDatasetHeld {
  readonly datasetId: string;
  readonly formerAgreementId: string;
  readonly records: number;
}

/** Each dataset the agreements dropped that still holds records, with how many. */
export async function droppedDatasetsHeld(store: Store, agreements: AgreementSet): Promise<DroppedDatasetHeld[]> {
  const held: DroppedDatasetHeld[] = [];
  for (const { datasetId, formerAgreementId } of agreements.droppedDatasets()) {
    const records = await recordsOf(store, datasetId);
    if (records > 0) held.push({ datasetId, formerAgreementId, records });
  }
  return held;
}

/** At start-up: one warning a dropped dataset still holding records, every start till it is purged. */
export async function warnOfDroppedDatasetsHeld(deps: {
  readonly store: Store;
  readonly agreements: AgreementSet;
  readonly logger: Logger;
}): Promise<void> {
  for (const { datasetId, formerAgreementId, records } of await droppedDatasetsHeld(deps.store, deps.agreements)) {
    deps.logger.warn('agreements.dataset-dropped', {
      datasetId,
      formerAgreementId,
      records,
    });
  }
}

async function recordsOf(store: Store, datasetId: string): Promise<number> {
  const row = await store.db
    .selectFrom('source_record')
    .select((eb) => eb.fn.countAll<number>().as('records'))
    .where('dataset_id', '=', datasetId)
    .executeTakeFirst();
  return Number(row?.records ?? 0);
}
