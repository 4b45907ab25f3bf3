import type { Kysely } from 'kysely';
import { errorKind, type LogFields } from '../logging.js';
import type { Database } from '../store/schema.js';
import type { AgreementSet } from '../agreements/agreement-set.js';
import { otherFilesRemembered } from '../agreements/remembered-agreements.js';
import {
  agreementSourcesOf,
  lastPassIsNewer,
  lastPassSourcesQuery,
  linkPeople,
  linksFiledElsewhere,
  type LinkDependencies,
  type LinkRunSummary,
} from './link-people.js';

/**
 * When linking runs: after each committed import, for the agreement of the dataset it loaded;
 * and on a timer, for any agreement whose store holds records no pass has linked yet — the
 * import's own pass may have failed after its commit, and its blob has already moved on, so no
 * redelivery would bring it back — and for any whose last pass linked under other agreement files
 * (a re-signing: see {@link resignedSinceLastPass}).
 */
export async function linkAfterImport(
  deps: LinkDependencies,
  importRunId: string,
): Promise<LinkRunSummary | undefined> {
  const run = await deps.store.db
    .selectFrom('import_run')
    .select(['dataset_id'])
    .where('id', '=', importRunId)
    .executeTakeFirst();
  const agreementId = run === undefined ? undefined : deps.agreements.dataset(run.dataset_id)?.agreementId;
  if (agreementId === undefined) return undefined;
  return linkPeople(deps, agreementId, 'incremental');
}

/**
 * The datasets holding records no pass has linked: without a person id, or with a carried one
 * (shared/imports/snapshot-writer.ts). Two queries, not one `or`: each is answered from its own
 * index (`source_record_person`, and the partial `source_record_carried` of migration 0011),
 * where the `or` read the whole table every five minutes.
 */
export function pendingDatasetQueries(db: Kysely<Database>) {
  const datasets = db.selectFrom('source_record').select('dataset_id').distinct();
  return [datasets.where('person_id', 'is', null), datasets.where('carried_person_id', 'is not', null)] as const;
}

/**
 * The loaded agreements whose last pass linked under another version or other datasets' sources
 * than the files the host serves. People change only at a pass: after a re-signing that dropped a
 * source, a person its old record bridged stayed joined, and lookups showed the other council's
 * record through it, until the agreement's next import or a relink (found by a review). An
 * agreement no pass has linked is one only where a re-signing moved a dataset in whose links are
 * filed under the agreement it came from ({@link linksFiledElsewhere}): its people are formed
 * without them, and its retention waits for the pass that files them under it, which, with no
 * record unlinked, had waited for the dataset's next import (found by a review). Any other has no
 * people a pass could have left wrong, and its first records are linked as pending. A pass from before migration 0043 noted none, and is taken
 * as another: each such agreement is linked once, which corrects a re-signing made before it.
 *
 * Not one where the last pass linked under a newer version of the file than the host's: during a
 * deployment the old host and the new share the store, and each one's timer linked again after
 * the other's pass, splitting and joining people at every tick until the old host stopped (found
 * by a review). The newer files win; the older host logs `linkage.older-agreement-version` (ids
 * and versions) once for each newer version it meets. Versions that read as no order
 * (version-order.ts) are linked as before.
 *
 * Nor where the version is the same but the store remembers other content under it
 * (`agreement_party.content_hash`, written by each start): an operator changed the file and left
 * its version, and the two hosts of the deployment took turns at every tick as above (found by a
 * review). The host that started later, the deployment's new one, wrote the store's: its files
 * win, and the other logs `linkage.other-agreement-files` (the id, the version, short hashes) once.
 */
async function resignedSinceLastPass(deps: LinkDependencies): Promise<string[]> {
  const ids: string[] = [];
  const warned = olderVersionsWarnedBy(deps.agreements);
  const warnOnce = (seen: string, event: string, fields: LogFields) => {
    if (warned.has(seen)) return;
    warned.add(seen);
    deps.logger.warn(event, fields);
  };
  for (const { agreement } of deps.agreements.all()) {
    const last = await lastPassSourcesQuery(deps.store.db, deps.store.dialect, agreement.id).executeTakeFirst();
    if (last === undefined) {
      if (await linksFiledElsewhere(deps.store.db, deps.store.dialect, agreement)) ids.push(agreement.id);
      continue;
    }
    if (last.agreement_sources === agreementSourcesOf(agreement)) continue;
    if (lastPassIsNewer(agreement, last)) {
      warnOnce(`version ${agreement.id} ${last.agreement_version}`, 'linkage.older-agreement-version', {
        agreementId: agreement.id,
        version: agreement.version,
        lastPassVersion: last.agreement_version,
      });
      continue;
    }
    // Read only here, where the last pass noted other files: a tick that finds none reads no more.
    const other = await otherFilesRemembered(deps.store.db, agreement);
    if (other === undefined) {
      ids.push(agreement.id);
      continue;
    }
    warnOnce(`files ${agreement.id} ${other.rememberedHash}`, 'linkage.other-agreement-files', {
      agreementId: agreement.id,
      version: agreement.version,
      ...other,
    });
  }
  return ids;
}

/**
 * Per loaded set of agreements (one a host), the agreements and newer versions, or other files,
 * whose warning has been logged: the timer meets them every five minutes until the old host
 * stops, or until an operator who rolled back on purpose runs `npm run relink` (a full pass, which
 * this does not hold back), and one line says it.
 */
const olderVersionsWarned = new WeakMap<AgreementSet, Set<string>>();

function olderVersionsWarnedBy(agreements: AgreementSet): Set<string> {
  let warned = olderVersionsWarned.get(agreements);
  if (warned === undefined) olderVersionsWarned.set(agreements, (warned = new Set()));
  return warned;
}

/**
 * Only `agreementId`'s records when it is given (`npm run relink -- --pending --agreement`). One
 * agreement whose pass fails (logged by its id) does not stop the others' passes; the first
 * failure is thrown at the end, so the timer's run is recorded as failed.
 *
 * `failed`, for a caller that links twice in one run (catchUpRetention): the agreements whose
 * pass has failed already in the run, which are not tried again, and to which those that fail
 * here are added. Tried again, an agreement whose first pass failed for a reason that holds (Key
 * Vault down) failed and was logged again, two `linkage.pending-failed` for the one agreement in
 * one catch-up; its records wait for the five-minute timer either way.
 */
export async function linkPendingRecords(
  deps: LinkDependencies,
  agreementId?: string,
  failed?: Set<string>,
): Promise<LinkRunSummary[]> {
  const rows = [];
  for (const query of pendingDatasetQueries(deps.store.db)) rows.push(...(await query.execute()));
  const agreementIds = new Set<string>();
  for (const row of rows) {
    const id = deps.agreements.dataset(row.dataset_id)?.agreementId;
    if (id !== undefined && (agreementId === undefined || id === agreementId)) agreementIds.add(id);
  }
  for (const id of await resignedSinceLastPass(deps))
    if (agreementId === undefined || id === agreementId) agreementIds.add(id);
  const summaries: LinkRunSummary[] = [];
  let failure: unknown;
  for (const id of [...agreementIds].sort()) {
    if (failed?.has(id)) continue;
    try {
      summaries.push(await linkPeople(deps, id, 'incremental'));
    } catch (err) {
      deps.logger.error('linkage.pending-failed', { agreementId: id, kind: errorKind(err) });
      failed?.add(id);
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return summaries;
}

/** Every agreement linked again from scratch (`npm run relink`). */
export async function relinkAll(deps: LinkDependencies, agreementId?: string): Promise<LinkRunSummary[]> {
  const ids = agreementId === undefined ? deps.agreements.all().map((a) => a.agreement.id) : [agreementId];
  const summaries: LinkRunSummary[] = [];
  for (const id of ids) summaries.push(await linkPeople(deps, id, 'full'));
  return summaries;
}
