import type { ExpressionBuilder, Kysely } from 'kysely';
import type { RecordBatch } from '../matching/record.js';
import { inSlices } from '../store/batched-insert.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { orderedPrints, type PairKeys } from './pair-key.js';

/**
 * Officers' decisions as a linking pass reads them: which decision holds for a pair of records,
 * found by the pair's keys (pair-key.ts).
 *
 * - Under the pair's key of today (sources, names, date of birth, postcode, address), or else
 *   under the key an earlier release made ({@link PairKeys.legacy}, under any pseudonymisation
 *   key version the store's identifiers are hashed under): the pair's own decision.
 * - Under its identity key (sources, names, date of birth), a confirmation only: it holds when
 *   the pair has no decision of its own — one record has moved house since — provided each
 *   record is the only one of its source with those names and that date of birth (both known).
 *   Where a source holds two such records, which of them the officer meant is not known, and
 *   the pair's own key decides, as it did before confirmations were kept this way. For the same
 *   reason a confirmation is kept under the identity key only if each record is alone so when
 *   the officer decides (review-queue.ts) or a pass finds it: one made while a namesake was in
 *   the source was about one of the two, and must not pass to the other once the confirmed
 *   record leaves.
 * - Where the pair's own key holds a rejection and its identity key a later confirmation (the
 *   pair rejected at one address was confirmed once a record had moved, and it has moved back),
 *   the later decision holds. A rejection removes every confirmation of the pair's identity,
 *   under its identity key or under its own key at another address (review-queue.ts, by the
 *   identity key kept with each decision since 0018), so an earlier confirmation never holds
 *   over a later rejection made at another address, namesakes or not — but for a confirmation
 *   made before 0018 whose pair no pass has found since (a pass gives it the key), and one a
 *   pair of records holds now (a twin's, of the same names and date of birth, still there).
 *
 * A pass keeps what it finds under the keys of today: a decision under an earlier release's key
 * is moved to the key of today, and a confirmation not yet held under its identity key (one
 * made before confirmations were kept so, or while a namesake was in a source that has since
 * gone) is copied there, by the first pass that finds it —
 * any pass, as each looks up every confirmed link whose records it holds (link-people.ts). Its
 * records must still hold the values it was made on; one whose record moves before any pass has
 * copied it is asked about again, as before.
 *
 * A confirmation holds for its records whether or not the probabilistic tier proposes them
 * again: a record that moved house may bring the pair below the review threshold (its score
 * counts the address), or out of the pairs it scores at all (one record since linked by a rule
 * to a third, another candidate of one record scoring better). So each confirmation keeps its
 * two records' identity fingerprints ({@link PairKeys.identity}; 0024): recorded with the
 * officer's decision (review-queue.ts), as the review pass that follows it may fail and a record
 * move before any other pass has found the pair; filled in by the first pass that finds the pair
 * of a confirmation made before them. A pass asks {@link LinkDecisions.confirmedPairs} for the
 * records of today that hold them: the pairs among those for which a confirmation holds, by the
 * rules above, are linked as confirmed though not proposed (link-people.ts).
 *
 * A decision is the agreement's under which it was made (`agreement_id`, 0025): its officer held
 * that agreement's `review` grant, and its DPOs answer for it. A pass reads its own agreement's
 * decisions alone, and those made before decisions kept their agreement (which grant allowed them
 * is not known, and they steer every agreement's passes as they always did) — but for this
 * agreement's reviewers' later word, for this agreement alone: its decision under the same key holds
 * over one of them, and its rejection ends one as it ends its own confirmations
 * ({@link endedForAgreement}); the row stays, every other agreement's. Another agreement's
 * decision is about records whose datasets that agreement held then and this one holds now (a
 * dataset moved at a re-signing: dataset ids are unique across agreements, and a pair's key is
 * made of its records' parties and datasets): it no longer steers them, as this agreement's
 * reviewers never made it. Its rejection leaves the pair to the tier. Its confirmation joined
 * two people, who would be split with no one asked where the tier no longer proposes the pair, so
 * a pass puts each pair of records a confirmation of another agreement is about, and no decision of
 * its own holds for, to its own reviewers as a candidate ({@link LinkDecisions.confirmedElsewhere}),
 * proposed or not: the split is noted as any split is (`person_id_move`), and undone by their
 * word. The other agreement's decision is kept as it is, for its DPOs: a decision is kept per pair
 * key and agreement (0044), so this agreement's reviewers' word on a pair of the very same values
 * stands beside it, and its passes follow it again should the dataset move back. What a pass
 * writes (a key of today, an identity key, fingerprints) it writes to the row it read, of its own
 * agreement or of none.
 */

export type Decision = 'confirmed' | 'rejected';

interface Held {
  readonly decision: Decision;
  /** The agreement the decision is kept under: the pass's own, or null for one made before 0025. */
  readonly agreementId: string | null;
  readonly decidedAt: string;
  /** The pair's identity key kept with the decision (null before 0018). */
  identityKey: string | null;
  /** A confirmation's records' identity fingerprints, the lesser first (null on one made before 0024 until a pass finds its pair). */
  prints: readonly [string, string] | null;
}

export interface DecisionKeys {
  /** Keys of today: {@link PairKeys.from}. */
  readonly current: PairKeys;
  /** {@link PairKeys.identity}. */
  readonly identity: PairKeys;
  /**
   * {@link PairKeys.legacy}, under the pseudonymisation key of today and each older version the
   * store's identifiers are hashed under: a decision was keyed under the version current when
   * the officer made it, which a rotation before any pass proposed its pair again left behind.
   */
  readonly legacy: readonly PairKeys[];
}

export interface PairDecision {
  /** The decision that holds, or undefined when no officer has decided the pair. */
  readonly decision: Decision | undefined;
  /** The pair's key of today, under which a candidate's decision is recorded. */
  readonly pairKey: string;
  /**
   * The pair's identity key; null where either record has no date of birth or family name. An
   * officer's confirmation is kept under it too only where each record is alone in its source
   * with its names and date of birth when the officer decides, as a confirmation of one of two
   * namesakes says nothing of the other, which that key cannot tell apart; a rejection removes
   * any confirmation kept under it (review-queue.ts).
   */
  readonly identityKey: string | null;
}

interface Resolved {
  readonly decision: Decision | undefined;
  readonly pairKey: string;
  /** Set when the pair's own decision is held under an earlier release's key. */
  readonly legacyKey: string | undefined;
  /** Whether the pair's own key (or the legacy one) holds the decision. */
  readonly own: boolean;
}

/** A decision as read, with its key and the tier's probability for the pair when the officer was shown it. */
type HeldRow = Held & { readonly pairKey: string; readonly score: number | null };

/** Another agreement's confirmation, as a pass puts its records to its own reviewers. */
interface Elsewhere {
  readonly prints: readonly [string, string];
  readonly score: number | null;
}

export class LinkDecisions {
  readonly #held: Map<string, Held>;
  /** Other agreements' confirmations that name their records' identity fingerprints, by the pair of them. */
  readonly #confirmedElsewhere: ReadonlyMap<string, Elsewhere>;
  readonly #keys: DecisionKeys;
  readonly #batches: readonly RecordBatch[];
  /** Per batch and kind of key (an earlier release's, per version), each record's fingerprint once made. */
  readonly #prints: { current: Map<number, string>; identity: Map<number, string>; legacy: Map<number, string>[] }[];
  /** Per batch, lazily: how many of its records hold each names + date of birth. */
  readonly #namesakes: (Map<string, number> | undefined)[];
  readonly #rejections: number;
  /** Per identity key, the time of the latest rejection kept with it (0018). */
  readonly #rejectedIdentity: Map<string, string>;
  /** Per batch, lazily: its named records by identity fingerprint. */
  readonly #byPrint: (Map<string, number[]> | undefined)[];
  /** Keys of confirmations made before 0025 that a later rejection of this agreement ended for it ({@link endedForAgreement}). */
  readonly #ended: ReadonlySet<string>;

  private constructor(
    rows: readonly HeldRow[],
    others: readonly HeldRow[],
    keys: DecisionKeys,
    batches: readonly RecordBatch[],
    ended: ReadonlySet<string>,
  ) {
    this.#held = new Map();
    this.#ended = ended;
    for (const r of rows) {
      // The agreement's own decision over one made before decisions kept their agreement: its
      // reviewers' word is the later, and for it alone (review-queue.ts keeps such a row, which
      // every other agreement still reads).
      if (r.agreementId === null && this.#held.get(r.pairKey)?.agreementId != null) continue;
      this.#held.set(r.pairKey, {
        decision: r.decision,
        agreementId: r.agreementId,
        decidedAt: r.decidedAt,
        identityKey: r.identityKey,
        prints: r.prints,
      });
    }
    const elsewhere = new Map<string, Elsewhere>();
    for (const r of others) {
      if (r.decision === 'confirmed' && r.prints !== null)
        elsewhere.set(r.prints.join('\u0000'), { prints: r.prints, score: r.score });
    }
    this.#confirmedElsewhere = elsewhere;
    this.#keys = keys;
    this.#batches = batches;
    this.#prints = batches.map(() => ({
      current: new Map(),
      identity: new Map(),
      legacy: keys.legacy.map(() => new Map()),
    }));
    this.#namesakes = batches.map(() => undefined);
    this.#byPrint = batches.map(() => undefined);
    this.#rejections = rows.filter((r) => r.decision === 'rejected').length;
    this.#rejectedIdentity = new Map();
    for (const r of rows) {
      if (r.decision !== 'rejected' || r.identityKey === null) continue;
      const latest = this.#rejectedIdentity.get(r.identityKey);
      if (latest === undefined || r.decidedAt > latest) this.#rejectedIdentity.set(r.identityKey, r.decidedAt);
    }
  }

  /**
   * The decisions of `agreementId` (and those that name no agreement) for the records of
   * `batches`, and what other agreements' are about (see above).
   */
  static async read(
    db: Kysely<Database>,
    engine: Engine,
    agreementId: string,
    keys: DecisionKeys,
    batches: readonly RecordBatch[],
  ): Promise<LinkDecisions> {
    const rows = await db
      .selectFrom('link_decision')
      .select(['pair_key', 'decision', 'decided_at', 'score', 'identity_key', 'print_a', 'print_b', 'agreement_id'])
      .execute();
    const own: HeldRow[] = [];
    const others: HeldRow[] = [];
    for (const r of rows) {
      (r.agreement_id === null || r.agreement_id === agreementId ? own : others).push({
        pairKey: r.pair_key,
        decision: r.decision,
        agreementId: r.agreement_id,
        decidedAt: r.decided_at,
        score: r.score,
        identityKey: r.identity_key,
        prints: r.print_a !== null && r.print_b !== null ? [r.print_a, r.print_b] : null,
      });
    }
    const ended = await endedForAgreement(db, engine, agreementId, own);
    return new LinkDecisions(
      own.filter((r) => !ended.has(r)),
      others,
      keys,
      batches,
      new Set([...ended].map((r) => r.pairKey)),
    );
  }

  /** Whether any decision is held: if none, every pair the tier proposes is a candidate. */
  get any(): boolean {
    return this.#held.size > 0;
  }

  /** Whether any rejection is held: if none, no pair of records need be kept apart. */
  get hasRejections(): boolean {
    return this.#rejections > 0;
  }

  /**
   * Whether the decision that holds for record i of batch a and record j of batch b (as
   * {@link find} finds it) is a rejection. Writes nothing.
   */
  rejected(a: number, i: number, b: number, j: number): boolean {
    // Only the pair's own key can hold a rejection (its identity key holds confirmations): a pair
    // without one, as nearly every pair of one person is, costs no identity-key hashes.
    if (this.#rejections === 0 || this.#own(a, i, b, j).held?.decision !== 'rejected') return false;
    return this.#resolve(a, i, b, j).decision === 'rejected';
  }

  /**
   * The decision that holds for record i of batch a and record j of batch b, kept under the
   * keys of today in `db` (see above) where found under others.
   */
  async find(db: Kysely<Database>, a: number, i: number, b: number, j: number): Promise<PairDecision> {
    const resolved = this.#resolve(a, i, b, j);
    const { pairKey, legacyKey, decision } = resolved;
    if (legacyKey !== undefined) {
      // Another agreement's decision under the key of today stays beside it, that agreement's.
      const held = this.#held.get(legacyKey)!;
      await updateHeld(db, legacyKey, held).set({ pair_key: pairKey }).execute();
      this.#held.set(pairKey, held);
      this.#held.delete(legacyKey);
    }
    const identityKey = this.#named(a, i) && this.#named(b, j) ? this.#identityKey(a, i, b, j) : null;
    // Kept only for a pair of records each alone in its source with its names and date of birth:
    // a key kept for a pair with a namesake would later stand for the namesake's pair, once the
    // confirmed record has gone and the namesake is alone (see #identityConfirmation).
    if (
      identityKey !== null &&
      this.#identifiable(a, i) &&
      this.#identifiable(b, j) &&
      decision === 'confirmed' &&
      resolved.own &&
      this.#held.get(identityKey)?.decision !== 'confirmed' &&
      !this.#rejectedSince(identityKey, this.#held.get(pairKey)!)
    ) {
      const confirmation = this.#held.get(pairKey)!;
      await db
        .deleteFrom('link_decision')
        .where('pair_key', '=', identityKey)
        .where(keptUnder(confirmation.agreementId))
        .execute();
      await db
        .insertInto('link_decision')
        .columns([
          'pair_key',
          'decision',
          'party_id',
          'client_id',
          'request_id',
          'score',
          'decided_at',
          'identity_key',
          'print_a',
          'print_b',
          'agreement_id',
        ])
        .expression((eb) =>
          eb
            .selectFrom('link_decision')
            .select([
              eb.val(identityKey).as('pair_key'),
              'decision',
              'party_id',
              'client_id',
              'request_id',
              'score',
              'decided_at',
              eb.val(identityKey).as('identity_key'),
              'print_a',
              'print_b',
              'agreement_id',
            ])
            .where('pair_key', '=', pairKey)
            .where(keptUnder(confirmation.agreementId)),
        )
        .execute();
      this.#held.set(identityKey, { ...confirmation, identityKey });
    }
    // A confirmation made before decisions kept their identity key (0018) is given it, so that a
    // later rejection of the pair at another address ends it (review-queue.ts).
    const own = this.#held.get(pairKey);
    if (identityKey !== null && resolved.own && own?.decision === 'confirmed' && own.identityKey === null) {
      await updateHeld(db, pairKey, own).set({ identity_key: identityKey }).execute();
      own.identityKey = identityKey;
    }
    // The records a confirmation is about, by which a pass finds them once the tier no longer
    // proposes the pair (see above).
    if (identityKey !== null && decision === 'confirmed')
      await this.#keepPrints(db, a, i, b, j, [pairKey, identityKey]);
    return { decision, pairKey, identityKey };
  }

  /**
   * Each pair of record i of batch a and record j of batch b holding one of `prints`' identity
   * fingerprint pairs, either way round, once, with the index of the first pair of `prints` it holds.
   */
  *#pairsHolding(
    a: number,
    b: number,
    prints: readonly (readonly [string, string])[],
  ): Generator<{ i: number; j: number; held: number }> {
    if (prints.length === 0) return;
    const left = this.#recordsByPrint(a);
    const right = this.#recordsByPrint(b);
    const seen = new Set<string>();
    for (const [held, [p, q]] of prints.entries()) {
      for (const [x, y] of [
        [p, q],
        [q, p],
      ] as const) {
        for (const i of left.get(x) ?? []) {
          for (const j of right.get(y) ?? []) {
            const pair = `${i},${j}`;
            if (seen.has(pair)) continue;
            seen.add(pair);
            yield { i, j, held };
          }
        }
      }
    }
  }

  /**
   * Pairs of record i of batch a and record j of batch b for which a confirmation holds (as
   * {@link find} finds it), among the records holding the identity fingerprints kept with a
   * confirmation: whether or not the probabilistic tier proposed them. Writes nothing.
   */
  confirmedPairs(a: number, b: number): [number, number][] {
    const wanted = new Map<string, readonly [string, string]>();
    for (const held of this.#held.values()) {
      if (held.decision === 'confirmed' && held.prints !== null) wanted.set(held.prints.join('\u0000'), held.prints);
    }
    const pairs: [number, number][] = [];
    for (const { i, j } of this.#pairsHolding(a, b, [...wanted.values()]))
      if (this.#resolve(a, i, b, j).decision === 'confirmed') pairs.push([i, j]);
    return pairs;
  }

  /**
   * Pairs of record i of batch a and record j of batch b that a confirmation of another agreement
   * is about (by its records' identity fingerprints) and for which no decision of this agreement
   * holds: this agreement's reviewers' to decide (see above), with the probability the tier gave
   * the pair when that officer was shown it. Writes nothing.
   */
  confirmedElsewhere(a: number, b: number): { i: number; j: number; score: number | null }[] {
    if (this.#confirmedElsewhere.size === 0) return [];
    const elsewhere = [...this.#confirmedElsewhere.values()];
    const pairs: { i: number; j: number; score: number | null }[] = [];
    for (const { i, j, held } of this.#pairsHolding(
      a,
      b,
      elsewhere.map((e) => e.prints),
    ))
      if (this.#resolve(a, i, b, j).decision === undefined) pairs.push({ i, j, score: elsewhere[held]!.score });
    return pairs;
  }

  /** Whether a confirmation of another agreement is about record i of batch a and record j of batch b. */
  isConfirmedElsewhere(a: number, i: number, b: number, j: number): boolean {
    if (this.#confirmedElsewhere.size === 0 || !this.#named(a, i) || !this.#named(b, j)) return false;
    const [x, y] = orderedPrints(this.#print('identity', a, i), this.#print('identity', b, j));
    return this.#confirmedElsewhere.has(`${x}\u0000${y}`);
  }

  /** Keeps the pair's records' identity fingerprints with those of `keys` that hold a confirmation without them. */
  async #keepPrints(db: Kysely<Database>, a: number, i: number, b: number, j: number, keys: readonly string[]) {
    const missing = keys.filter((key) => {
      const held = this.#held.get(key);
      return held?.decision === 'confirmed' && held.prints === null;
    });
    if (missing.length === 0) return;
    const prints = orderedPrints(this.#print('identity', a, i), this.#print('identity', b, j));
    for (const key of missing) {
      const held = this.#held.get(key)!;
      await updateHeld(db, key, held).set({ print_a: prints[0], print_b: prints[1] }).execute();
      held.prints = prints;
    }
  }

  /** The named records of a batch by identity fingerprint: a record is in many pairs, fingerprinted once. */
  #recordsByPrint(b: number): Map<string, number[]> {
    let byPrint = this.#byPrint[b];
    if (byPrint !== undefined) return byPrint;
    byPrint = new Map();
    for (let i = 0; i < this.#batches[b]!.size; i++) {
      if (!this.#named(b, i)) continue;
      const print = this.#print('identity', b, i);
      const records = byPrint.get(print);
      if (records === undefined) byPrint.set(print, [i]);
      else records.push(i);
    }
    this.#byPrint[b] = byPrint;
    return byPrint;
  }

  /** The pair's key of today, and the pair's own decision under it or else an earlier release's key. */
  #own(a: number, i: number, b: number, j: number): { pairKey: string; held?: Held; legacyKey?: string } {
    const { current, legacy } = this.#keys;
    const pairKey = current.pairKey(this.#print('current', a, i), this.#print('current', b, j));
    const held = this.#held.get(pairKey);
    // A key whose confirmation this agreement's rejection ended holds no decision for it: an
    // earlier release's key of the pair is not moved onto it, beside the row that stays.
    if (held !== undefined || this.#held.size === 0 || this.#ended.has(pairKey)) return { pairKey, held };
    for (const [version, keys] of legacy.entries()) {
      const legacyKey = keys.pairKey(this.#legacyPrint(version, a, i), this.#legacyPrint(version, b, j));
      const legacyHeld = this.#held.get(legacyKey);
      if (legacyHeld !== undefined) return { pairKey, held: legacyHeld, legacyKey };
    }
    return { pairKey };
  }

  #resolve(a: number, i: number, b: number, j: number): Resolved {
    const { pairKey, held: own, legacyKey } = this.#own(a, i, b, j);
    if (own?.decision === 'confirmed') return { decision: 'confirmed', pairKey, legacyKey, own: true };
    const confirmed = this.#identityConfirmation(a, i, b, j);
    if (own === undefined) return { decision: confirmed?.decision, pairKey, legacyKey, own: false };
    if (confirmed !== undefined && confirmed.decidedAt > own.decidedAt)
      return { decision: 'confirmed', pairKey, legacyKey, own: false };
    return { decision: own.decision, pairKey, legacyKey, own: true };
  }

  /** A confirmation under the pair's identity key, if it may stand for the pair (see above). */
  #identityConfirmation(a: number, i: number, b: number, j: number): Held | undefined {
    if (this.#held.size === 0 || !this.#identifiable(a, i) || !this.#identifiable(b, j)) return undefined;
    const identityKey = this.#identityKey(a, i, b, j);
    const held = this.#held.get(identityKey);
    return held?.decision === 'confirmed' && !this.#rejectedSince(identityKey, held) ? held : undefined;
  }

  /**
   * Whether a pair of the same identity was rejected after `confirmation`: a namesake of one of
   * its records (the confirmation stays with its own pair, which an officer confirmed), or the
   * pair itself at another address when two officers decided at once. Either way the
   * confirmation must not stand for another pair of that identity.
   */
  #rejectedSince(identityKey: string, confirmation: Held): boolean {
    const rejected = this.#rejectedIdentity.get(identityKey);
    return rejected !== undefined && rejected > confirmation.decidedAt;
  }

  #identityKey(a: number, i: number, b: number, j: number): string {
    return this.#keys.identity.pairKey(this.#print('identity', a, i), this.#print('identity', b, j));
  }

  /** A date of birth and a family name known: what an identity key is made of. */
  #named(b: number, i: number): boolean {
    const batch = this.#batches[b]!;
    return batch.dob[i] !== '' && batch.familyName[i] !== '';
  }

  /** {@link #named}, and no other record of the batch with the same names and date. */
  #identifiable(b: number, i: number): boolean {
    const batch = this.#batches[b]!;
    if (!this.#named(b, i)) return false;
    let counts = this.#namesakes[b];
    if (counts === undefined) {
      counts = new Map();
      for (let n = 0; n < batch.size; n++) {
        const key = namesAndDate(batch, n);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      this.#namesakes[b] = counts;
    }
    return counts.get(namesAndDate(batch, i)) === 1;
  }

  /** A record's fingerprint under one kind of key: a record is in many pairs, fingerprinted once. */
  #print(kind: 'current' | 'identity', b: number, i: number): string {
    return this.#cachedPrint(this.#prints[b]![kind], this.#keys[kind], b, i);
  }

  /** {@link #print} under an earlier release's keys of the `version`th key version. */
  #legacyPrint(version: number, b: number, i: number): string {
    return this.#cachedPrint(this.#prints[b]!.legacy[version]!, this.#keys.legacy[version]!, b, i);
  }

  #cachedPrint(cache: Map<number, string>, keys: PairKeys, b: number, i: number): string {
    let print = cache.get(i);
    if (print === undefined) cache.set(i, (print = keys.recordFingerprint(this.#batches[b]!, i)));
    return print;
  }
}

/**
 * The confirmations made before 0025 (`rows` that name no agreement) that a later rejection of
 * `agreementId`'s has ended for it: those its officer's rejection would have deleted, were they its
 * own (review-queue.ts recordDecision) — of the rejected pair's identity, under its identity key or
 * under the pair's key at another address, and held by no confirmed link of the agreement's last
 * pass (a twin's). The rejection leaves them in the store: every other agreement's passes read them
 * still, and their DPOs the officer's word. Asked at each pass, not when the officer decided: which
 * links the agreement's last pass confirmed is what the store can tell of that moment now.
 */
async function endedForAgreement(
  db: Kysely<Database>,
  engine: Engine,
  agreementId: string,
  rows: readonly HeldRow[],
): Promise<Set<HeldRow>> {
  const rejectedAt = new Map<string, string>();
  for (const r of rows) {
    if (r.agreementId === null || r.decision !== 'rejected' || r.identityKey === null) continue;
    const latest = rejectedAt.get(r.identityKey);
    if (latest === undefined || r.decidedAt > latest) rejectedAt.set(r.identityKey, r.decidedAt);
  }
  if (rejectedAt.size === 0) return new Set();
  const rejectedSince = (key: string | null, r: HeldRow) => key !== null && (rejectedAt.get(key) ?? '') > r.decidedAt;
  const ending = rows.filter(
    (r) =>
      r.agreementId === null &&
      r.decision === 'confirmed' &&
      (rejectedSince(r.identityKey, r) || rejectedSince(r.pairKey, r)),
  );
  const linked = new Set<string>();
  const keys = [...new Set(ending.map((r) => r.pairKey))];
  const held = await inSlices(engine, keys, (slice) =>
    db
      .selectFrom('record_link')
      .select('pair_key')
      .distinct()
      .where('agreement_id', '=', agreementId)
      .where('status', '=', 'confirmed')
      .where('pair_key', 'in', slice)
      .execute(),
  );
  for (const { pair_key } of held) if (pair_key !== null) linked.add(pair_key);
  return new Set(ending.filter((r) => !linked.has(r.pairKey)));
}

/**
 * The row a held decision was read from, among the pair key's: its agreement's, or the one that
 * names none. Another agreement's row of the same key is that agreement's, never written here.
 */
function keptUnder(agreementId: string | null) {
  return (eb: ExpressionBuilder<Database, 'link_decision'>) =>
    agreementId === null ? eb('agreement_id', 'is', null) : eb('agreement_id', '=', agreementId);
}

/** An update of the row a held decision was read from under `pairKey` ({@link keptUnder}). */
function updateHeld(db: Kysely<Database>, pairKey: string, held: Pick<Held, 'agreementId'>) {
  return db.updateTable('link_decision').where('pair_key', '=', pairKey).where(keptUnder(held.agreementId));
}

function namesAndDate(batch: RecordBatch, i: number): string {
  return `${batch.givenName[i]}\u0000${batch.familyName[i]}\u0000${batch.dob[i]}`;
}
