import { createHash, randomUUID } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Agreement } from '../agreements/schema.js';
import { compareAgreementVersions } from '../agreements/version-order.js';
import { otherFilesRemembered } from '../agreements/remembered-agreements.js';
import { carryConsentEvents } from '../consents/carry-consents.js';
import { reachArrivals } from '../imports/opt-out-kept-keys.js';
import { errorKind, type Logger } from '../logging.js';
import { PersonClusters, type ClusterLink, type MergeRefusal } from '../matching/cluster.js';
import {
  hardIdentifierConflict,
  identifiersDiffer,
  isIdentifierRule,
  shareIdentifier,
  weakLinkConflict,
} from '../matching/hard-identifiers.js';
import { linkBatches } from '../matching/link.js';
import type { ProbabilisticOptions } from '../matching/probabilistic.js';
import type { RecordBatch } from '../matching/record.js';
import { storedKeyVersions } from '../people/stored-key-versions.js';
import { SecretVersionGoneError, type SecretSource } from '../secrets/secret-source.js';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import type { Dialect, Engine } from '../store/dialect.js';
import type { Database, RecordLinkTable } from '../store/schema.js';
import { takeTransactionLock, TransactionLockUnavailableError } from '../store/transaction-lock.js';
import { LinkDecisions, type DecisionKeys, type PairDecision } from './link-decisions.js';
import { linkingRulesOf, type LinkingRules } from './linking-rules.js';
import { recordPersonIdMoves, type HeldPersonIdMove } from './person-id-history.js';
import { PairKeys, personRefKeyOf } from './pair-key.js';
import { assignPersonIds } from './person-ids.js';
import { readStoreSources, sourceIdOf, type StoreSource } from './store-sources.js';
import { clockOf } from '../clock.js';

/**
 * Linking the records of one agreement's datasets into people, in the store.
 *
 * - `incremental` (after every import): only the pairs of sources of which one holds records
 *   never linked — a new snapshot — are linked again, each against each other source, by the
 *   agreement's rules and, where it names one, the probabilistic tier. Links between sources
 *   that did not change are kept as they are.
 * - `full`: every pair of sources is linked again.
 * - `review`: after an officer's decision, people are formed again; a source holding records
 *   never linked is linked as in an incremental pass, and the probabilistic tier's links of every
 *   other pair of sources are decided again (the decision may hold for pairs other than the one
 *   the officer decided: see redecideSourcePair). Should it fail, the agreement's next pass of
 *   any kind does this too.
 *
 * A pair an officer confirmed is linked (as confirmed) in every pass of its two sources while its
 * records are held, whether or not the tier proposes it again (link-decisions.ts).
 *
 * Only the records of a dataset's current sources are linked (AgreementSet.isSource): a party a
 * re-signing dropped as a source keeps its loaded records, each a person alone, and loses its
 * links at the next pass of any kind (see linkPeople).
 *
 * Every pass then forms people from all active links of the agreement (rule links, and tier-5
 * links only once confirmed), most reliable first, refusing any merge that would put two
 * different NHS numbers, UPNs or ids of one system in one person (or, by a names rule, two
 * people's NI numbers: see cluster.ts), or the two records of a pair an officer rejected (the
 * weakest link that would join them is refused, as for conflicting identifiers), and every
 * link of a record whose links of one tier reach two such people (it is left on its own), and
 * writes each record's
 * person id (kept stable: see person-ids.ts). Where a record's person id changes (a merge or a
 * split), the consent and opt-out events of its old id are carried to its new one in the same
 * transaction (shared/consents/carry-consents.ts), so an opt-out never stays behind on an id no
 * one holds; after a split a consent stays only with the part that keeps the id it was
 * recorded against — one a merge carried into the split id is detached from it. A record an
 * import gave its predecessor's id (`carried_person_id`, see
 * shared/imports/snapshot-writer.ts) counts as holding that id here, so a person known only to a
 * source that sends a new snapshot keeps their id and their consents (and is found by lookups
 * meanwhile). The pass is one transaction: a crash leaves the previous people in place, and new
 * records without a carried id stay unlinked — unseen by lookups — until a pass finishes.
 */

export type LinkRunKind = 'incremental' | 'full' | 'review';

export interface LinkDependencies {
  readonly store: Store;
  readonly secrets: SecretSource;
  readonly agreements: AgreementSet;
  readonly logger: Logger;
  /**
   * The pass's one clock (the host's if not given): its run's start, finish and commit times,
   * the stamp on its moves and the consents it carries, so that each reads against the others
   * (a subject access request and a settled answer compare them: person-id-history.ts,
   * current-person-id.ts).
   */
  readonly now?: () => Date;
  readonly probabilistic?: ProbabilisticOptions;
}

export interface LinkRunSummary {
  readonly runId: string;
  readonly agreementId: string;
  readonly kind: LinkRunKind;
  readonly sources: number;
  readonly records: number;
  readonly sourcePairsLinked: number;
  /** Rule links made in this pass, by the agreement's tier. */
  readonly linksByTier: Readonly<Record<string, number>>;
  /** Probabilistic candidates this pass found that no officer has decided yet (found before or not). */
  readonly candidates: number;
  readonly candidatesConfirmedEarlier: number;
  readonly candidatesRejectedEarlier: number;
  /**
   * Pairs an officer confirmed that this pass's probabilistic tier did not propose (scored below
   * the review threshold, or not scored), linked as confirmed all the same (link-decisions.ts).
   */
  readonly confirmedNotProposed: number;
  /**
   * Candidates (among `candidates`) whose two records an officer of another agreement confirmed
   * as one person, when that agreement held their datasets: not joined on its word, but put to
   * this agreement's reviewers, proposed by the tier or not (link-decisions.ts).
   */
  readonly candidatesConfirmedElsewhere: number;
  readonly refusedMerges: Readonly<Partial<Record<MergeRefusal, number>>>;
  readonly people: number;
  readonly personIdsChanged: number;
  /** Consent and opt-out events copied to the new person ids of merged or split people. */
  readonly consentEventsCarried: number;
  /**
   * Consents a merge had carried into a person id that this pass split, which no longer apply to
   * the part keeping the id (carry-consents.ts).
   */
  readonly consentsDetached: number;
  readonly otherKeyVersionIdentifiers: number;
  readonly seconds: number;
}

type NewLink = Omit<RecordLinkTable, 'id' | 'first_run_id' | 'created_at'>;

const LINK_COLUMNS = [
  'id',
  'agreement_id',
  'source_a',
  'source_b',
  'record_a',
  'record_b',
  'tier',
  'rule',
  'score',
  'status',
  'pair_key',
  'identity_key',
  'first_run_id',
  'last_run_id',
  'created_at',
] as const satisfies readonly (keyof RecordLinkTable)[];

/**
 * An earlier release's pair keys under each older pseudonymisation key version the store's
 * identifiers are hashed under (pair-key.ts): a decision made before 2 December under a version
 * since rotated out is recognised while records hashed under it remain, as the README says
 * decisions survive a rotation (found by reading: after a rotation a pass made them under the
 * current version only, so a rejected pair was proposed again and a confirmed one split until an
 * officer answered again). A version gone from Key Vault cannot be tried, and is logged by its
 * id, once while it stays gone rather than at every pass ({@link goneVersionsLogged}); any other
 * failure to read one fails the pass, to be retried, rather than forget decisions.
 *
 * None is read while the store holds no decision such a key could find
 * ({@link mayHoldEarlierReleaseKeys}): after every decision of that release has been re-keyed, or
 * in a store that never held one, a pass otherwise asked Key Vault for each older version, and
 * warned of a gone one, every five minutes for nothing.
 */
async function olderLegacyKeys(deps: LinkDependencies, currentVersion: string): Promise<PairKeys[]> {
  if (!(await mayHoldEarlierReleaseKeys(deps.store))) return [];
  const logged = goneVersionsLoggedBy(deps.secrets);
  const keys: PairKeys[] = [];
  for (const version of await storedKeyVersions(deps.store)) {
    if (version === currentVersion) continue;
    try {
      const secret = await deps.secrets.get('pseudonymisation-key', version);
      keys.push(PairKeys.legacy(Buffer.from(secret.value, 'base64'), version));
      logged.delete(version);
    } catch (err) {
      if (!(err instanceof SecretVersionGoneError)) throw err;
      if (logged.has(version)) continue;
      logged.add(version);
      deps.logger.warn('link.legacy-key-version-gone', { keyVersion: version });
    }
  }
  return keys;
}

/**
 * Whether a decision an earlier release keyed ({@link PairKeys.legacy}) may be held: one without
 * an identity key. That release kept none, and since 0018 every decision keeps its candidate's,
 * which a pass gives only with a key of today (a candidate's identity key came in the same
 * release as those keys, and {@link LinkDecisions.find} re-keys a decision before it gives it
 * one). Some decisions of today keep none too (a record without a date of birth or family name),
 * and an earlier release's rejection keeps none once re-keyed: older versions are then read as
 * before. A decision committed after this is asked is kept under a key of today or, on a candidate
 * an earlier release proposed, found by the review pass that follows it. The table holds officers'
 * decisions, and a pass reads it whole anyway (link-decisions.ts).
 */
async function mayHoldEarlierReleaseKeys(store: Store): Promise<boolean> {
  const { held } = await store.db
    .selectFrom('link_decision')
    .select((eb) => eb.fn.countAll().as('held'))
    .where('identity_key', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(held) > 0;
}

/**
 * Per secrets port, the older key versions it has said are gone whose warning has been logged:
 * a version stays gone until an operator restores it, and a pass every few minutes logging it
 * again filled the log with one warning. It is still asked for at every pass that may need it
 * (a disabled version can be enabled again; Key Vault caches no failure: key-vault-secret-source.ts),
 * and forgotten here once read, so that a version gone again is logged again.
 */
const goneVersionsLogged = new WeakMap<SecretSource, Set<string>>();

function goneVersionsLoggedBy(secrets: SecretSource): Set<string> {
  let logged = goneVersionsLogged.get(secrets);
  if (logged === undefined) goneVersionsLogged.set(secrets, (logged = new Set()));
  return logged;
}

export async function linkPeople(
  deps: LinkDependencies,
  agreementId: string,
  kind: LinkRunKind,
): Promise<LinkRunSummary> {
  const loaded = deps.agreements.agreement(agreementId);
  if (loaded === undefined) throw new RangeError(`linkPeople: unknown agreement ${agreementId}`);
  const rules = linkingRulesOf(loaded.agreement);
  const now = clockOf(deps);
  const started = performance.now();
  const secret = await deps.secrets.get('pseudonymisation-key');
  const personRefKey = await personRefKeyOf(deps.secrets);
  const keys: DecisionKeys = {
    current: PairKeys.from(personRefKey),
    identity: PairKeys.identity(personRefKey),
    legacy: [PairKeys.legacy(Buffer.from(secret.value, 'base64')), ...(await olderLegacyKeys(deps, secret.version))],
  };
  const runId = randomUUID();

  const summary = await deps.store.db.transaction().execute(async (trx) => {
    await takeLinkingLock(deps.store, trx, agreementId);
    // Before the sources are read, so such a record is linked as a carried one (its opt-out
    // going into whoever it joins); under the lock, so no pass writes its person id meanwhile.
    await reachArrivals(trx, deps.store.dialect.engine, { datasetIds: rules.datasets });
    // Before this pass's own run is written: whether the pass after an officer's decision failed.
    // A full pass links every pair of sources again, which decides every tier link anyway.
    const redecide = kind === 'review' || (kind === 'incremental' && (await decidedSinceLastPass(trx, agreementId)));
    const agreementSources = agreementSourcesOf(loaded.agreement);
    // Before this pass's own run is written too: links an earlier pass made under other rules
    // are kept by a pass that does not link their pair again, and people formed from them.
    const linkEveryPair =
      kind !== 'full' && (await linkedUnderOtherFiles(trx, deps.store.dialect, loaded.agreement, agreementSources));
    const startedAt = now().toISOString();
    await trx
      .insertInto('link_run')
      .values({
        id: runId,
        agreement_id: agreementId,
        kind,
        started_at: startedAt,
        finished_at: null,
        summary: null,
        agreement_sources: agreementSources,
        agreement_version: loaded.agreement.version,
      })
      .execute();

    const read = await readStoreSources(trx, rules.datasets, secret.version, deps.store.dialect);
    const { otherKeyVersionIdentifiers } = read;
    // A party a re-signing dropped as a source of a dataset keeps its loaded records in the store,
    // but they are no longer the agreement's (AgreementSet.isSource): linked, one of them still
    // bridged two current sources' records into one person, whom a lookup then showed whole
    // (found by a review). Only the current sources are linked; the former ones' records are each
    // a person alone (formPeople), and their links are dropped.
    const sources = read.sources.filter((s) => deps.agreements.isSource(s.partyId, s.datasetId));
    const former = read.sources.filter((s) => !deps.agreements.isSource(s.partyId, s.datasetId));
    await dropLinksOfFormerSources(trx, agreementId, read.sources, former);
    const filedElsewhere = await pairsFiledElsewhere(trx, deps.store.dialect, agreementId, sources);
    const pairs = sourcePairsToLink(sources, linkEveryPair ? 'full' : kind, filedElsewhere);
    const decisions = await LinkDecisions.read(
      trx,
      deps.store.dialect.engine,
      agreementId,
      keys,
      sources.map((s) => s.batch),
    );
    const written = new PassLinks();
    const linked = await relinkSourcePairs(trx, deps, rules, decisions, sources, pairs, runId, startedAt, written);
    await dropLinksFiledElsewhere(trx, filedElsewhere);
    if (redecide)
      await redecideSourcePairs(trx, deps, rules, decisions, sources, pairs, runId, startedAt, linked, written);
    const people = await formPeople(
      trx,
      deps.store.dialect.engine,
      agreementId,
      sources,
      former,
      decisions,
      runId,
      now,
      written.active(sources),
    );

    const result: LinkRunSummary = {
      runId,
      agreementId,
      kind,
      sources: sources.length,
      records: sources.reduce((n, s) => n + s.batch.size, 0),
      sourcePairsLinked: pairs.length,
      ...linked,
      ...people,
      otherKeyVersionIdentifiers,
      seconds: Math.round((performance.now() - started) / 10) / 100,
    };
    await trx
      .updateTable('link_run')
      .set({ finished_at: now().toISOString(), summary: JSON.stringify(result) })
      .where('id', '=', runId)
      .execute();
    return result;
  });
  await recordCommitTime(deps, runId, now);
  deps.logger.info('linkage.run', { ...flatten(summary) });
  return summary;
}

/**
 * Notes, just after a pass commits, a time no earlier than its commit (`link_run.committed_at`,
 * migration 0030). The pass stamps its moves before it commits, and lookups meanwhile read the
 * people as they were and log the ids the pass gives away: a subject access request follows each
 * such id up to this time (person-id-history.ts). The pass has committed whatever happens here:
 * should the write fail, the stamp bounds the window, as before the migration, and the failure
 * is logged, not thrown.
 */
async function recordCommitTime(deps: LinkDependencies, runId: string, now: () => Date): Promise<void> {
  try {
    await deps.store.db
      .updateTable('link_run')
      .set({ committed_at: now().toISOString() })
      .where('id', '=', runId)
      .execute();
  } catch (err) {
    deps.logger.warn('linkage.commit-time-unrecorded', { runId, error: errorKind(err) });
  }
}

/** How long a pass waits for another pass of the same agreement to finish, on SQL Server. */
const LINKING_LOCK_TIMEOUT_MS = 600_000;

/**
 * Thrown when the linking lock could not be had: another pass held it past the timeout, or SQL
 * Server chose this transaction as a deadlock victim. The transaction rolls back; the next pass
 * (the five-minute timer) tries again.
 */
export class LinkingLockUnavailableError extends TransactionLockUnavailableError {
  constructor(
    readonly agreementId: string,
    status: number,
  ) {
    super(`lintel-linkage:${agreementId}`, status);
    this.message = `The linking lock of agreement ${agreementId} could not be taken (sp_getapplock returned ${status})`;
    this.name = 'LinkingLockUnavailableError';
  }
}

/**
 * One linking pass per agreement at a time. On SQLite the transaction's first write takes the
 * database's write lock; SQL Server needs an explicit lock, or two passes could each read the
 * other's old people and write conflicting ones. Retention enforcement takes it too
 * (shared/retention/enforce-retention.ts): it judges the people a pass forms.
 */
export async function takeLinkingLock(
  store: Store,
  trx: Kysely<Database>,
  agreementId: string,
  timeoutMs = LINKING_LOCK_TIMEOUT_MS,
): Promise<void> {
  try {
    await takeTransactionLock(store, trx, `lintel-linkage:${agreementId}`, timeoutMs);
  } catch (err) {
    if (err instanceof TransactionLockUnavailableError) throw new LinkingLockUnavailableError(agreementId, err.status);
    throw err;
  }
}

/**
 * A review pass links what an incremental one would: a snapshot loaded since the last pass
 * would otherwise get people of its own records alone, and look linked to every later pass
 * (found by a review).
 */
function sourcePairsToLink(
  sources: readonly StoreSource[],
  kind: LinkRunKind,
  filedElsewhere: FiledElsewhere,
): [number, number][] {
  const pairs: [number, number][] = [];
  for (let a = 0; a < sources.length; a++) {
    for (let b = a + 1; b < sources.length; b++) {
      if (
        kind === 'full' ||
        sources[a]!.unlinked > 0 ||
        sources[b]!.unlinked > 0 ||
        filedElsewhere.pairs.has(`${a},${b}`)
      )
        pairs.push([a, b]);
    }
  }
  return pairs;
}

/** Pairs of the pass's sources (`a,b`, a < b) whose links are filed under other agreements, and those agreements. */
interface FiledElsewhere {
  readonly pairs: ReadonlySet<string>;
  readonly agreementIds: readonly string[];
  readonly sourceIds: readonly string[];
}

/**
 * The pairs of this agreement's sources whose links another agreement's passes made: a
 * re-signing moved their datasets here (dataset ids are unique across agreements, so no other
 * agreement links them now). People are formed from this agreement's links alone, so such a pair
 * is linked again by this pass, whatever its kind, under this agreement's rules: an incremental
 * pass that left it alone formed people without its links, and split everyone they joined (found
 * by reading). The agreements are those holding any link, found one at a time by a seek on the
 * `record_link_sources` index ({@link nextLinkedAgreementQuery}: a few), and each asked by it for
 * links of these sources. Asked of `link_run` for its distinct agreement ids, every pass read the
 * whole of its index, which gains a row a pass, every five minutes, for ever (found by a review).
 */
async function pairsFiledElsewhere(
  trx: Kysely<Database>,
  dialect: Dialect,
  agreementId: string,
  sources: readonly StoreSource[],
): Promise<FiledElsewhere> {
  const sourceIds = sources.map((s) => s.id);
  const none: FiledElsewhere = { pairs: new Set(), agreementIds: [], sourceIds };
  if (sources.length < 2) return none;
  const at = new Map(sourceIds.map((id, n) => [id, n]));
  const pairs = new Set<string>();
  const agreementIds: string[] = [];
  for await (const other of otherLinkedAgreements(trx, dialect, agreementId)) {
    const rows = await trx
      .selectFrom('record_link')
      .select(['source_a', 'source_b'])
      .distinct()
      .where('agreement_id', '=', other)
      .where('source_a', 'in', sourceIds)
      .where('source_b', 'in', sourceIds)
      .execute();
    if (rows.length > 0) agreementIds.push(other);
    for (const row of rows) {
      const [a, b] = [at.get(row.source_a)!, at.get(row.source_b)!].sort((x, y) => x - y);
      if (a !== b) pairs.add(`${a},${b}`);
    }
  }
  return agreementIds.length === 0 ? none : { pairs, agreementIds, sourceIds };
}

/**
 * Whether another agreement's links join two of the agreement's current sources: a re-signing
 * moved their dataset here, and only a pass of this agreement files them under it
 * ({@link pairsFiledElsewhere}). Until then its people are formed without them, and retention
 * would judge its records without them (enforce-retention.ts). One seek a linked agreement.
 */
export async function linksFiledElsewhere(
  db: Kysely<Database>,
  dialect: Dialect,
  agreement: Agreement,
): Promise<boolean> {
  const sources = agreement.datasets.flatMap((d) => d.sources.map((party) => sourceIdOf(party, d.id)));
  if (sources.length === 0) return false;
  for await (const other of otherLinkedAgreements(db, dialect, agreement.id)) {
    const filed = await dialect
      .firstRows(
        db
          .selectFrom('record_link')
          .select('id')
          .where('agreement_id', '=', other)
          .where('source_a', 'in', sources)
          .where('source_b', 'in', sources),
        1,
      )
      .execute();
    if (filed.length > 0) return true;
  }
  return false;
}

/** The agreements other than `agreementId` holding any link, by id ({@link nextLinkedAgreementQuery}). */
async function* otherLinkedAgreements(
  db: Kysely<Database>,
  dialect: Dialect,
  agreementId: string,
): AsyncGenerator<string> {
  const next = async (after: string) =>
    (await nextLinkedAgreementQuery(db, dialect, after).executeTakeFirst())?.agreement_id;
  for (let other = await next(''); other !== undefined; other = await next(other))
    if (other !== agreementId) yield other;
}

/**
 * The first agreement after `after` (by id) holding a link: one seek on `record_link_sources`
 * (agreement id first), however many links or passes the store holds. Asked from `''` and then
 * from each answer, it walks the agreements with links, a few, one seek each (a skip-scan SQL
 * Server does not make of `select distinct`).
 */
export function nextLinkedAgreementQuery(db: Kysely<Database>, dialect: Dialect, after: string) {
  return dialect.firstRows(
    db.selectFrom('record_link').select('agreement_id').where('agreement_id', '>', after).orderBy('agreement_id'),
    1,
  );
}

/**
 * Deletes the other agreements' links of the pairs this pass has linked again under its own: no
 * pass of theirs reads them (their datasets are this agreement's), and left, they would have
 * every pass link the pairs again. An officer's decision on one of their candidates is kept, in
 * `link_decision`, as that agreement's (link-decisions.ts).
 */
async function dropLinksFiledElsewhere(trx: Kysely<Database>, filed: FiledElsewhere): Promise<void> {
  for (const other of filed.agreementIds) {
    await trx
      .deleteFrom('record_link')
      .where('agreement_id', '=', other)
      .where('source_a', 'in', filed.sourceIds)
      .where('source_b', 'in', filed.sourceIds)
      .execute();
  }
}

/**
 * Deletes the agreement's links of a record of a former source: no pass links them any more, and
 * formPeople passes over them. An officer's decision on one of their candidates stays in
 * `link_decision`, should the party supply the dataset again. Two statements, each a seek on
 * `record_link_sources` (agreement, source_a, source_b), where one `or` read every link of the
 * agreement at every pass while the former source's records are held.
 */
async function dropLinksOfFormerSources(
  trx: Kysely<Database>,
  agreementId: string,
  all: readonly StoreSource[],
  former: readonly StoreSource[],
): Promise<void> {
  if (former.length === 0) return;
  const formerIds = former.map((s) => s.id);
  const links = trx.deleteFrom('record_link').where('agreement_id', '=', agreementId);
  await links.where('source_a', 'in', formerIds).execute();
  await links
    .where(
      'source_a',
      'in',
      all.map((s) => s.id),
    )
    .where('source_b', 'in', formerIds)
    .execute();
}

/** What a pass counts of the probabilistic tier's pairs (see {@link LinkRunSummary}). */
interface TierCounts {
  candidates: number;
  candidatesConfirmedEarlier: number;
  candidatesRejectedEarlier: number;
  confirmedNotProposed: number;
  candidatesConfirmedElsewhere: number;
}

async function relinkSourcePairs(
  trx: Kysely<Database>,
  deps: LinkDependencies,
  rules: LinkingRules,
  decisions: LinkDecisions,
  sources: readonly StoreSource[],
  pairs: readonly [number, number][],
  runId: string,
  at: string,
  written: PassLinks,
) {
  const linksByTier: Record<string, number> = {};
  const counts: TierCounts = {
    candidates: 0,
    candidatesConfirmedEarlier: 0,
    candidatesRejectedEarlier: 0,
    confirmedNotProposed: 0,
    candidatesConfirmedElsewhere: 0,
  };

  for (const [a, b] of pairs) {
    const left = sources[a]!;
    const right = sources[b]!;
    const result = linkBatches(left.batch, right.batch, {
      deterministic: { ruleTiers: rules.ruleTiers },
      probabilistic: rules.probabilisticTier === null ? false : (deps.probabilistic ?? {}),
      // A record whose best candidate an officer rejected has its next best proposed instead.
      rejected: decisions.hasRejections ? (i, j) => decisions.rejected(a, i, b, j) : undefined,
    });
    const fresh: NewLink[] = [];
    const base = { agreement_id: rules.agreementId, source_a: left.id, source_b: right.id, last_run_id: runId };
    const d = result.deterministic;
    const ruleLinked = new Set<string>();
    for (let k = 0; k < d.count; k++) {
      const i = d.left[k]!;
      const j = d.right[k]!;
      const tier = d.tier[k]!;
      linksByTier[tier] = (linksByTier[tier] ?? 0) + 1;
      ruleLinked.add(`${i},${j}`);
      fresh.push({
        ...base,
        record_a: left.batch.recordId[i]!,
        record_b: right.batch.recordId[j]!,
        tier,
        rule: d.rules[d.ruleIndex[k]!]!.rule,
        score: null,
        status: 'auto',
        pair_key: null,
        identity_key: null,
      });
    }
    const tier = rules.probabilisticTier;
    if (tier !== null) {
      const c = result.candidates;
      const proposed: ProposedPair[] = [];
      for (let k = 0; k < (c?.count ?? 0); k++) {
        proposed.push({ i: c!.left[k]!, j: c!.right[k]!, score: Math.round(c!.probability[k]! * 1e6) / 1e6 });
      }
      const decided = await decideTierPairs(trx, decisions, sources, a, b, proposed, ruleLinked, counts);
      // A rejected pair's decision keeps it apart (formPeople), and it is not asked again; its link
      // stays, rejected and never active, as a review pass leaves it (redecideSourcePair), for the
      // officer who decides it again: dropped, a second officer's decision on it was 404 'no such
      // candidate' rather than 409 'already decided' (found by a defect hunt).
      for (const pair of decided) fresh.push(tierLink(base, left, right, tier, pair));
    }
    await replaceLinks(trx, deps.store.dialect.engine, rules.agreementId, left.id, right.id, fresh, runId, at);
    written.set(left.id, right.id, fresh);
  }
  return { linksByTier, ...counts };
}

/** A pair the probabilistic tier proposes: record i of the left source, j of the right, and its rounded probability. */
interface ProposedPair {
  readonly i: number;
  readonly j: number;
  readonly score: number;
}

/** A pair of the probabilistic tier with the decision that holds for it; score null where not proposed. */
interface DecidedPair {
  readonly i: number;
  readonly j: number;
  readonly score: number | null;
  readonly status: 'candidate' | 'confirmed' | 'rejected';
  readonly keys: Pick<PairDecision, 'pairKey' | 'identityKey'>;
}

function tierLink(
  base: Pick<NewLink, 'agreement_id' | 'source_a' | 'source_b' | 'last_run_id'>,
  left: StoreSource,
  right: StoreSource,
  tier: number,
  pair: DecidedPair,
): NewLink {
  return {
    ...base,
    record_a: left.batch.recordId[pair.i]!,
    record_b: right.batch.recordId[pair.j]!,
    tier,
    rule: 'fellegi-sunter',
    score: pair.score,
    status: pair.status,
    pair_key: pair.keys.pairKey,
    identity_key: pair.keys.identityKey,
  };
}

/**
 * The probabilistic tier's pairs of sources a and b as officers' decisions leave them: each pair
 * the tier proposes (a candidate, or confirmed or rejected as decided), then each pair a
 * confirmation holds for that the tier did not propose and no rule links.
 */
async function decideTierPairs(
  trx: Kysely<Database>,
  decisions: LinkDecisions,
  sources: readonly StoreSource[],
  a: number,
  b: number,
  proposed: readonly ProposedPair[],
  ruleLinked: ReadonlySet<string>,
  counts: TierCounts,
): Promise<DecidedPair[]> {
  const left = sources[a]!.batch;
  const right = sources[b]!.batch;
  const decided: DecidedPair[] = [];
  for (const { i, j, score } of proposed) {
    // Two NI numbers are never joined by a confirmation (cluster.ts), which the officer, shown
    // no NI number, could not know: such a pair is not asked about.
    if (identifiersDiffer(left.niHash[i] ?? '', right.niHash[j] ?? '')) continue;
    // Found under the pair's own key, an earlier release's, or (a confirmation) its identity key.
    const found = await decisions.find(trx, a, i, b, j);
    if (found.decision === 'rejected') {
      counts.candidatesRejectedEarlier++;
      decided.push({ i, j, score, status: 'rejected', keys: found });
      continue;
    }
    const confirmed = found.decision === 'confirmed';
    if (confirmed) counts.candidatesConfirmedEarlier++;
    else counts.candidates++;
    if (!confirmed && decisions.isConfirmedElsewhere(a, i, b, j)) counts.candidatesConfirmedElsewhere++;
    decided.push({ i, j, score, status: confirmed ? 'confirmed' : 'candidate', keys: found });
  }
  // What the officer confirmed holds while its two records are held, proposed or not: a record
  // that moved house may score the pair below the review threshold (link-decisions.ts). With
  // the checks a candidate gets: no pair of two NHS numbers, UPNs, system ids or NI numbers,
  // nor one whose identifiers cannot be compared, and none a rule already links.
  const linked = new Set(ruleLinked);
  for (const { i, j } of proposed) linked.add(`${i},${j}`);
  for (const [i, j] of decisions.confirmedPairs(a, b)) {
    if (linked.has(`${i},${j}`)) continue;
    if (hardIdentifierConflict(left, i, right, j) !== null || weakLinkConflict(left, i, right, j) !== null) continue;
    const found = await decisions.find(trx, a, i, b, j);
    if (found.decision !== 'confirmed') continue;
    counts.confirmedNotProposed++;
    linked.add(`${i},${j}`);
    // Not scored as a candidate this pass: held by the officer's word alone.
    decided.push({ i, j, score: null, status: 'confirmed', keys: found });
  }
  // What an officer of another agreement confirmed, when it held these datasets, is put to this
  // agreement's reviewers, proposed or not: their two people are split meanwhile, and without a
  // candidate no one of this agreement would be asked (link-decisions.ts). It keeps the score that
  // officer was shown: a candidate without one is passed over by the queue's pages.
  for (const { i, j, score } of decisions.confirmedElsewhere(a, b)) {
    if (linked.has(`${i},${j}`)) continue;
    if (identifiersDiffer(left.niHash[i] ?? '', right.niHash[j] ?? '')) continue;
    if (hardIdentifierConflict(left, i, right, j) !== null || weakLinkConflict(left, i, right, j) !== null) continue;
    const found = await decisions.find(trx, a, i, b, j);
    if (found.decision !== undefined) continue;
    linked.add(`${i},${j}`);
    counts.candidates++;
    counts.candidatesConfirmedElsewhere++;
    decided.push({ i, j, score: score ?? 0, status: 'candidate', keys: found });
  }
  return decided;
}

/**
 * Whether an officer has decided since the agreement's last pass began. Decisions change only by
 * an officer's word, which a review pass follows; should that pass fail, the decision stands
 * (link-review-api.ts), and the agreement's next pass, whatever its kind, decides the tier's links
 * again as the review pass would have. A decision made before decisions kept their agreement
 * (0025) counts for every agreement.
 */
async function decidedSinceLastPass(trx: Kysely<Database>, agreementId: string): Promise<boolean> {
  const decided = await trx
    .selectFrom('link_decision')
    .select((eb) => eb.fn.max('decided_at').as('at'))
    .where((eb) => eb.or([eb('agreement_id', '=', agreementId), eb('agreement_id', 'is', null)]))
    .executeTakeFirst();
  if (decided?.at == null) return false;
  const passed = await lastPassStartQuery(trx, agreementId).executeTakeFirst();
  return passed?.at == null || decided.at >= passed.at;
}

/**
 * What of the agreement's files a pass links under (`link_run.agreement_sources`, migration
 * 0043): its version, each dataset's sources, and the rules its matching section makes
 * (linking-rules.ts: each engine rule's tier, the probabilistic tier), hashed in a fixed order to
 * compare. The timer links an agreement whose last pass noted another (pending-links.ts): a
 * re-signing that changed which parties supply a dataset, moved one in or out, or changed the
 * matching, changes people only at a pass. Without the rules, a change of matching alone (the
 * version left as it was) ran no pass, and people stayed joined by the old rules until a relink
 * (found by a review). What a field's key names beyond its rule (a name prefix) is not hashed:
 * the engine's rule is the same.
 */
export function agreementSourcesOf(agreement: Agreement): string {
  const datasets = agreement.datasets
    .map(({ id, sources }) => [id, [...sources].sort()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const { ruleTiers, probabilisticTier } = linkingRulesOf(agreement);
  const rules = [...ruleTiers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify({ version: agreement.version, datasets, rules, probabilisticTier }))
    .digest('hex');
}

/**
 * Whether the agreement's last pass linked under other agreement files than this pass
 * ({@link agreementSourcesOf}; one before migration 0043 noted none). Such a pass links every pair
 * of sources again, whatever its kind: a pair it left alone kept the links the old matching made,
 * and people were formed from them, so a re-signing that changed the matching alone split and
 * joined no one at the timer's pass; and an import's pass that came first noted the new files, so
 * no later pass ever linked the pairs it left (found by a review). An agreement no pass has linked
 * has every record unlinked anyway. Nor does a pass on files older than the last pass's
 * ({@link lastPassIsNewer}: a host left on the old files during a deployment), or on files other
 * than those a later-started host left the store remembering under the same version
 * (otherFilesRemembered: a file changed without its version bumped), which links only what its
 * kind would: the newer host's next pass links every pair again under its own.
 */
async function linkedUnderOtherFiles(
  trx: Kysely<Database>,
  dialect: Dialect,
  agreement: Agreement,
  agreementSources: string,
): Promise<boolean> {
  const last = await lastPassSourcesQuery(trx, dialect, agreement.id).executeTakeFirst();
  if (last === undefined || last.agreement_sources === agreementSources || lastPassIsNewer(agreement, last))
    return false;
  return (await otherFilesRemembered(trx, agreement)) === undefined;
}

/**
 * Whether the agreement's last pass linked under a newer version of its file than `agreement`
 * (compareAgreementVersions): a host left on the old files while the new are deployed beside it.
 * Not where either version reads as no order, or the last pass noted none (before migration 0045).
 */
export function lastPassIsNewer(agreement: Agreement, last: { agreement_version: string | null }): boolean {
  if (last.agreement_version === null) return false;
  return (compareAgreementVersions(agreement.version, last.agreement_version) ?? 0) < 0;
}

/**
 * The sources the agreement's last pass linked under (`link_run.agreement_sources`, migration
 * 0043): one seek on `link_run_agreement` (migration 0029), and the row it finds. Every pass's
 * row is written in its transaction, so the last is a pass that committed.
 */
export function lastPassSourcesQuery(db: Kysely<Database>, dialect: Dialect, agreementId: string) {
  return dialect.firstRows(
    db
      .selectFrom('link_run')
      .select(['agreement_sources', 'agreement_version'])
      .where('agreement_id', '=', agreementId)
      .orderBy('started_at', 'desc'),
    1,
  );
}

/** When the agreement's last pass began: one seek on `link_run_agreement` (migration 0029). */
export function lastPassStartQuery(db: Kysely<Database>, agreementId: string) {
  return db
    .selectFrom('link_run')
    .select((eb) => eb.fn.max('started_at').as('at'))
    .where('agreement_id', '=', agreementId);
}

/** {@link redecideSourcePair} for every pair of sources the pass does not link again. */
async function redecideSourcePairs(
  trx: Kysely<Database>,
  deps: LinkDependencies,
  rules: LinkingRules,
  decisions: LinkDecisions,
  sources: readonly StoreSource[],
  relinked: readonly [number, number][],
  runId: string,
  at: string,
  counts: TierCounts,
  written: PassLinks,
): Promise<void> {
  if (!decisions.any) return;
  const done = new Set(relinked.map(([a, b]) => `${a},${b}`));
  for (let a = 0; a < sources.length; a++) {
    for (let b = a + 1; b < sources.length; b++) {
      if (done.has(`${a},${b}`)) continue;
      await redecideSourcePair(
        trx,
        deps.store.dialect.engine,
        rules,
        decisions,
        sources,
        a,
        b,
        runId,
        at,
        counts,
        written,
      );
    }
  }
}

/**
 * For a review pass, the probabilistic links of a pair of sources it does not link again, as a
 * full pass would make them: the officer's decision is kept under the pair's key, which other
 * pairs of the same values share (two rows of one source alike but for an identifier), and the
 * next pass links those as the decision says — whether or not the tier proposes them (found by
 * the linkage property test: a confirmation that joined two people only at the next full pass,
 * after the review pass had answered with them apart). Neither source has changed since these
 * links were made, so the pairs the tier proposes are the ones stored with a score; each is
 * decided again, and the pairs held by a confirmation alone are found again. Only what differs
 * is written; a rejected candidate stays, rejected, for the officer who decides it again.
 */
async function redecideSourcePair(
  trx: Kysely<Database>,
  engine: Engine,
  rules: LinkingRules,
  decisions: LinkDecisions,
  sources: readonly StoreSource[],
  a: number,
  b: number,
  runId: string,
  at: string,
  counts: TierCounts,
  written: PassLinks,
): Promise<void> {
  const tier = rules.probabilisticTier;
  if (tier === null) return;
  const left = sources[a]!;
  const right = sources[b]!;
  const leftAt = indexOf(left.batch.recordId);
  const rightAt = indexOf(right.batch.recordId);
  const stored = await trx
    .selectFrom('record_link')
    .select(['id', 'record_a', 'record_b', 'tier', 'rule', 'status', 'score'])
    .where('agreement_id', '=', rules.agreementId)
    .where('source_a', '=', left.id)
    .where('source_b', '=', right.id)
    .execute();
  const proposed: ProposedPair[] = [];
  const ruleLinked = new Set<string>();
  const byPair = new Map<string, (typeof stored)[number]>();
  for (const row of stored) {
    const i = leftAt.get(row.record_a);
    const j = rightAt.get(row.record_b);
    if (i === undefined || j === undefined) continue;
    byPair.set(`${i},${j}`, row);
    if (row.status === 'auto') ruleLinked.add(`${i},${j}`);
    else if (row.tier === tier && row.score !== null) proposed.push({ i, j, score: row.score });
  }
  const decided = await decideTierPairs(trx, decisions, sources, a, b, proposed, ruleLinked, counts);
  const kept = new Set<string>();
  const base = { agreement_id: rules.agreementId, source_a: left.id, source_b: right.id, last_run_id: runId };
  const added: RecordLinkTable[] = [];
  const statusNow = new Map<string, RecordLinkTable['status']>();
  for (const pair of decided) {
    const key = `${pair.i},${pair.j}`;
    kept.add(key);
    const row = byPair.get(key);
    if (row === undefined) {
      added.push({ ...tierLink(base, left, right, tier, pair), id: randomUUID(), first_run_id: runId, created_at: at });
    } else if (row.status !== pair.status) {
      statusNow.set(row.id, pair.status);
      await trx
        .updateTable('record_link')
        .set({
          status: pair.status,
          last_run_id: runId,
          pair_key: pair.keys.pairKey,
          identity_key: pair.keys.identityKey,
        })
        .where('id', '=', row.id)
        .execute();
    }
  }
  // A link held by a confirmation alone that no longer holds (a rejection since has ended it).
  const ended = stored
    .filter((row) => row.tier === tier && row.status !== 'auto' && row.score === null)
    .filter((row) => !kept.has(`${leftAt.get(row.record_a)},${rightAt.get(row.record_b)}`))
    .map((row) => row.id);
  await inSlices(engine, ended, (slice) => trx.deleteFrom('record_link').where('id', 'in', slice).execute());
  await insertLinks(trx, engine, added);
  const gone = new Set(ended);
  written.set(left.id, right.id, [
    ...stored
      .filter((row) => !gone.has(row.id))
      .map((row) => ({ ...row, status: statusNow.get(row.id) ?? row.status })),
    ...added,
  ]);
}

function indexOf(ids: readonly string[]): Map<string, number> {
  const at = new Map<string, number>();
  ids.forEach((id, n) => at.set(id, n));
  return at;
}

/** A link as people are formed from it. */
type FormingLink = Pick<RecordLinkTable, 'record_a' | 'record_b' | 'tier' | 'rule' | 'status' | 'score'>;

/** The links people are formed from: rule links, and tier links an officer confirmed. */
const ACTIVE_LINK_STATUSES = ['auto', 'confirmed'] as const satisfies readonly RecordLinkTable['status'][];

/**
 * Each pair of sources' links as this pass left them in its transaction: written whole
 * (replaceLinks) or read and decided again (redecideSourcePair). Once it holds every pair of the
 * agreement's sources — a full pass, or a review pass of an agreement with a tier to decide —
 * people are formed from it, not from the agreement's links read again: the same rows with only
 * the pass's own changes since, which a review pass of a large agreement read twice (found by
 * counting its statements). A pass that leaves some pair's links alone (an incremental pass) still
 * reads them; a link of a source no longer held is in neither, and formPeople passes over it anyway.
 */
class PassLinks {
  private readonly byPair = new Map<string, readonly FormingLink[]>();

  set(sourceA: string, sourceB: string, links: readonly FormingLink[]): void {
    this.byPair.set(`${sourceA}\u0000${sourceB}`, links);
  }

  /** The active links of every pair of `sources`, or undefined when the pass holds some pair's links not. */
  active(sources: readonly StoreSource[]): FormingLink[] | undefined {
    const active: FormingLink[] = [];
    const statuses: ReadonlySet<string> = new Set(ACTIVE_LINK_STATUSES);
    for (let a = 0; a < sources.length; a++) {
      for (let b = a + 1; b < sources.length; b++) {
        const links = this.byPair.get(`${sources[a]!.id}\u0000${sources[b]!.id}`);
        if (links === undefined) return undefined;
        for (const link of links) if (statuses.has(link.status)) active.push(link);
      }
    }
    return active;
  }
}

/** Replaces one source pair's links; a link made again keeps its id and the run that first made it. */
async function replaceLinks(
  trx: Kysely<Database>,
  engine: Engine,
  agreementId: string,
  sourceA: string,
  sourceB: string,
  fresh: readonly NewLink[],
  runId: string,
  at: string,
): Promise<void> {
  const scope = trx
    .selectFrom('record_link')
    .where('agreement_id', '=', agreementId)
    .where('source_a', '=', sourceA)
    .where('source_b', '=', sourceB);
  const earlier = new Map<string, { id: string; first_run_id: string; created_at: string }>();
  for (const row of await scope.select(['id', 'record_a', 'record_b', 'first_run_id', 'created_at']).execute()) {
    earlier.set(`${row.record_a}\u0000${row.record_b}`, row);
  }
  await trx
    .deleteFrom('record_link')
    .where('agreement_id', '=', agreementId)
    .where('source_a', '=', sourceA)
    .where('source_b', '=', sourceB)
    .execute();
  const rows: RecordLinkTable[] = fresh.map((link) => {
    const before = earlier.get(`${link.record_a}\u0000${link.record_b}`);
    return {
      ...link,
      id: before?.id ?? randomUUID(),
      first_run_id: before?.first_run_id ?? runId,
      created_at: before?.created_at ?? at,
    };
  });
  await insertLinks(trx, engine, rows);
}

async function insertLinks(trx: Kysely<Database>, engine: Engine, rows: readonly RecordLinkTable[]): Promise<void> {
  const insert = new BatchedInsert(engine, 'record_link', LINK_COLUMNS);
  for (const row of rows) {
    insert.push(LINK_COLUMNS.map((column) => row[column]));
    if (insert.full) await insert.flush(trx, false);
  }
  await insert.flush(trx, true);
}

async function formPeople(
  trx: Kysely<Database>,
  engine: Engine,
  agreementId: string,
  sources: readonly StoreSource[],
  former: readonly StoreSource[],
  decisions: LinkDecisions,
  runId: string,
  now: () => Date,
  written: readonly FormingLink[] | undefined,
) {
  const node = new Map<string, [number, number]>();
  sources.forEach((s, b) => s.batch.recordId.forEach((id, i) => node.set(id, [b, i])));
  const links =
    written ??
    (await trx
      .selectFrom('record_link')
      .select(['record_a', 'record_b', 'tier', 'rule', 'status', 'score'])
      .where('agreement_id', '=', agreementId)
      .where('status', 'in', ACTIVE_LINK_STATUSES)
      .execute());
  // Most reliable first, so that where two links cannot both hold, the weaker one is refused;
  // then by the two records' contents, so that neither the rows' order in the table nor the
  // record ids — new, and rising, with every snapshot a source sends — decide who is merged:
  // the same extracts sent again give the same people.
  const contentOf = (id: string) => {
    const at = node.get(id);
    if (at === undefined) return id;
    const batch = sources[at[0]]!.batch;
    const i = at[1];
    return [
      batch.sourceId,
      batch.familyName[i],
      batch.givenName[i],
      batch.dob[i],
      batch.postcode[i],
      batch.address[i],
    ].join('\u0000');
  };
  const keyed = links.map((link) => ({ link, a: contentOf(link.record_a), b: contentOf(link.record_b) }));
  keyed.sort(
    (x, y) =>
      x.link.tier - y.link.tier ||
      (y.link.score ?? 1) - (x.link.score ?? 1) ||
      compareIds(x.a, y.a) ||
      compareIds(x.b, y.b) ||
      compareIds(x.link.record_a, y.link.record_a) ||
      compareIds(x.link.record_b, y.link.record_b),
  );
  const batches = sources.map((s) => s.batch);
  const clusterLinks: ClusterLink[] = [];
  for (const { link } of keyed) {
    const a = node.get(link.record_a);
    const b = node.get(link.record_b);
    if (a === undefined || b === undefined) continue;
    // A confirmation not kept under the identity key (made before confirmations were kept so, or
    // while a namesake was in a source) is copied there once each record is alone with its names
    // and date of birth, while its records still hold the values it was made on (link-decisions.ts).
    if (link.status === 'confirmed') await decisions.find(trx, a[0], a[1], b[0], b[1]);
    const weak = link.status !== 'confirmed' && !isIdentifierRule(link.rule);
    clusterLinks.push({
      batchA: a[0],
      recordA: a[1],
      batchB: b[0],
      recordB: b[1],
      tier: link.tier,
      weak,
      confirmed: link.status === 'confirmed',
    });
  }
  // A pair an officer rejected is never one person, whatever other links join its two records
  // (a third record sharing an NHS number with one and names with the other): the pairs the
  // links put together are kept apart, and people formed again, until none is left together.
  // Each round keeps more pairs apart, so this ends; rarely is there a second.
  const apart: [number, number, number, number][] = [];
  let clusters: PersonClusters;
  for (;;) {
    clusters = new PersonClusters(batches);
    for (const [batchA, recordA, batchB, recordB] of apart) clusters.cannotLink(batchA, recordA, batchB, recordB);
    clusters.mergeTiers(clusterLinks);
    const together = rejectedPairsTogether(clusters, batches, decisions);
    if (together.length === 0) break;
    apart.push(...together);
  }
  const refusedMerges: Partial<Record<MergeRefusal, number>> = {};
  for (const refusal of clusters.refused) refusedMerges[refusal.reason] = (refusedMerges[refusal.reason] ?? 0) + 1;

  // A record's previous id is the one it holds or, not yet linked, the one its import carried
  // from its predecessor (store-sources.ts): a person whose records were all re-sent keeps it.
  const previous = sources.flatMap((s) => s.personIds);
  const assigned = assignPersonIds(clusters.assignments(), previous);
  const people = new Set(assigned).size;
  assigned.push(...formerSourcesPersonIds(former, new Set(assigned)));
  previous.push(...former.flatMap((s) => s.personIds));
  const all = [...sources, ...former];
  const stored = all.flatMap((s) => s.storedPersonIds);
  const recordIds = all.flatMap((s) => s.batch.recordId);
  // Written: every record whose stored id differs, including a carried id kept as it was.
  const changed: number[] = [];
  for (let n = 0; n < assigned.length; n++) if (assigned[n] !== stored[n]) changed.push(n);
  // Before the new ids are written: see carry-consents.ts on why the order matters on SQL Server.
  // A carried id the pass does not keep is a move like any other, so its events follow.
  const since = all.flatMap((s) => s.personSince);
  const moves: HeldPersonIdMove[] = [];
  const seen = new Map<string, HeldPersonIdMove>();
  const moved: number[] = [];
  for (const n of changed) {
    const from = previous[n];
    if (from === null || from === undefined || from === assigned[n]) continue;
    moved.push(n);
    const held = since[n] ?? null;
    const key = `${from}\u0000${assigned[n]!}`;
    const known = seen.get(key);
    if (known === undefined) {
      const move = { from, to: assigned[n]!, heldSince: held };
      seen.set(key, move);
      moves.push(move);
    } else if (known.heldSince !== null && (held === null || held < known.heldSince)) {
      // The records moved together held the id from the earliest of their times.
      known.heldSince = held;
    }
  }
  const consents = await carryConsentEvents(trx, engine, moves, new Set(assigned), now().toISOString());
  for (let k = 0; k < changed.length; k += UPDATE_ROWS) {
    const chunk = changed.slice(k, k + UPDATE_ROWS);
    const params: string[] = [];
    for (const n of chunk) params.push(recordIds[n]!, assigned[n]!);
    for (const n of chunk) params.push(recordIds[n]!);
    await trx.executeQuery(CompiledQuery.raw(personIdUpdateSql(engine, chunk.length), params));
  }
  // Stamped once the ids are written, as near the commit as the pass can: lookups read the
  // committed store until then and log the earlier id, and a subject access request follows
  // that id up to the commit, noted just after it (recordCommitTime), or this time where that
  // was lost (person-id-history.ts).
  const movedAt = now().toISOString();
  // The same time as the moves: a subject access request starts the records' window in their
  // new id here (person-id-history.ts).
  await inSlices(
    engine,
    moved.map((n) => recordIds[n]!),
    (slice) => trx.updateTable('source_record').set({ person_since: movedAt }).where('id', 'in', slice).execute(),
  );
  await recordPersonIdMoves(trx, engine, moves, movedAt, runId);
  const personIdsChanged = changed.length;
  return {
    refusedMerges,
    people,
    personIdsChanged,
    consentEventsCarried: consents.carried,
    consentsDetached: consents.detached,
  };
}

/**
 * The person ids of a former source's records (see linkPeople): each record alone, keeping the id
 * it holds unless a person of the current sources has it (it is then moved, as in a split, and
 * the part of the current sources keeps the id however few records it has) or another such
 * record keeps it. Not left as they were: a record the former source's link had joined to a
 * current source's went on sharing that person's id, and its retention and subject access
 * requests with it; nor left without one, which would have the agreement wait for a pass for ever
 * (pending-links.ts: every five minutes, and retention meanwhile).
 */
function formerSourcesPersonIds(former: readonly StoreSource[], taken: ReadonlySet<string>): string[] {
  const previous = former.flatMap((s) => s.personIds).map((id) => (id !== null && taken.has(id) ? null : id));
  const alone = Int32Array.from(previous, (_, n) => n);
  return assignPersonIds(alone, previous);
}

/**
 * Pairs of records of two sources that `clusters` put in one person although the decision that
 * holds for them is a rejection, in node order. Only records that share a person are looked at:
 * a few keyed hashes a person. Two records that hold one identifier value themselves are left
 * together: a rejection is made on names, dates and addresses (the pair key leaves identifiers
 * out: pair-key.ts), and an NHS number, UPN, NI number or system id both records carry says
 * more, as it always has (they are linked at tier 1 whatever was decided).
 */
function rejectedPairsTogether(
  clusters: PersonClusters,
  batches: readonly RecordBatch[],
  decisions: LinkDecisions,
): [number, number, number, number][] {
  if (!decisions.hasRejections) return [];
  const assigned = clusters.assignments();
  const size = new Int32Array(assigned.length);
  for (const root of assigned) size[root]!++;
  const members = new Map<number, [batch: number, record: number][]>();
  let n = 0;
  batches.forEach((batch, b) => {
    for (let i = 0; i < batch.size; i++, n++) {
      const root = assigned[n]!;
      if (size[root]! < 2) continue;
      const list = members.get(root);
      if (list === undefined) members.set(root, [[b, i]]);
      else list.push([b, i]);
    }
  });
  const together: [number, number, number, number][] = [];
  for (const records of members.values()) {
    for (let x = 0; x < records.length; x++) {
      const [bx, ix] = records[x]!;
      for (let y = x + 1; y < records.length; y++) {
        const [by, iy] = records[y]!;
        if (bx === by || shareIdentifier(batches[bx]!, ix, batches[by]!, iy)) continue;
        if (decisions.rejected(bx, ix, by, iy)) together.push([bx, ix, by, iy]);
      }
    }
  }
  return together;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Rows a person-id update statement: three parameters each, within SQL Server's 2,100. */
const UPDATE_ROWS = 500;

/**
 * One statement for many records' person ids. A first pass writes an id to every record, so
 * one statement a record would cost a round trip each; `case` keeps it to one per 500.
 */
function personIdUpdateSql(engine: Engine, rows: number): string {
  let n = 0;
  const p = engine === 'mssql' ? () => `@${++n}` : () => '?';
  let whens = '';
  for (let r = 0; r < rows; r++) whens += ` when ${p()} then ${p()}`;
  const ids: string[] = [];
  for (let r = 0; r < rows; r++) ids.push(p());
  // The carried id has done its work once the record holds a person id of its own.
  return `update source_record set person_id = case id${whens} end, carried_person_id = null where id in (${ids.join(',')})`;
}

function flatten(summary: LinkRunSummary): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(summary)) {
    if (typeof value === 'object' && value !== null) {
      for (const [inner, n] of Object.entries(value as Record<string, number>)) out[`${key}.${inner}`] = n;
    } else out[key] = value as string | number;
  }
  return out;
}
