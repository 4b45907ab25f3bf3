import { randomUUID } from 'node:crypto';
import { currentSnapshotOrder, isBehind, type ImportRun, type SnapshotOrder } from '../imports/import-runs.js';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Agreement, Dataset, RetentionRule } from '../agreements/schema.js';
import { entriesWithinStoreTransactions, type AccessLog } from '../audit/access-log.js';
import {
  agreementSourcesOf,
  lastPassSourcesQuery,
  linksFiledElsewhere,
  takeLinkingLock,
  type LinkDependencies,
} from '../linkage/link-people.js';
import { linkPendingRecords, pendingDatasetQueries } from '../linkage/pending-links.js';
import { retireIdentifiers } from '../people/retired-identifiers.js';
import { endKeptKeysOfDataset } from '../imports/opt-out-kept-keys.js';
import { errorKind, type Logger } from '../logging.js';
import { keepWhileRules, keepWhileTest } from './keep-while.js';
import { RetentionPeople } from './retention-people.js';
import type { Kysely } from 'kysely';
import type { Store } from '../store/database.js';
import type { Dialect } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { snapshotTransaction } from '../store/snapshot-transaction.js';

export interface RetentionDependencies {
  readonly store: Store;
  readonly agreements: AgreementSet;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
}

export interface RetentionSummary {
  readonly agreementId: string;
  readonly datasetId: string;
  /** `skipped`: the rule could not be judged (see enforceRetention); nothing was deleted. */
  readonly outcome: 'enforced' | 'skipped';
  readonly peopleDeleted: number;
  readonly recordsDeleted: number;
  /** Out of scope, but kept for a consent in force (see enforceRetention). */
  readonly peopleHeld: number;
  /** Of those deleted, the people with an opt-out in force, whose matching keys were kept (see enforceRetention). */
  readonly optedOutKeysKept: number;
}

/** The access log's action, client and reason for a deletion under a retention rule. */
export const RETENTION_ACTION = 'retention-delete';
const CLIENT_ID = 'retention';
const PARTY_ID = 'joint-system';
const REASON = 'retention-keep-while';
const NOT_COMMITTED = 'retention-not-committed';
/** Access-log entries appended at once (they share the log's group commit), and read back at once. */
const BATCH = 500;
/**
 * Longer than any pass can run or wait: the Functions host ends one at 30 minutes (host.json's
 * functionTimeout), and the linking lock is waited for at most 10 minutes a time (twice by a pass
 * that fails: before its deletion, and to tell its entries as not committed). A note without
 * entries older than this is of a pass that died, not of one still waiting for the lock.
 */
const NOTE_OUTLIVES_ANY_PASS_MS = 24 * 60 * 60 * 1000;

/**
 * Enforces the agreement's joint-system retention rules that carry a condition (`keepWhile`):
 * "Data will only be held on the joint system whilst clients of Housing are in temporary
 * accommodation" keeps a person's records of the dataset, from every source, only while one of
 * that person's records from the field's sources holds the value. The others are deleted from the
 * store — the record, its pseudonymised identifiers and its links — in one transaction (the
 * identifiers' keyed hashes alone are kept with the person id, for a subject access request to
 * find the person the access log still names: people/retired-identifiers.ts), each
 * person with one access-log entry (action `retention-delete`, the person as subject, no field),
 * written before the deletion is committed; should the commit fail, each gets a second entry,
 * `retention-not-committed`, and the next pass tries again (not when the commit came though the
 * pass was told it failed: the note below says whether it did). A pass whose process dies between
 * the two (the host recycled it, it ran out of memory) cannot write the second: so a pass notes
 * itself in `retention_run` before it starts, and marks the note committed in its deletion's
 * transaction; the next pass of the rule, under the linking lock (so never while the other is
 * still at work), follows the entries of a pass whose note was never marked with
 * `retention-not-committed` (found by a DPO's review: the log told a subject access request the
 * person's data had left the joint system at a time it was still held, and showed two deletions
 * for the one that happened).
 *
 * What the deletion leaves may form other people than it did (a record held apart by a namesake
 * the pass deleted belongs with someone kept once the namesake is gone): the records whose people
 * it may change are left, in the same transaction, for the next linking pass, as a load leaves a
 * snapshot's records (RetentionPeople.leaveAffectedForRelinking). The callers run that pass
 * straight after (catchUpRetention, and the import's afterLoad in functions/import-blob.ts); the
 * five-minute timer catches up should it fail, and the rule waits for it meanwhile.
 *
 * Deletion cannot be undone, so whatever cannot be judged is kept:
 * - records no linking pass has placed (no person id, or one carried from the last snapshot and
 *   not yet confirmed) wait for the next pass; and while any record of the field's sources is in
 *   that state the whole rule waits, as that record may be the one that keeps someone; so does
 *   the rule of an agreement no pass has linked under its files as they are now (a re-signing),
 *   whose links may not say who waits for review against whom (linksCurrent);
 * - a person whose records from the field's sources leave the field blank (or an extract without
 *   the column), or hold a value of another type than the field now stores (loaded under an
 *   earlier version of the agreement), is not known to be out of scope, and is kept; the rule
 *   waits while none of those records holds a value it can judge, while the field's sources
 *   have sent nothing, while an extract of theirs is received, loading or to be retried (whenever
 *   it was received), and while one received since their standing one loaded was refused: it may
 *   put right what the standing one says. Only an extract dated behind the standing one, whose
 *   load could only be refused as stale, is passed over;
 * - a person with a record in a link candidate waiting for an officer, or in a link an officer
 *   has confirmed that no pass has yet made one person, whose other record is kept, is kept
 *   whole: the review decides (or has decided) whether they are the same person;
 * - a person with a consent in force is kept and counted as held: the decision is keyed by the
 *   person id, which their records carry into the next snapshot. One withdrawn has nothing left
 *   to carry (a withdrawal ends it under every id) and holds no one; its events stay as the
 *   history of what the person decided. A person so held keeps whoever a link candidate joins to
 *   them, as a person the field keeps does (the point above);
 * - a rule whose value the field's type cannot hold is skipped (it would keep nobody).
 *
 * A national data opt-out holds no one: the rule says the data is held only while the person is
 * in temporary accommodation, and holding the people who objected to its use the longest,
 * special-category fields and all, was the wrong way round (found by a DPO's review). An
 * opted-out person the rule does not keep is deleted as anyone else (with their access-log
 * entry), and the keys of their records are kept in the deletion's transaction as a load keeps
 * them when it drops an opted-out person's records (imports/opt-out-kept-keys.ts: normalised
 * matching keys and keyed identifier hashes, under the opt-out's person id): any later load or
 * linking pass gives a record resembling them a copy of the opt-out, so the objection reaches
 * them should they be sent again. The opt-out stays in force; its withdrawal deletes the keys.
 * The `retention.enforced` line counts them (`optedOutKeysKept`, among `peopleDeleted`).
 *
 * A pass holds a page of records in memory, not the dataset (a council's runs to hundreds of
 * thousands of records; the timer's instance has 2–4 GB): it judges person by person as the pages
 * pass, and keeps what must outlast a page — who is kept — in temporary tables of its transaction
 * (retention-people.ts). The people of the `retention-not-committed` entries are read back from
 * the log (RetentionEntries). `npm run bench:retention` measures it.
 *
 * Periods (`period`, `after`) are not enforced here: the signed agreements state none for the
 * joint system (agreements/README.md).
 */
export async function enforceRetention(deps: RetentionDependencies, agreementId: string): Promise<RetentionSummary[]> {
  const agreement = deps.agreements.agreement(agreementId)?.agreement;
  if (agreement === undefined) return [];
  const summaries: RetentionSummary[] = [];
  // Each rule is a pass of its own (its own transaction, note and entries): one that fails, logged
  // as `retention.failed`, must not keep another dataset's records past their rule (found by a
  // review: a failing rule kept every later one of its agreement from running). The first failure
  // is thrown at the end, so the caller still sees the run as failed.
  let failure: unknown;
  for (const { dataset, keepWhile } of keepWhileRules(agreement)) {
    try {
      summaries.push(await enforceRule(deps, agreement, dataset, keepWhile));
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return summaries;
}

/**
 * Every agreement's rules (the timer's pass). One agreement that fails does not stop the others;
 * the first failure is thrown at the end, so the host records the run as failed.
 */
export async function enforceAllRetention(deps: RetentionDependencies): Promise<RetentionSummary[]> {
  const summaries: RetentionSummary[] = [];
  let failure: unknown;
  for (const { agreement } of deps.agreements.all()) {
    try {
      summaries.push(...(await enforceRetention(deps, agreement.id)));
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return summaries;
}

/**
 * The half-hourly catch-up (functions/enforce-retention.ts): what is pending is linked first, since
 * a rule waits while any record of its agreement is unlinked, then every agreement's rules, then
 * what their deletions left for a pass (the people they may have changed). An agreement whose
 * pass failed does not stop any other's retention (its own rule waits, `records-not-linked`); the
 * first failure of any step is thrown at the end, so the host records the run as failed and its
 * retry policy and alerts see it.
 */
export async function catchUpRetention(deps: RetentionDependencies & LinkDependencies): Promise<RetentionSummary[]> {
  let failure: unknown;
  // An agreement whose first pass failed had its rules wait (`records-not-linked`), so its
  // deletions left nothing for the last pass: that pass does not try it again, nor log it twice.
  const linkingFailed = new Set<string>();
  try {
    await linkPendingRecords(deps, undefined, linkingFailed);
  } catch (err) {
    failure = err;
  }
  let summaries: RetentionSummary[] = [];
  try {
    summaries = await enforceAllRetention(deps);
  } catch (err) {
    failure ??= err;
  }
  try {
    await linkPendingRecords(deps, undefined, linkingFailed);
  } catch (err) {
    failure ??= err;
  }
  if (failure === undefined) return summaries;
  throw failure;
}

/**
 * Whether the agreement's links are those a pass under its current files made: its last pass
 * noted the files as they are (`link_run.agreement_sources`), or, where no pass of its own is on
 * record, no other agreement's links join its sources (a re-signing moved their dataset here, and
 * only its first pass files them under it: link-people.ts, pairsFiledElsewhere). A pass from
 * before migration 0043 noted nothing, and is not current: the timer links such an agreement once.
 */
export async function linksCurrent(trx: Kysely<Database>, dialect: Dialect, agreement: Agreement): Promise<boolean> {
  const last = await lastPassSourcesQuery(trx, dialect, agreement.id).executeTakeFirst();
  if (last !== undefined) return last.agreement_sources === agreementSourcesOf(agreement);
  return !(await linksFiledElsewhere(trx, dialect, agreement));
}

async function enforceRule(
  deps: RetentionDependencies,
  agreement: Agreement,
  dataset: Dataset,
  keepWhile: NonNullable<RetentionRule['keepWhile']>,
): Promise<RetentionSummary> {
  const base = { agreementId: agreement.id, datasetId: dataset.id };
  const skipped = (reason: string): RetentionSummary => {
    deps.logger.warn('retention.skipped', { ...base, reason });
    return { ...base, outcome: 'skipped', peopleDeleted: 0, recordsDeleted: 0, peopleHeld: 0, optedOutKeysKept: 0 };
  };
  const test = keepWhileTest(dataset, keepWhile);
  if (typeof test === 'string') return skipped(test);
  const { decidingParties } = test;
  const { store } = deps;
  const plan = await deleteOutOfScope(deps, {
    agreementId: agreement.id,
    datasetId: dataset.id,
    reason: REASON,
    done: 'retention.enforced',
    unplacedToo: false,
    optedOutKeys: 'keep-of-deleted',
    choose: async (trx, runId) => {
      // Any record of the agreement no pass has placed may join or split people (a new record can
      // bridge two): the rule waits for the pass. Every read of the pass sees one state
      // (deleteOutOfScope), so this holds for the rows read below too.
      const datasets = agreement.datasets.map((d) => d.id);
      for (const query of pendingDatasetQueries(trx))
        if ((await store.dialect.firstRows(query.where('dataset_id', 'in', datasets), 1).execute()).length > 0)
          return 'records-not-linked';
      // Who a pending link keeps is read from the agreement's own links (keepUnderReview): until a
      // pass has linked under the files as they are now, a re-signing may have left them filed
      // under another agreement (a dataset moved in) or stale, and a record waiting for review
      // against someone kept was judged alone and deleted. The rule waits for the timer's pass.
      if (!(await linksCurrent(trx, store.dialect, agreement))) return 'links-not-current';
      const deciding = trx
        .selectFrom('source_record')
        .where('dataset_id', '=', dataset.id)
        .where('party_id', 'in', decidingParties);
      // What the field's sources have sent, from the run ledger: the records still stored cannot
      // tell, as this rule's own deletions empty them (found by a review: once a pass had deleted
      // every Housing record saying N, the rule waited for ever, as if Housing had sent nothing).
      const standing: (SnapshotOrder & { partyId: string; runId: string })[] = [];
      for (const partyId of decidingParties) {
        const current = await currentSnapshotOrder(trx, partyId, dataset.id);
        if (current !== undefined) standing.push({ ...current, partyId });
      }
      if (standing.length === 0 && (await store.dialect.firstRows(deciding.select('id'), 1).execute()).length === 0)
        return 'no-extract-from-field-sources';
      // A row of the field's sources refused at import may have been the one that keeps someone:
      // the rule waits for an extract of theirs that loaded whole.
      const standingRuns = standing.map((s) => s.runId);
      const partial = await store.dialect
        .firstRows(
          trx
            .selectFrom('import_run')
            .select('id')
            .where('rows_rejected', '>', 0)
            .where((eb) =>
              eb.or([
                eb('id', 'in', deciding.select('import_run_id')),
                ...(standingRuns.length > 0 ? [eb('id', 'in', standingRuns)] : []),
              ]),
            ),
          1,
        )
        .execute();
      if (partial.length > 0) return 'field-source-rows-rejected';
      // So may an extract of theirs not loaded: the standing snapshot's N may be what it puts right.
      // Refused whole since the standing one loaded (found by a review); or still received, loading,
      // or broken off and to be retried, whenever it was received (found by later ones: a pass
      // deleted by the older extract while the newer one, keeping the person, was being retried;
      // and Monday's and Tuesday's extracts dropped together after an outage, Tuesday's received
      // before Monday's had loaded). Passed over only when certain to be stale: its date (recorded
      // at its claim) puts it behind the standing snapshot, so its load could only be refused.
      const notLoaded: ImportRun['status'][] = [];
      for (const partyId of decidingParties) {
        const current = standing.find((s) => s.partyId === partyId);
        const runs = await trx
          .selectFrom('import_run')
          .select(['status', 'as_of', 'uploaded_at'])
          .where('party_id', '=', partyId)
          .where('dataset_id', '=', dataset.id)
          .where('status', '!=', 'loaded')
          .where((eb) =>
            current === undefined
              ? eb('status', '!=', 'rejected')
              : eb.or([
                  eb('status', '!=', 'rejected'),
                  eb(
                    'received_at',
                    '>',
                    eb.selectFrom('import_run').select('finished_at').where('id', '=', current.runId),
                  ),
                ]),
          )
          .execute();
        for (const run of runs) {
          const stale =
            current !== undefined &&
            run.as_of !== null &&
            isBehind({ asOf: run.as_of, uploadedAt: run.uploaded_at ?? undefined }, current);
          if (!stale) notLoaded.push(run.status);
        }
      }
      if (notLoaded.some((status) => status !== 'rejected')) return 'field-source-extract-pending';
      if (notLoaded.length > 0) return 'field-source-extract-refused';

      // Judged a page at a time: what outlasts a page is kept in the transaction's own tables,
      // dropped before the commit (a rolled-back pass takes them with it).
      const people = await RetentionPeople.note(trx, store.dialect.engine, runId, dataset.id, decidingParties);
      const judging = await people.judge(test);
      const waits = async (reason: string) => {
        await people.drop();
        return reason;
      };
      // Not one value in the whole of their standing extracts (the column left out of them,
      // say): the rule waits. Where this rule has deleted some of those rows, the extracts did
      // say, and the blank ones left are judged as blanks, kept (found by a review).
      if (judging.judged === 0 && judging.deciding > 0) {
        if (standing.length === 0) return waits('field-blank-in-sources');
        const loaded = await trx
          .selectFrom('import_run')
          .select((eb) => eb.fn.sum<number>('rows_loaded').as('rows'))
          .where('id', 'in', standingRuns)
          .executeTakeFirst();
        if (Number(loaded?.rows ?? 0) <= judging.deciding) return waits('field-blank-in-sources');
      }
      // Held for a consent in force: kept as the flag keeps, so the pending links below are
      // followed from them too (found by a review: a record waiting for review against a held
      // person was deleted, and the officer's review with it).
      const held = await people.holdConsentsInForce();
      await people.keepUnderReview(agreement.id, dataset.id);
      return { people, held };
    },
  });
  if (typeof plan === 'string') return skipped(plan);
  return {
    ...base,
    outcome: 'enforced',
    peopleDeleted: plan.people,
    recordsDeleted: plan.records,
    peopleHeld: plan.held,
    optedOutKeysKept: plan.optedOutKeysKept,
  };
}

/**
 * One deletion of a dataset's people not kept, as a retention rule makes it (enforceRule) and as
 * an operator's purge of a dataset a re-signing dropped makes it (dropped-datasets.ts): the same
 * entries, note, waits for the linking lock, records left for relinking and retired identifier
 * hashes, whoever chooses who goes; the keys of the opted-out kept where records of the dataset
 * can still arrive (a rule's), and every key kept for it deleted where none can (a purge's).
 */
export interface OutOfScopeDeletion {
  /** The agreement whose linking lock the pass holds, and whose business its entries are. */
  readonly agreementId: string;
  readonly datasetId: string;
  /** The access log's reason for each person deleted (the action is `retention-delete`). */
  readonly reason: string;
  /** The log line of a deletion that committed (a failed one logs `retention.failed`). */
  readonly done: string;
  /** Whether the records of the dataset no linking pass has placed (no person id, nor one carried at load) go too, with no entry: there is no person to name. */
  readonly unplacedToo: boolean;
  /**
   * `keep-of-deleted`: the opted-out people who go leave their matching keys
   * (RetentionPeople.keepKeysOfOptedOut), for the objection to reach them should the dataset's
   * sources send them again (a rule's). `end-all-of-dataset`: none of its records can arrive
   * again (a purge of a dataset no agreement defines), and kept keys only ever reach later records
   * of their own dataset, so none is kept and every one earlier loads and passes kept for it goes
   * too (endKeptKeysOfDataset); the opt-outs stay in force.
   */
  readonly optedOutKeys: 'keep-of-deleted' | 'end-all-of-dataset';
  /**
   * In the pass's transaction (one state throughout), under the agreement's linking lock: notes
   * the dataset's records and keeps whoever stays, or says why the pass waits (having dropped
   * what it noted).
   */
  choose(trx: Kysely<Database>, runId: string): Promise<{ people: RetentionPeople; held: number } | string>;
}

/** What a deletion did, or why it waited. */
export async function deleteOutOfScope(
  deps: RetentionDependencies,
  deletion: OutOfScopeDeletion,
): Promise<Plan | string> {
  const { agreementId, datasetId } = deletion;
  const base = { agreementId, datasetId };
  const runId = randomUUID();
  const { store } = deps;
  const log = new RetentionEntries(deps, runId, agreementId, datasetId, deletion.reason);
  // Where entries cannot be written inside the deletion's transaction (SQLite in memory, where
  // the store itself is in this process's memory), they follow its commit: the people are held
  // for them till then.
  const entryInside = entriesWithinStoreTransactions(store);
  const afterCommit: string[] = [];
  // Where entries precede the commit, the store's own note of whether it came.
  const run = entryInside ? new RetentionRunNote(store, runId, agreementId, datasetId) : undefined;
  if (run !== undefined)
    await run.start().catch((err: unknown) => {
      const kind = errorKind(err);
      deps.logger.error('retention.failed', { ...base, runId, kind });
      throw new RetentionFailed(kind);
    });

  // Every read of the pass sees one state, and a deletion of a record an import has since
  // replaced or changed fails the transaction: otherwise an import committed between two reads
  // could slip a bridging record past the waits of the rule.
  const plan = await snapshotTransaction(store, async (trx): Promise<Plan | string> => {
    // Not while a linking pass re-forms the agreement's people.
    await takeLinkingLock(store, trx, agreementId);
    // Before anything can make the pass wait: a pass that died is told of however long it waits.
    if (run !== undefined) await run.settleAbandoned(trx, deps);
    const chosen = await deletion.choose(trx, runId);
    if (typeof chosen === 'string') return chosen;
    const { people, held } = chosen;
    // Who is kept is settled: the opted-out people who go leave their keys, as at a load; or,
    // where nothing of the dataset can arrive again, every key kept for it goes with its records.
    const keeps = deletion.optedOutKeys === 'keep-of-deleted';
    const optedOutKeysKept = keeps ? await people.keepKeysOfOptedOut(datasetId) : 0;
    const optedOutKeysDeleted = keeps ? 0 : await endKeptKeysOfDataset(trx, datasetId);

    await people.leaveAffectedForRelinking(agreementId, datasetId);
    await people.deleteLinksOfOutOfScope(agreementId, datasetId);
    let peopleDeleted = 0;
    let recordsDeleted = 0;
    const at = new Date().toISOString();
    for await (const page of people.outOfScope()) {
      // Written before the deletion commits: a deletion the log does not show must not happen.
      if (entryInside) await log.claim(page.people);
      else afterCommit.push(...page.people);
      // The access log keeps its entries about them: a subject access request must still find them.
      await retireIdentifiers(trx, store.dialect.engine, page.records, at);
      await trx.deleteFrom('record_identifier').where('record_id', 'in', page.records).execute();
      const [result] = await trx.deleteFrom('source_record').where('id', 'in', page.records).execute();
      // Every record judged must still be there to delete, or the entries above would claim
      // too much: an import replaced some meanwhile. Rolled back; the next pass judges again.
      if ((result?.numDeletedRows ?? 0n) !== BigInt(page.records.length)) throw new RetentionRaced();
      peopleDeleted += page.people.length;
      recordsDeleted += page.records.length;
    }
    if (deletion.unplacedToo) recordsDeleted += await deleteUnplacedRecords(trx, datasetId);
    await run?.committed(trx);
    await people.drop();
    return { people: peopleDeleted, records: recordsDeleted, held, optedOutKeysKept, optedOutKeysDeleted };
  }).catch(async (err: unknown) => {
    const kind = errorKind(err);
    // A commit can come though the pass is told it failed (the connection lost while confirming
    // it; on SQL Server the acknowledgement of a COMMIT lost on the network): its entries are then
    // the truth, and `retention-not-committed` after them would tell a subject access request that
    // the person's data was still held when it was gone (found by a review). The note, marked in
    // the deletion's transaction, says which. Should it not be read, it is left for the next pass
    // of the rule, which reads it under the linking lock and tells the pass as it finds it.
    const committed = run === undefined ? 'no' : await run.wasCommitted().catch(() => 'unknown' as const);
    deps.logger.error('retention.failed', { ...base, runId, kind, committed });
    // Not marked: told under the linking lock, by whichever of this pass and the next of the rule
    // drops the note (RetentionRunNote.tellNotCommitted); should this fail, the next pass tells
    // it. Gone: another pass has told of it already, or it wrote nothing. Where entries follow the
    // commit (no note), a failed pass wrote none.
    if (committed === 'yes') await run?.forget().catch(() => undefined);
    else if (committed === 'no') await run?.tellNotCommitted(log).catch(() => undefined);
    throw new RetentionFailed(kind);
  });

  // Committed, or waited and deleted nothing: the note has nothing more to tell.
  await run?.forget().catch(() => undefined);
  if (typeof plan === 'string') return plan;
  if (afterCommit.length > 0) await log.claim(afterCommit);
  deps.logger.info(deletion.done, {
    ...base,
    runId,
    peopleDeleted: plan.people,
    recordsDeleted: plan.records,
    peopleHeld: plan.held,
    // Each line counts what its deletion does to kept keys: a purge's would always say 0 kept, a
    // rule's 0 deleted, of something it never does.
    ...(deletion.optedOutKeys === 'keep-of-deleted'
      ? { optedOutKeysKept: plan.optedOutKeysKept }
      : { optedOutKeysDeleted: plan.optedOutKeysDeleted }),
  });
  return plan;
}

/**
 * Deletes the dataset's records no linking pass has placed in a person, with their identifiers
 * (no hash is retired: a subject access request finds a person, and these name none). Only for a
 * deletion of every record of a dataset: a rule waits while any such record is there. A record
 * that carried its person's id at load names that person, and went with them (RetentionPeople.note).
 */
async function deleteUnplacedRecords(trx: Kysely<Database>, datasetId: string): Promise<number> {
  const unplaced = trx
    .selectFrom('source_record')
    .select('id')
    .where('dataset_id', '=', datasetId)
    .where('person_id', 'is', null)
    .where('carried_person_id', 'is', null);
  await trx.deleteFrom('record_identifier').where('record_id', 'in', unplaced).execute();
  const [result] = await trx
    .deleteFrom('source_record')
    .where('dataset_id', '=', datasetId)
    .where('person_id', 'is', null)
    .where('carried_person_id', 'is', null)
    .execute();
  return Number(result?.numDeletedRows ?? 0n);
}

export interface Plan {
  readonly people: number;
  readonly records: number;
  readonly held: number;
  readonly optedOutKeysKept: number;
  /** The people whose keys kept for the dataset went (a purge's: OutOfScopeDeletion.optedOutKeys). */
  readonly optedOutKeysDeleted: number;
}

/**
 * A pass's access-log entries: one `retention-delete` for each person it deletes, and should the
 * deletion not commit, a `retention-not-committed` for each of those. The people of the second
 * are read back from the log, by the pass's request id, rather than held.
 */
class RetentionEntries {
  constructor(
    private readonly deps: RetentionDependencies,
    private readonly runId: string,
    private readonly agreementId: string,
    private readonly datasetId: string,
    /** Its entries' reason: a retention rule's, or a purge's (dropped-datasets.ts). */
    private readonly reason: string,
  ) {}

  async claim(people: readonly string[]): Promise<void> {
    await this.append(people, 'allow', this.reason);
  }

  /**
   * For a pass whose deletion did not commit (it failed, or its process died first): each person
   * it claimed and the log does not yet tell as not committed gets `retention-not-committed`.
   * Whether the pass wrote any entry at all. Only under the linking lock, by the one that drops
   * the pass's note (RetentionRunNote): otherwise two could read the same people as not yet told.
   */
  async notCommitted(db: Kysely<Database>): Promise<boolean> {
    const claimed = new Set<string>();
    const told = new Set<string>();
    let wrote = false;
    for (let after = 0; ;) {
      const page = await this.deps.store.dialect
        .firstRows(
          db
            .selectFrom('access_log')
            .select(['seq', 'subject_ref', 'reason_code'])
            .where('request_id', '=', this.runId)
            .where('action', '=', RETENTION_ACTION)
            .where('seq', '>', after)
            .orderBy('seq'),
          BATCH,
        )
        .execute();
      for (const entry of page) {
        wrote = true;
        if (entry.subject_ref === null) continue;
        // Whatever its reason, a retention rule's or a purge's, every other entry is a claim.
        if (entry.reason_code === NOT_COMMITTED) told.add(entry.subject_ref);
        else claimed.add(entry.subject_ref);
      }
      if (page.length < BATCH) break;
      after = Number(page.at(-1)!.seq);
    }
    await this.append(
      [...claimed].filter((person) => !told.has(person)),
      'deny',
      NOT_COMMITTED,
    );
    return wrote;
  }

  /**
   * A batch's entries are all settled, written or failed, before this goes on or throws: none is
   * still on its way when the log is read back.
   */
  private async append(people: readonly string[], decision: 'allow' | 'deny', reasonCode: string): Promise<void> {
    // Concurrent appends share the log's group commit.
    for (let i = 0; i < people.length; i += BATCH) {
      const settled = await Promise.allSettled(
        people.slice(i, i + BATCH).map((personId) =>
          this.deps.accessLog.append({
            requestId: this.runId,
            partyId: PARTY_ID,
            clientId: CLIENT_ID,
            roles: [],
            purpose: this.agreementId,
            action: RETENTION_ACTION,
            subjectRef: personId,
            datasets: [this.datasetId],
            fields: [],
            decision,
            reasonCode,
          }),
        ),
      );
      const failed = settled.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
  }
}

/**
 * A pass's note in `retention_run` (migration 0036): written before the pass, so that its
 * `retention-delete` entries, which precede its deletion's commit, can be told from those of a
 * pass that never committed, and marked committed in the deletion's transaction.
 */
class RetentionRunNote {
  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly agreementId: string,
    private readonly datasetId: string,
  ) {}

  async start(): Promise<void> {
    await this.store.db
      .insertInto('retention_run')
      .values({
        id: this.runId,
        agreement_id: this.agreementId,
        dataset_id: this.datasetId,
        started_at: new Date().toISOString(),
        committed_at: null,
      })
      .execute();
  }

  /**
   * Follows with `retention-not-committed` the entries of every earlier pass of the rule whose
   * note was never marked committed and that wrote entries, and drops those notes. Called under
   * the linking lock, which a pass holds from before its first entry to its commit: a pass that
   * wrote entries and is not marked is dead, or failed and not yet told of itself, which it does
   * under the lock too, only while its note is there (tellNotCommitted). Should this pass roll
   * back, its drops go with it and the next pass reads the log again: it follows only the entries
   * not yet followed.
   *
   * The notes that can tell nothing more go too, as every pass reads them (found by a review:
   * they stayed for good). A note marked committed whose pass did not drop it (it died first, or
   * the drop failed): its pass's transaction is over. A note without entries once older than
   * any pass can run: its pass died before writing any (while it waited for the lock, or judged).
   * One younger may be of a pass still waiting for the lock, and is kept; and should a note go
   * while its pass waits all the same, that pass finds it gone here and deletes nothing, as its
   * entries would be left with no note to be told by should it die.
   */
  async settleAbandoned(trx: Kysely<Database>, deps: RetentionDependencies): Promise<void> {
    // Its own note written first: on SQLite that takes the store's write lock, so a pass in
    // another process (which reads in a deferred transaction) is not told while it is at work.
    const [own] = await trx
      .updateTable('retention_run')
      .set({ committed_at: null })
      .where('id', '=', this.runId)
      .execute();
    if ((own?.numUpdatedRows ?? 0n) === 0n) throw new RetentionNoteGone();
    const others = await trx
      .selectFrom('retention_run')
      .select(['id', 'started_at', 'committed_at'])
      .where('agreement_id', '=', this.agreementId)
      .where('dataset_id', '=', this.datasetId)
      .where('id', '<>', this.runId)
      .execute();
    const diedBefore = Date.now() - NOTE_OUTLIVES_ANY_PASS_MS;
    for (const { id, started_at: startedAt, committed_at: committedAt } of others) {
      const settled =
        committedAt !== null ||
        (await new RetentionEntries(deps, id, this.agreementId, this.datasetId, REASON).notCommitted(trx)) ||
        new Date(startedAt).getTime() < diedBefore;
      if (settled) await trx.deleteFrom('retention_run').where('id', '=', id).execute();
    }
  }

  /**
   * For the pass itself, its deletion failed and its note read unmarked: tells its entries as not
   * committed and drops the note, in one transaction under the linking lock, as the next pass of
   * the rule does in settleAbandoned. The drop decides which of the two tells: without the lock,
   * the next pass could read the log between this pass's read of its note and its entries, and
   * both would tell the same people (found by a review: the log showed the deletion as not
   * committed twice). Should an entry fail, the drop rolls back and the next pass tells the rest.
   */
  async tellNotCommitted(log: RetentionEntries): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      await takeLinkingLock(this.store, trx, this.agreementId);
      // The drop first: on SQLite that takes the store's write lock (see settleAbandoned).
      const [own] = await trx
        .deleteFrom('retention_run')
        .where('id', '=', this.runId)
        .where('committed_at', 'is', null)
        .execute();
      if ((own?.numDeletedRows ?? 0n) === 0n) return;
      await log.notCommitted(trx);
    });
  }

  /** In the deletion's transaction, once everything is deleted. */
  async committed(trx: Kysely<Database>): Promise<void> {
    await trx
      .updateTable('retention_run')
      .set({ committed_at: new Date().toISOString() })
      .where('id', '=', this.runId)
      .execute();
  }

  /**
   * Read after the deletion's transaction has ended, committed or not. `gone`: another pass has
   * dropped the note meanwhile, having found it committed, or having told its entries as not
   * committed itself (a pass whose note went before it wrote any entry writes none).
   */
  async wasCommitted(): Promise<'yes' | 'no' | 'gone'> {
    const note = await this.store.db
      .selectFrom('retention_run')
      .select('committed_at')
      .where('id', '=', this.runId)
      .executeTakeFirst();
    if (note === undefined) return 'gone';
    return note.committed_at !== null ? 'yes' : 'no';
  }

  async forget(): Promise<void> {
    await this.store.db.deleteFrom('retention_run').where('id', '=', this.runId).execute();
  }
}

/** A pass that broke off; names the kind of error only (a driver's message can quote a value). */
export class RetentionFailed extends Error {
  constructor(readonly kind: string) {
    super(`Retention enforcement failed (${kind})`);
    this.name = 'RetentionFailed';
  }
}

/** The pass's own note was gone when it took the linking lock (dropped as too old: see settleAbandoned). */
class RetentionNoteGone extends Error {
  constructor() {
    super("The retention pass's own note was gone when it took the linking lock");
    this.name = 'RetentionNoteGone';
  }
}

/** Records judged for deletion were gone when deleted (a concurrent import replaced them). */
class RetentionRaced extends Error {
  constructor() {
    super('Records changed while retention was judging them');
    this.name = 'RetentionRaced';
  }
}
