import type { ExpressionBuilder, Kysely } from 'kysely';
import { confirmationRefusal, type ClusterIdentifiers, type MergeRefusal } from '../matching/cluster.js';
import { otherKeyValue } from '../matching/hard-identifiers.js';
import { toRecordBatch } from '../matching/record.js';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { linkPeople, type LinkDependencies } from './link-people.js';
import { orderedPrints, PairKeys, personRefKeyOf } from './pair-key.js';
import { sourceIdOf } from './store-sources.js';
import { withAttributes } from '../store/record-attributes.js';

/**
 * The officer's side of tier 5: candidates wait here, are shown only with the fields the
 * agreement grants reviewers, and become links only when confirmed. A decision is kept under
 * the pair's key (pair-key.ts), so a rejected pair is never proposed again for the same
 * values, and a confirmation under the pair's identity key too, so a confirmed pair stays
 * confirmed when one of its records moves house (a later rejection ends it there), proposed again
 * or not (link-decisions.ts). It re-forms people at once: a confirmed link
 * joins the two people, a rejected one keeps them apart, however else their records are linked
 * (link-people.ts). A pair whose two people a confirmation would not join (their identifiers
 * conflict: {@link peopleRefusals}) is neither listed, shown nor confirmed.
 */

export interface CandidateSummary {
  readonly candidateId: string;
  readonly tier: number;
  readonly score: number | null;
  readonly records: readonly { readonly dataset: string; readonly source: string }[];
}

export interface CandidateRecord {
  readonly dataset: string;
  readonly source: string;
  readonly asOf: string;
  readonly personId: string | null;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface Candidate extends CandidateSummary {
  readonly agreementId: string;
  readonly status: 'candidate' | 'confirmed' | 'rejected' | 'auto';
  readonly pairKey: string | null;
  /**
   * Where a confirmation is kept as well, if each record is alone in its source with its names
   * and date of birth when decided, and whose confirmation a rejection ends: see pair-key.ts and
   * link-decisions.ts. Null on candidates made before it was, and where a record has no date of
   * birth or family name.
   */
  readonly identityKey: string | null;
  readonly recordsInFull: readonly [CandidateRecord, CandidateRecord];
}

export interface CandidatePage {
  readonly candidates: readonly CandidateSummary[];
  /**
   * Pass as `after` for the next page; null at the end. It may name a candidate the caller may
   * not review ({@link listCandidates}): the API seals it before a caller sees it.
   */
  readonly next: string | null;
}

function sourceParts(source: string): { dataset: string; source: string } {
  const slash = source.indexOf('/');
  return { source: source.slice(0, slash), dataset: source.slice(slash + 1) };
}

/**
 * The position after a candidate in the queue's order: its score, exactly (a score rounded here
 * would make the next page start before or after it: the same page again for ever, or candidates
 * skipped; found by a review), and its id.
 */
function cursorOf(score: number | null, id: string): string {
  return `${String(score ?? 0)}_${id}`;
}

function parseCursor(cursor: string): { score: number; id: string } | undefined {
  const match = /^(\d(?:\.\d{1,20})?(?:e-\d{1,3})?)_([0-9a-f-]{36})$/.exec(cursor);
  const score = Number(match?.[1]);
  return match && Number.isFinite(score) && score <= 1 ? { score, id: match[2]! } : undefined;
}

export function isCandidateCursor(cursor: string): boolean {
  return parseCursor(cursor) !== undefined;
}

/**
 * A candidate as its scope is judged: the people its two records belong to (a record not yet
 * linked names none), and each record's dataset and source.
 */
export interface CandidatePair {
  readonly people: readonly string[];
  readonly records: readonly { readonly dataset: string; readonly source: string }[];
}

/**
 * For each candidate, whether the caller may review it beyond the datasets its decision covers:
 * the joint system's scope (shared/people/joint-system-scope.ts), a grant for the caller's own
 * subjects (shared/people/callers-subjects.ts).
 */
export type CandidateScope = (pairs: readonly CandidatePair[]) => Promise<readonly boolean[]>;

/**
 * Rows a page reads from the queue at a time, and at most per page: a page is filtered by
 * dataset and scope after it is read, so it reads on until it holds `limit` candidates the
 * caller may review, or the queue ends. Each read asks for at most twice this many records
 * (well under SQL Server's 2,100 parameters). The bound keeps one call's work fixed however many
 * candidates lie outside the caller's scope: a page that reaches it may be short, and its
 * `next` says more remain. Pairs of a former source's record are left out by the read itself
 * (`currentSources`), not after it: until the next pass drops them they can be thousands, and
 * counted towards the bound they left a page short, or empty, with a `next` (found by a review).
 */
const SCAN_BATCH = 500;
const MAX_SCANNED = 5_000;

/**
 * Open candidates of an agreement the caller may review, most probable first (then by id, so
 * the order is stable); `after` is the `next` of the previous page. A page holds up to `limit`
 * of them, and `next` is null exactly when none remains after it (unless the page stopped at
 * the bound above, having read MAX_SCANNED others it may not review: then `next` goes on from
 * the last of them). Filtered after the SQL limit, a page had been empty or short with a
 * `next`, and the last page had a `next` to an empty one (found by a review).
 *
 * `currentSources`: the parties that supply a dataset now (AgreementSet.isSource); a pair with a
 * record of any other party is not read at all.
 */
export async function listCandidates(
  store: Store,
  agreementId: string,
  datasets: readonly string[],
  page: { limit: number; after?: string | undefined },
  inScope?: CandidateScope,
  currentSources?: (datasetId: string) => readonly string[],
): Promise<CandidatePage> {
  const sources =
    currentSources === undefined
      ? undefined
      : datasets.flatMap((dataset) => currentSources(dataset).map((party) => sourceIdOf(party, dataset)));
  if (datasets.length === 0 || sources?.length === 0) return { candidates: [], next: null };
  const allowed = new Set(datasets);
  let after = page.after === undefined ? undefined : parseCursor(page.after);
  const candidates: CandidateSummary[] = [];
  let scanned = 0;
  for (;;) {
    const rows = await openCandidateRows(store, agreementId, sources, after, SCAN_BATCH + 1);
    const batch = rows.slice(0, SCAN_BATCH);
    const visible = await reviewable(store, batch, allowed, inScope);
    const refused = await peopleRefusals(store.db, batch);
    for (const [i, row] of batch.entries()) {
      if (!visible[i] || refused[i] !== null) continue;
      const last = candidates[candidates.length - 1];
      // One more the caller may review: the page is full, and the next begins after its last.
      if (candidates.length === page.limit && last !== undefined)
        return { candidates, next: cursorOf(last.score, last.candidateId) };
      candidates.push({
        candidateId: row.id,
        tier: row.tier,
        score: row.score,
        records: [sourceParts(row.source_a), sourceParts(row.source_b)],
      });
    }
    const last = batch[batch.length - 1];
    if (rows.length <= SCAN_BATCH || last === undefined) return { candidates, next: null };
    scanned += batch.length;
    after = { score: last.score ?? 0, id: last.id };
    if (scanned >= MAX_SCANNED) return { candidates, next: cursorOf(last.score, last.id) };
  }
}

async function openCandidateRows(
  store: Store,
  agreementId: string,
  sources: readonly string[] | undefined,
  after: { score: number; id: string } | undefined,
  limit: number,
) {
  let query = store.db
    .selectFrom('record_link')
    .select(['id', 'tier', 'score', 'source_a', 'source_b', 'record_a', 'record_b'])
    .where('agreement_id', '=', agreementId)
    .where('status', '=', 'candidate')
    // Both records still there: a new snapshot replaces a source's records before its pass
    // replaces their candidates, and one that is gone cannot be shown or decided (found by a review).
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('source_record as a').select('a.id').whereRef('a.id', '=', 'record_link.record_a')),
    )
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('source_record as b').select('b.id').whereRef('b.id', '=', 'record_link.record_b')),
    );
  if (sources !== undefined) query = query.where('source_a', 'in', sources).where('source_b', 'in', sources);
  // No condition at all on the first page: SQL Server takes no `true` as a predicate.
  if (after !== undefined)
    query = query.where((eb) =>
      eb.or([eb('score', '<', after.score), eb.and([eb('score', '=', after.score), eb('id', '>', after.id)])]),
    );
  // TOP on SQL Server, which has no LIMIT.
  return store.dialect.firstRows(query.orderBy('score', 'desc').orderBy('id'), limit).execute();
}

/** For each row, whether the caller may review it: both datasets its own, and within `inScope`. */
async function reviewable(
  store: Store,
  rows: readonly { source_a: string; source_b: string; record_a: string; record_b: string }[],
  allowed: ReadonlySet<string>,
  inScope: CandidateScope | undefined,
): Promise<boolean[]> {
  const inDatasets = rows.map((row) =>
    [row.source_a, row.source_b].every((source) => allowed.has(sourceParts(source).dataset)),
  );
  if (inScope === undefined || rows.length === 0) return inDatasets;
  const recordIds = rows.flatMap((row) => [row.record_a, row.record_b]);
  const owners = await store.db
    .selectFrom('source_record')
    .select(['id', 'person_id'])
    .where('id', 'in', recordIds)
    .execute();
  const personOf = new Map(owners.map((r) => [r.id, r.person_id]));
  const within = await inScope(
    rows.map((row) => ({
      people: [personOf.get(row.record_a), personOf.get(row.record_b)].filter(
        (id): id is string => id !== null && id !== undefined,
      ),
      records: [sourceParts(row.source_a), sourceParts(row.source_b)],
    })),
  );
  return inDatasets.map((ok, i) => ok && within[i] === true);
}

/**
 * For each pair of records, why an officer's confirmation would not join their two people as the
 * pass that follows it forms them (cluster.ts confirmationRefusal), or null. A person holds the
 * identifiers of every record of its person id (a record linked to no one, its own): a third
 * record joined to one of them by names and date of birth may hold an NHS number the other's
 * differs from, and the pass then refuses the merge. Asked of the records alone, the officer was
 * shown such a pair, told `confirmed`, and the two stayed apart (found by a defect hunt). Each
 * value keeps its key version ({@link otherKeyValue}), so values under different versions are
 * neither a match nor a conflict, as in a pass.
 */
async function peopleRefusals(
  db: Kysely<Database>,
  pairs: readonly { readonly record_a: string; readonly record_b: string }[],
): Promise<(MergeRefusal | null)[]> {
  if (pairs.length === 0) return [];
  const owners = await db
    .selectFrom('source_record')
    .select(['id', 'person_id'])
    .where('id', 'in', [...new Set(pairs.flatMap((p) => [p.record_a, p.record_b]))])
    .execute();
  const people = [...new Set(owners.flatMap((r) => (r.person_id === null ? [] : [r.person_id])))];
  const unlinked = owners.filter((r) => r.person_id === null).map((r) => r.id);
  if (people.length === 0 && unlinked.length === 0) return pairs.map(() => null);
  const holderOf = (recordId: string, personId: string | null | undefined) => personId ?? `record:${recordId}`;
  const held = await db
    .selectFrom('record_identifier as ri')
    .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
    .select(['ri.record_id', 'sr.person_id', 'ri.kind', 'ri.hash', 'ri.key_version'])
    .where((eb) =>
      eb.or([
        ...(people.length === 0 ? [] : [eb('sr.person_id', 'in', people)]),
        ...(unlinked.length === 0 ? [] : [eb('ri.record_id', 'in', unlinked)]),
      ]),
    )
    .execute();
  const identifiers = new Map<string, Map<string, string[]>>();
  for (const row of held) {
    const holder = holderOf(row.record_id, row.person_id);
    // The kinds as a pass's clusters name them (cluster.ts).
    const kind = row.kind.startsWith('system-id:') ? `system:${row.kind.slice('system-id:'.length)}` : row.kind;
    const value = otherKeyValue(row.key_version, row.hash);
    const kinds = identifiers.get(holder) ?? new Map<string, string[]>();
    identifiers.set(holder, kinds);
    const values = kinds.get(kind) ?? [];
    if (!values.includes(value)) kinds.set(kind, [...values, value]);
  }
  const personOf = new Map(owners.map((r) => [r.id, r.person_id]));
  const none: ClusterIdentifiers = new Map();
  return pairs.map(({ record_a, record_b }) => {
    const a = holderOf(record_a, personOf.get(record_a));
    const b = holderOf(record_b, personOf.get(record_b));
    return a === b ? null : confirmationRefusal(identifiers.get(a) ?? none, identifiers.get(b) ?? none);
  });
}

/**
 * Why a confirmation of the candidate would not join its two people as the store holds them now
 * ({@link peopleRefusals}), or null (none, or no such candidate). An open candidate it refuses
 * is not offered for review: not listed, and not shown by its id either, which had shown the two
 * records of a pair the list withheld (found by a defect hunt).
 */
export async function candidatePeopleRefusal(db: Kysely<Database>, candidateId: string): Promise<MergeRefusal | null> {
  const link = await db
    .selectFrom('record_link')
    .select(['record_a', 'record_b'])
    .where('id', '=', candidateId)
    .executeTakeFirst();
  if (link === undefined) return null;
  const [refusal] = await peopleRefusals(db, [link]);
  return refusal ?? null;
}

export async function findCandidate(store: Store, candidateId: string): Promise<Candidate | undefined> {
  const link = await store.db.selectFrom('record_link').selectAll().where('id', '=', candidateId).executeTakeFirst();
  if (link === undefined) return undefined;
  const records = await store.db
    .selectFrom('source_record')
    .select(['id', 'dataset_id', 'party_id', 'as_of', 'person_id', 'attributes'])
    .where('id', 'in', [link.record_a, link.record_b])
    .execute();
  const byId = new Map((await withAttributes(records, store.db)).map((r) => [r.id, r]));
  const a = byId.get(link.record_a);
  const b = byId.get(link.record_b);
  if (a === undefined || b === undefined) return undefined;
  const view = (r: typeof a): CandidateRecord => ({
    dataset: r.dataset_id,
    source: r.party_id,
    asOf: r.as_of,
    personId: r.person_id,
    attributes: r.attributes,
  });
  return {
    candidateId: link.id,
    agreementId: link.agreement_id,
    tier: link.tier,
    score: link.score,
    status: link.status,
    pairKey: link.pair_key,
    identityKey: link.identity_key,
    records: [sourceParts(link.source_a), sourceParts(link.source_b)],
    recordsInFull: [view(a), view(b)],
  };
}

export interface ReviewDecision {
  readonly decision: 'confirmed' | 'rejected';
  /** The reviewing call, and the agreement whose `review` grant allowed it (kept for the DPO). */
  readonly by: {
    readonly partyId: string;
    readonly clientId: string;
    readonly requestId: string;
    readonly agreementId: string;
  };
  readonly at: Date;
}

export type ReviewOutcome =
  | {
      readonly outcome: 'decided';
      readonly decidedAt: string;
      /**
       * The people of the other open candidates the decision was applied to (those of the same
       * values: see recordDecision), then those of any other record of the same values as one
       * of the candidate's (whose pairs the decision holds for, proposed or not), then, for a
       * rejection that ended earlier confirmations of the pair's identity, the people of the
       * records of those names and dates of birth; as their records were linked when it was
       * made, but for records linked to no one (the candidate's two people among them). Their
       * link state changes as much as the candidate's two people's, so the decision's
       * access-log entry names them too (link-review-api.ts).
       */
      readonly alsoAbout: readonly string[];
    }
  /**
   * Someone decided it first: nothing changed. `decision` is what they decided, null where the
   * pair is no longer the tier's to decide (a rule links its records since).
   */
  | { readonly outcome: 'not-open'; readonly decision: 'confirmed' | 'rejected' | null }
  /**
   * A confirmation of a pair whose two people no pass would join, as they hold conflicting
   * identifiers ({@link peopleRefusals}: one came to since the pair was listed, a later import
   * joining a record to one of them): nothing decided, nothing changed. `conflict` is the kind.
   */
  | { readonly outcome: 'people-conflict'; readonly conflict: MergeRefusal }
  /**
   * No candidate of this id any more: since it was read, a linking pass replaced the pair's links
   * (a record replaced by a new snapshot, the pair proposed again under a new id, or not at all),
   * or a new snapshot replaced one of its records and no pass has run yet. Nobody decided it, so
   * not 'not-open'; nothing changed.
   */
  | { readonly outcome: 'gone' }
  /**
   * Proposed before decisions were kept under a key (its `pair_key` is null), and still open with
   * both its records: it gets one when a linking pass proposes it again (`npm run relink` does at
   * once), and is decided then. One decided or gone is 'not-open' or 'gone', as any other.
   */
  | { readonly outcome: 'not-keyed' };

/**
 * Records the decision on an open candidate and forms the agreement's people again. The status
 * change is conditional on the candidate still being open, so two officers deciding at once
 * cannot both win.
 */
export async function decideCandidate(
  deps: LinkDependencies,
  candidate: Candidate,
  review: ReviewDecision,
): Promise<ReviewOutcome> {
  const identity = review.decision === 'confirmed' ? PairKeys.identity(await personRefKeyOf(deps.secrets)) : undefined;
  const outcome = await deps.store.db.transaction().execute((trx) => recordDecision(trx, candidate, review, identity));
  if (outcome.outcome === 'decided') await linkPeople(deps, candidate.agreementId, 'review');
  return outcome;
}

/**
 * Records the decision in `db` (a transaction the caller commits), without forming people
 * again: the caller runs a `review` pass ({@link linkPeople}) once it has committed, as
 * {@link decideCandidate} does. For a caller that must commit the decision with something else
 * (its access-log entry: shared/api/request-pipeline.ts writeAhead).
 *
 * A confirmation keeps its two records' identity fingerprints, made under `identity`
 * ({@link PairKeys.identity}): the records are known now, and a pass finds them by these once
 * the tier no longer proposes the pair (link-decisions.ts). Left to the review pass, they were
 * lost when it failed and a record moved before another pass had found the pair: the officer's
 * word held for nothing.
 */
export async function recordDecision(
  db: Kysely<Database>,
  candidate: Candidate,
  review: ReviewDecision,
  identity: PairKeys | undefined,
): Promise<ReviewOutcome> {
  if (review.decision === 'confirmed' && identity === undefined)
    throw new TypeError('recordDecision: a confirmation needs the identity keys');
  const decidedAt = review.at.toISOString();
  const pairKey = candidate.pairKey;
  // Without a key it cannot be decided, but what the officer is told is what a keyed candidate's
  // would be where it has been decided or is gone: a pass proposes it again only while it is open
  // (found by a review: a legacy candidate decided long ago was answered 'not-keyed', and its
  // officer told to wait for a pass that would never propose it).
  if (pairKey === null) {
    const now = await unchangedOutcome(db, candidate.candidateId);
    return now.outcome === 'open' ? { outcome: 'not-keyed' } : now;
  }
  if (review.decision === 'confirmed') {
    const conflict = await candidatePeopleRefusal(db, candidate.candidateId);
    if (conflict !== null) {
      // Decided or gone first: what the officer is told then, as for any other decision.
      const now = await unchangedOutcome(db, candidate.candidateId);
      return now.outcome === 'open' ? { outcome: 'people-conflict', conflict } : now;
    }
  }
  // Only while both its records are still there: a new snapshot may have replaced one since the
  // caller read the candidate, before any pass replaced the candidate. Its word was about records
  // no longer held, so it is 'gone', as a read now finds (openCandidateRows, findCandidate).
  // Decided, it had been kept under the old values' pair key alone (recordsOf finds nothing to
  // fingerprint): a confirmation the moved successor then lost, though the officer was told 200
  // (found by a review).
  const updated = await db
    .updateTable('record_link')
    .set({ status: review.decision })
    .where('id', '=', candidate.candidateId)
    .where('status', '=', 'candidate')
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('source_record as a').select('a.id').whereRef('a.id', '=', 'record_link.record_a')),
    )
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('source_record as b').select('b.id').whereRef('b.id', '=', 'record_link.record_b')),
    )
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) {
    const now = await unchangedOutcome(db, candidate.candidateId);
    return now.outcome === 'open' ? { outcome: 'gone' } : now;
  }
  // The decision is kept under the pair's key, so the next pass applies it to every open candidate
  // of the same values (two rows of one source alike in names, date of birth and address): decided
  // here too, so that the review pass forms the people the next pass will. Each is its own person
  // until linked, whom the officer did not see: named by the caller's entry all the same, or their
  // subject access answers missed a decision on their records (found by a review).
  const alike = (record: 'record_a' | 'record_b') =>
    db
      .selectFrom('record_link')
      .select(record)
      .where('agreement_id', '=', candidate.agreementId)
      .where('pair_key', '=', pairKey)
      .where('status', '=', 'candidate');
  const alsoAbout = await db
    .selectFrom('source_record')
    .select('person_id')
    .distinct()
    .where((eb) => eb.or([eb('id', 'in', alike('record_a')), eb('id', 'in', alike('record_b'))]))
    .where('person_id', 'is not', null)
    .orderBy('person_id')
    .execute();
  const records = await recordsOf(db, candidate.candidateId);
  // And to every other pair of the same values, which the tier need not propose (a twin row
  // linked by its NHS number elsewhere): the review pass links a confirmed one, and a rejected
  // one is kept apart (link-people.ts). Its people are named too (found by a review).
  const unproposed = await peopleAlike(db, records ?? [], 'pair');
  await db
    .updateTable('record_link')
    .set({ status: review.decision })
    .where('agreement_id', '=', candidate.agreementId)
    .where('pair_key', '=', pairKey)
    .where('status', '=', 'candidate')
    .execute();
  // A rejection only under the pair's key: a record that moves is new evidence (pair-key.ts).
  // But it ends every earlier confirmation of the pair's identity — kept under the identity key
  // (made while each record was alone in its source), or under the pair's key at another
  // address — which would otherwise hold again, over this later word, once a record moves (with
  // namesakes gone) or moves back: the pair is asked about again instead.
  const keys = [pairKey];
  const { identityKey } = candidate;
  const prints = records === undefined || review.decision !== 'confirmed' ? null : identityPrints(identity!, records);
  let endedAbout: readonly string[] = [];
  if (identityKey !== null) {
    if (review.decision === 'rejected') {
      // But not a confirmation a pair of records holds now (the link the last pass made): that
      // is about another record of the same names and date of birth — a twin — still there. Nor
      // another agreement's, which no longer steers these records (link-decisions.ts) and is
      // its DPOs' to read.
      const ofTheIdentity = (eb: ExpressionBuilder<Database, 'link_decision'>, linkedBy?: string) => {
        let linked = eb
          .selectFrom('record_link')
          .select('record_link.id')
          .where('record_link.status', '=', 'confirmed')
          .whereRef('record_link.pair_key', '=', 'link_decision.pair_key');
        if (linkedBy !== undefined) linked = linked.where('record_link.agreement_id', '=', linkedBy);
        return eb.and([
          eb('decision', '=', 'confirmed'),
          eb.or([eb('pair_key', '=', identityKey), eb('identity_key', '=', identityKey)]),
          eb.not(eb.exists(linked)),
        ]);
      };
      const ended = await db
        .deleteFrom('link_decision')
        .where('agreement_id', '=', review.by.agreementId)
        .where((eb) => ofTheIdentity(eb))
        .executeTakeFirst();
      // Nor one made before decisions kept their agreement, which every agreement's passes read:
      // this rejection ends it for this agreement alone, as its passes read it (link-decisions.ts
      // endedForAgreement, by this agreement's links). Deleted, it was gone for every other
      // agreement too, whose passes had joined the pair on it (found by a review).
      const endedHere = await db
        .selectFrom('link_decision')
        .select('pair_key')
        .where('agreement_id', 'is', null)
        .where((eb) => ofTheIdentity(eb, review.by.agreementId))
        .executeTakeFirst();
      // A confirmation ended is one that no longer joins a pair of these names and dates of birth
      // (a record of them that moved while a namesake was in its source, once the namesake goes):
      // their people's link state changes too, though the officer did not see them (found by a
      // review).
      if (Number(ended.numDeletedRows) > 0 || endedHere !== undefined)
        endedAbout = await peopleAlike(db, records ?? [], 'identity');
    } else if (records !== undefined && (await aloneInTheirSources(db, records))) keys.push(identityKey);
  }
  // Each agreement keeps its own decision on a pair (0044): another agreement's of the same key
  // stays, its DPOs', should the datasets move back to it (found by a review). So does one made
  // before decisions kept their agreement: every agreement's passes read it as their own, and this
  // one's holds over it for this agreement alone (link-decisions.ts). Replaced, it was gone for
  // the others too, and with it their DPOs' record of the officer's word (found by a review).
  await db
    .deleteFrom('link_decision')
    .where('pair_key', 'in', keys)
    .where('agreement_id', '=', review.by.agreementId)
    .execute();
  await db
    .insertInto('link_decision')
    .values(
      keys.map((key) => ({
        pair_key: key,
        decision: review.decision,
        party_id: review.by.partyId,
        client_id: review.by.clientId,
        request_id: review.by.requestId,
        agreement_id: review.by.agreementId,
        score: candidate.score,
        decided_at: decidedAt,
        identity_key: identityKey,
        print_a: prints?.[0] ?? null,
        print_b: prints?.[1] ?? null,
      })),
    )
    .execute();
  return {
    outcome: 'decided',
    decidedAt,
    alsoAbout: [...new Set([...alsoAbout.map((r) => r.person_id!), ...unproposed, ...endedAbout])],
  };
}

/**
 * The people of every record held now that is alike, in the values a decision's key is made of,
 * to one of the candidate's two (`records`): its source, names and date of birth, and with
 * `'pair'` its postcode and address too, as a linking pass reads them (store-sources.ts: absent
 * as ''). Under the pair's key (`'pair'`), the decision holds for every pair of such records,
 * proposed by the tier or not (link-people.ts); under the identity key (`'identity'`), a
 * confirmation is about such records, which of them the store does not say (pair-key.ts).
 */
async function peopleAlike(
  db: Kysely<Database>,
  records: readonly CandidateRecordRow[],
  values: 'pair' | 'identity',
): Promise<string[]> {
  if (records.length === 0) return [];
  const rows = await db
    .selectFrom('source_record')
    .select('person_id')
    .distinct()
    .where('person_id', 'is not', null)
    .where((eb) => {
      // An indexed column compared as itself where it holds a value; '' and null are one.
      const same = (column: 'given_name' | 'family_name' | 'date_of_birth', value: string | null) =>
        value === null || value === '' ? eb(eb.fn.coalesce(column, eb.val('')), '=', '') : eb(column, '=', value);
      const asRead = (column: 'postcode' | 'address', value: string | null) =>
        eb(eb.fn.coalesce(column, eb.val('')), '=', value ?? '');
      return eb.or(
        records.map((r) =>
          eb.and([
            eb('party_id', '=', r.party_id),
            eb('dataset_id', '=', r.dataset_id),
            same('family_name', r.family_name),
            same('date_of_birth', r.date_of_birth),
            same('given_name', r.given_name),
            ...(values === 'pair' ? [asRead('postcode', r.postcode), asRead('address', r.address)] : []),
          ]),
        ),
      );
    })
    .orderBy('person_id')
    .execute();
  return rows.map((r) => r.person_id!);
}

/**
 * Why a decision on the candidate would change nothing, as the store holds it now: 'not-open' if
 * someone decided it (and what they decided), 'gone' if there is no such candidate or either of
 * its records is gone (as a read finds: openCandidateRows, findCandidate); 'open' if it is still
 * there to decide.
 */
async function unchangedOutcome(
  db: Kysely<Database>,
  candidateId: string,
): Promise<Extract<ReviewOutcome, { outcome: 'not-open' | 'gone' }> | { readonly outcome: 'open' }> {
  const link = await db
    .selectFrom('record_link')
    .select(['status', 'record_a', 'record_b'])
    .where('id', '=', candidateId)
    .executeTakeFirst();
  if (link === undefined) return { outcome: 'gone' };
  if (link.status === 'confirmed' || link.status === 'rejected') return { outcome: 'not-open', decision: link.status };
  if (link.status === 'auto') return { outcome: 'not-open', decision: null };
  const held = await db
    .selectFrom('source_record')
    .select('id')
    .where('id', 'in', [link.record_a, link.record_b])
    .execute();
  return { outcome: held.length === 2 ? 'open' : 'gone' };
}

type CandidateRecordRow = Pick<
  Database['source_record'],
  'id' | 'party_id' | 'dataset_id' | 'given_name' | 'family_name' | 'date_of_birth' | 'postcode' | 'address'
>;

/** The candidate's two records as the store holds them now; undefined if either is gone (no one's to confirm). */
async function recordsOf(db: Kysely<Database>, candidateId: string): Promise<CandidateRecordRow[] | undefined> {
  const link = await db
    .selectFrom('record_link')
    .select(['record_a', 'record_b'])
    .where('id', '=', candidateId)
    .executeTakeFirst();
  if (link === undefined) return undefined;
  const rows = await db
    .selectFrom('source_record')
    .select(['id', 'party_id', 'dataset_id', 'given_name', 'family_name', 'date_of_birth', 'postcode', 'address'])
    .where('id', 'in', [link.record_a, link.record_b])
    .execute();
  const a = rows.find((r) => r.id === link.record_a);
  const b = rows.find((r) => r.id === link.record_b);
  return a === undefined || b === undefined ? undefined : [a, b];
}

/**
 * The records' identity fingerprints as a pass makes them of the same values (store-sources.ts,
 * pair-key.ts), the lesser first; null where either has no family name or date of birth, which a
 * pass never looks up by fingerprint (link-decisions.ts).
 */
function identityPrints(identity: PairKeys, records: readonly CandidateRecordRow[]): [string, string] | null {
  const [x, y] = records.map((r) => {
    if (!r.family_name || !r.date_of_birth) return null;
    const { batch } = toRecordBatch([
      {
        recordId: r.id,
        sourceId: sourceIdOf(r.party_id, r.dataset_id),
        givenName: r.given_name ?? '',
        familyName: r.family_name,
        dob: r.date_of_birth,
        postcode: '',
      },
    ]);
    return identity.recordFingerprint(batch, 0);
  });
  return x == null || y == null ? null : orderedPrints(x, y);
}

/**
 * Whether each record of the candidate is the only one of its source (party and dataset) with
 * its names and date of birth, as the store holds them now: the officer's confirmation is then
 * about that record, and may be kept under the pair's identity key (link-decisions.ts). Asked
 * when the officer decides, not when the pass proposed the pair, so a namesake that came since
 * counts; a record gone since is no one's to confirm.
 */
async function aloneInTheirSources(db: Kysely<Database>, records: readonly CandidateRecordRow[]): Promise<boolean> {
  for (const record of records) {
    if (record.family_name == null || record.date_of_birth === null) return false;
    const { n } = await db
      .selectFrom('source_record')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('date_of_birth', '=', record.date_of_birth)
      .where('family_name', '=', record.family_name)
      .where('party_id', '=', record.party_id)
      .where('dataset_id', '=', record.dataset_id)
      .where((eb) =>
        record.given_name === null ? eb('given_name', 'is', null) : eb('given_name', '=', record.given_name),
      )
      .executeTakeFirstOrThrow();
    if (Number(n) !== 1) return false;
  }
  return true;
}
