/**
 * The records of a dataset a re-signed agreement dropped. The agreement no longer provides for
 * sharing them, yet nothing reached them: no lookup shows them (grants are per dataset), no
 * retention rule applies (rules are per dataset, enforce-retention.ts), and nothing deleted them,
 * so they stayed on the joint system for good (found by a DPO's review: storage limitation, UK
 * GDPR Art. 5(1)(e), and the agreements' termination clauses, which have shared data returned
 * or destroyed). The store remembers which agreement each dataset was (agreements/remembered-agreements.ts),
 * so it can tell such a dataset from one it never held.
 *
 * They are not deleted at start-up: deletion cannot be undone, and an agreement file edited by
 * mistake, or deployed ahead of the others, must not destroy a council's data. Every start-up
 * names each such dataset still holding records in one warning (`agreements.dataset-dropped`:
 * the dataset, its former agreement and a count), and an operator deletes them with
 * `npm run purge-dataset -- --dataset <id>`, through the retention rule's own deletion
 * (deleteOutOfScope): one `retention-delete` entry a person (reason `dataset-dropped`) before the
 * commit, identifier hashes retired for subject access, the records their people may change left
 * for relinking, all in one transaction.
 *
 * Unlike a retention rule's pass, a purge keeps no opted-out person's matching keys (names, date
 * of birth, postcode, identifier hashes: opt-out-kept-keys.ts). Kept keys only ever reach later
 * records of the dataset they were kept from, and no record of a dataset no agreement defines
 * can arrive: kept, they held those details for as long as the opt-out lasted, for nothing (found
 * by a review: data minimisation, UK GDPR Art. 5(1)(c)). For the same reason it deletes, in the
 * same transaction, the keys earlier loads and retention passes kept for the dataset, of people
 * who left it while it was still defined (found by a later review: they stayed for good, storage
 * limitation); `optedOutKeysDeleted` counts whose. The opt-outs themselves stay in force.
 */
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Logger } from '../logging.js';
import type { Store } from '../store/database.js';
import { deleteOutOfScope, type RetentionDependencies } from './enforce-retention.js';
import { DatasetPurgeRefused, purgeRefusedByTheAgreements } from './purge-refusals.js';
import { RetentionPeople } from './retention-people.js';

/** The access log's reason for each person a purge deletes (the action is `retention-delete`). */
export const DATASET_DROPPED_REASON = 'dataset-dropped';

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
      action: 'npm run purge-dataset -- --dataset <id>',
    });
  }
}

export interface DatasetPurgeSummary {
  readonly datasetId: string;
  readonly formerAgreementId: string;
  readonly peopleDeleted: number;
  readonly recordsDeleted: number;
  /** The opted-out people whose keys kept for the dataset (by earlier loads and passes) were deleted. */
  readonly optedOutKeysDeleted: number;
}

/**
 * Deletes every record of a dataset the agreements no longer define (see above). Refused, before
 * anything is touched, for a dataset an agreement defines (`still-defined`) and for one the store
 * does not remember as any agreement's (`unknown`: a mistyped id, or one never loaded). Nobody is
 * held, for a consent or anything else: no agreement provides for holding the dataset. The
 * consents and opt-outs themselves stay, as the history of what each person decided.
 */
export async function purgeDroppedDataset(
  deps: RetentionDependencies,
  datasetId: string,
): Promise<DatasetPurgeSummary> {
  const refused = purgeRefusedByTheAgreements(deps.agreements, datasetId);
  if (refused !== undefined) throw refused;
  const formerAgreementId = deps.agreements.formerAgreementOfDataset(datasetId);
  if (formerAgreementId === undefined) throw new DatasetPurgeRefused(datasetId, 'unknown');
  const plan = await deleteOutOfScope(deps, {
    agreementId: formerAgreementId,
    datasetId,
    reason: DATASET_DROPPED_REASON,
    done: 'retention.dataset-purged',
    unplacedToo: true,
    optedOutKeys: 'end-all-of-dataset',
    choose: async (trx, runId) => ({
      people: await RetentionPeople.note(trx, deps.store.dialect.engine, runId, datasetId, []),
      held: 0,
    }),
  });
  // The purge's choice never waits.
  if (typeof plan === 'string') throw new Error(`purge waited (${plan})`);
  return {
    datasetId,
    formerAgreementId,
    peopleDeleted: plan.people,
    recordsDeleted: plan.records,
    optedOutKeysDeleted: plan.optedOutKeysDeleted,
  };
}

async function recordsOf(store: Store, datasetId: string): Promise<number> {
  const row = await store.db
    .selectFrom('source_record')
    .select((eb) => eb.fn.countAll<number>().as('records'))
    .where('dataset_id', '=', datasetId)
    .executeTakeFirst();
  return Number(row?.records ?? 0);
}
