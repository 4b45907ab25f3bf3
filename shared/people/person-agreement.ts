import type { AgreementSet } from '../agreements/agreement-set.js';
import { stringList } from '../audit/entry-agreements.js';
import { subjectNames } from '../audit/entry-subjects.js';
import { RETENTION_ACTION } from '../retention/enforce-retention.js';
import { inSlices } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';

/**
 * Where a person id is held: a dataset and the agreement it belongs to. People are formed within
 * one agreement's datasets (linkage/link-people.ts), and a dataset id names its agreement, so any
 * record the id holds says which — or, where no record holds it any more (an opted-out person
 * every party's snapshot has dropped, or retention deleted), the dataset its kept keys came from
 * (imports/opt-out-kept-keys.ts). A dataset a re-signing dropped still names the agreement that
 * last defined it (agreements/remembered-agreements.ts): its records stay in the store, and so do the
 * consents and opt-outs of their people, which that agreement, not the X-Purpose a caller sends,
 * decides the withdrawal of (found by a review: an opt-out of the ISA's was withdrawn, and filed,
 * under another agreement's purpose once the ISA's dataset was renamed). Where neither holds the id
 * any more — an operator purged the dropped dataset (retention/dropped-datasets.ts), which takes
 * the kept keys with the records, or retention deleted a person without an opt-out — the access
 * log's `retention-delete` entry about the id names the dataset the deletion took them from: read
 * as no agreement's, a purged person's opt-out was withdrawn, and filed with a reference to them,
 * under whatever agreement the caller's X-Purpose named (found by a review). Ids only. Undefined
 * when nothing says: an id merged away, or one no deletion named.
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
      .executeTakeFirst()) ??
    (await deletedFrom(store, personId));
  const agreementId = kept === undefined ? undefined : agreements.filingAgreementOfDataset(kept.dataset_id);
  return kept === undefined || agreementId === undefined ? undefined : { datasetId: kept.dataset_id, agreementId };
}

/**
 * The dataset of the latest `retention-delete` entry about the id (one a person, naming the one
 * dataset deleted from: enforce-retention.ts). One whose deletion did not commit names it too: the
 * person was held there all the same.
 */
async function deletedFrom(store: Store, personId: string): Promise<{ dataset_id: string } | undefined> {
  const entry = await store.dialect
    .firstRows(
      store.db
        .selectFrom('access_log')
        .select('datasets')
        .where('subject_ref', '=', personId)
        .where('action', '=', RETENTION_ACTION)
        .orderBy('seq', 'desc'),
      1,
    )
    .executeTakeFirst();
  const datasetId = entry === undefined ? undefined : stringList(entry.datasets)[0];
  return datasetId === undefined ? undefined : { dataset_id: datasetId };
}

/**
 * The purpose, and its agreement, an opt-out was recorded under: the X-Purpose of the call that
 * recorded it, as its access-log entry (`consent.record`, allowed, naming an id it was recorded
 * against, among the others of one recorded for several people) keeps it. The person was found
 * among that purpose's datasets, and people are formed within one agreement, so it is the
 * agreement the person was held in then. For where nothing else says: a purge takes with a dropped dataset
 * the keys a load kept of an opted-out person its snapshot had already dropped, and deletes no
 * record of theirs, so leaves no entry naming the dataset (found by a review: the opt-out's
 * withdrawal was decided, and filed with a reference to the person, under whatever agreement the
 * caller's X-Purpose named). Undefined for an opt-out recorded other than through the API.
 */
export async function purposeOfOptOutRecording(
  store: Store,
  agreements: AgreementSet,
  opt: { consentId: string; recordedBy: string },
): Promise<{ purposeId: string; agreementId: string } | undefined> {
  const subjects = await store.db
    .selectFrom('consent_event')
    .select('subject_key')
    .distinct()
    .where('consent_id', '=', opt.consentId)
    .where('action', '=', 'record')
    .execute();
  if (subjects.length === 0) return undefined;
  // The first entry of each slice of the ids, two parameters an id (subjectNames), and of those
  // the earliest: all the ids in one statement, an opt-out recorded for more than about a
  // thousand people was refused by SQL Server (found by a review), and by SQLite, whose OR of a
  // term an id grew deeper than it takes (found by a defect hunt); that OR is kept short on SQL
  // Server too, where long ones are reported to fail (inSlices).
  const firsts = await inSlices(
    store.dialect.engine,
    subjects.map((s) => s.subject_key),
    (slice) =>
      store.dialect
        .firstRows(
          store.db
            .selectFrom('access_log')
            .select(['purpose', 'seq'])
            // One recorded for several people names them all in one subject (entry-subjects.ts):
            // found by seeks, through the index of the ids such an entry names, not a read of the
            // whole log (found by a review).
            .where((eb) => eb.or(slice.map((id) => subjectNames(eb, store.dialect, id))))
            .where('action', '=', 'consent.record')
            .where('party_id', '=', opt.recordedBy)
            .where('decision', '=', 'allow')
            .where('reason_code', 'in', ['opt-out-recorded', 'opt-out-already-recorded'])
            .orderBy('seq'),
          1,
        )
        .execute(),
    { perId: 2, orTerms: true },
  );
  const entry = firsts.reduce<(typeof firsts)[number] | undefined>(
    (first, e) => (first === undefined || Number(e.seq) < Number(first.seq) ? e : first),
    undefined,
  );
  if (entry === undefined) return undefined;
  const agreementId = agreements.filingAgreementOfPurpose(entry.purpose);
  return agreementId === undefined ? undefined : { purposeId: entry.purpose, agreementId };
}
