/**
 * The records a party sent of a dataset a re-signed agreement no longer lists it as a source of
 * (Wellingborough leaving the Keyways housing register, say). The agreement goes on, and so does
 * the dataset, but it no longer provides for holding that party's records: no lookup shows them
 * (AgreementSet.isSource), the linking pass makes each a person alone and drops its links
 * (link-people.ts), and the party can send no extract to replace them. Where the dataset has no
 * retention condition (the Keyways and Housing First agreements) nothing deleted them, so they
 * stayed on the joint system for good, unseen, as a dropped dataset's did (dropped-datasets.ts;
 * found by a defect hunt: storage limitation, UK GDPR Art. 5(1)(e)).
 *
 * As for a dropped dataset, nothing is deleted at start-up: every start names each such party and
 * dataset still holding records (`agreements.source-dropped`: ids and a count), and an operator
 * deletes them with `npm run purge-dataset -- --dataset <id> --party <id>`, through the retention
 * rule's own deletion (deleteOutOfScope): one `retention-delete` entry a person (reason
 * `source-dropped`) before the commit, identifier hashes retired for subject access, all in one
 * transaction; the other sources' records of the dataset, and their links, stay. The dataset is
 * still defined, so its records can arrive again from its sources: an opted-out person's
 * matching keys are kept, as a retention rule keeps them.
 *
 * A purge waits for the agreement's first linking pass under the re-signed files (the five-minute
 * timer runs it): until then the party's records may still share a person with the current
 * sources' records, and the purge would claim to delete that person.
 */
import type { AgreementSet } from '../agreements/agreement-set.js';
import { pendingDatasetQueries } from '../linkage/pending-links.js';
import type { Logger } from '../logging.js';
import type { Store } from '../store/database.js';
import { deleteOutOfScope, linksCurrent, type RetentionDependencies } from './enforce-retention.js';
import { purgeRefusedByTheAgreements, SourcePurgeRefused } from './purge-refusals.js';
import { RetentionPeople } from './retention-people.js';

/** The access log's reason for each person a source's purge deletes (the action is `retention-delete`). */
export const SOURCE_DROPPED_REASON = 'source-dropped';

export interface DroppedSourceHeld {
  readonly datasetId: string;
  readonly partyId: string;
  readonly agreementId: string;
  readonly records: number;
}

/**
 * Each party still holding records of a dataset the agreements define, but not from it, with how
 * many. One grouped read of the (party, dataset) index for the whole store, not one a dataset:
 * every start runs it, and a read of a dataset's records by party `not in` its sources is a scan
 * of the index each time, the index leading with the party.
 */
export async function droppedSourcesHeld(store: Store, agreements: AgreementSet): Promise<DroppedSourceHeld[]> {
  const counts = await store.db
    .selectFrom('source_record')
    .select(['party_id', 'dataset_id', (eb) => eb.fn.countAll<number>().as('records')])
    .groupBy(['party_id', 'dataset_id'])
    .orderBy('party_id')
    .execute();
  const held: DroppedSourceHeld[] = [];
  for (const { agreement } of agreements.all()) {
    for (const dataset of agreement.datasets) {
      for (const row of counts)
        if (row.dataset_id === dataset.id && !dataset.sources.includes(row.party_id))
          held.push({
            datasetId: dataset.id,
            partyId: row.party_id,
            agreementId: agreement.id,
            records: Number(row.records),
          });
    }
  }
  return held;
}

/** At start-up: one warning a dropped source still holding records of a dataset, every start till it is purged. */
export async function warnOfDroppedSourcesHeld(deps: {
  readonly store: Store;
  readonly agreements: AgreementSet;
  readonly logger: Logger;
}): Promise<void> {
  for (const { datasetId, partyId, agreementId, records } of await droppedSourcesHeld(deps.store, deps.agreements)) {
    deps.logger.warn('agreements.source-dropped', {
      datasetId,
      partyId,
      agreementId,
      records,
      action: 'npm run purge-dataset -- --dataset <id> --party <id>',
    });
  }
}

export interface SourcePurgeSummary {
  readonly datasetId: string;
  readonly partyId: string;
  readonly agreementId: string;
  readonly peopleDeleted: number;
  readonly recordsDeleted: number;
  /** Of those deleted, the people with an opt-out in force, whose matching keys were kept. */
  readonly optedOutKeysKept: number;
}

/**
 * Deletes the party's records of a dataset an agreement defines without it as a source (see
 * above). Refused, before anything is touched, for a dataset no agreement defines (a whole
 * dropped dataset is purged without `--party`), for a party that is still a source of it or never
 * sent it (a mistyped id); and
 * while the agreement has not been linked under its current files. Nobody is held, for a consent
 * or anything else: the agreement no longer provides for holding the party's records.
 */
export async function purgeDroppedSource(
  deps: RetentionDependencies,
  datasetId: string,
  partyId: string,
): Promise<SourcePurgeSummary> {
  const refused = purgeRefusedByTheAgreements(deps.agreements, datasetId, partyId);
  if (refused !== undefined) throw refused;
  const entry = deps.agreements.dataset(datasetId)!;
  // A party that never sent the dataset is a mistyped --party: purged, it answered "0 records
  // deleted" (found by a defect hunt), and the operator took the real party's records for gone.
  if (!(await sentDataset(deps.store, partyId, datasetId))) throw new SourcePurgeRefused(datasetId, partyId, 'unknown');
  const { agreementId } = entry;
  const agreement = deps.agreements.agreement(agreementId)!.agreement;
  const { store } = deps;
  const plan = await deleteOutOfScope(deps, {
    agreementId,
    datasetId,
    reason: SOURCE_DROPPED_REASON,
    done: 'retention.source-purged',
    unplacedToo: false,
    optedOutKeys: 'keep-of-deleted',
    choose: async (trx, runId) => {
      // Each of the party's records a person alone, as the first pass under the re-signed files
      // leaves them: before it, a record may still share its person with the current sources'.
      for (const query of pendingDatasetQueries(trx))
        if (
          (
            await store.dialect
              .firstRows(query.where('dataset_id', '=', datasetId).where('party_id', '=', partyId), 1)
              .execute()
          ).length > 0
        )
          return 'records-not-linked';
      if (!(await linksCurrent(trx, store.dialect, agreement))) return 'links-not-current';
      return {
        people: await RetentionPeople.note(trx, store.dialect.engine, runId, datasetId, [], partyId),
        held: 0,
      };
    },
  });
  if (typeof plan === 'string') throw new SourcePurgeRefused(datasetId, partyId, 'not-yet-linked');
  return {
    datasetId,
    partyId,
    agreementId,
    peopleDeleted: plan.people,
    recordsDeleted: plan.records,
    optedOutKeysKept: plan.optedOutKeysKept,
  };
}

/**
 * Whether the store remembers the party sending the dataset: a record of it held, or an import
 * run of it (a purge that has deleted them all is run again as it was, deleting nothing).
 */
async function sentDataset(store: Store, partyId: string, datasetId: string): Promise<boolean> {
  for (const table of ['source_record', 'import_run'] as const) {
    const query = store.db
      .selectFrom(table)
      .select('party_id')
      .where('party_id', '=', partyId)
      .where('dataset_id', '=', datasetId);
    if ((await store.dialect.firstRows(query, 1).execute()).length > 0) return true;
  }
  return false;
}
