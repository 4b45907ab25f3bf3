import { randomUUID } from 'node:crypto';
import type { ConsentRegister } from '../policy/consent-register.js';
import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Store } from '../store/database.js';
import { endKeptKeys } from '../imports/opt-out-kept-keys.js';
import { lastMoveOutCommittedIn } from '../people/current-person-id.js';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import { takeTransactionLock } from '../store/transaction-lock.js';
import type { Database } from '../store/schema.js';
import type { ConsentEventTable } from '../store/schema.js';

export interface ConsentRecord {
  consentId: string;
  subjectKey: string;
  /**
   * Every person id it is in force for, or was until withdrawn: `subjectKey` first, then any id
   * no record holds nor ever moved out of (an opt-out's kept-only id: recordForEach), then any other
   * id a record holds that it was carried to and not detached from (after a split, each part
   * holds an opt-out: carry-consents.ts). A withdrawal ends it under all of them, and its
   * access-log entry names each, so each person's subject access answer shows it (found by a
   * defect hunt: a withdrawal as a split committed named one part). `subjectKey` alone where
   * no other is held.
   */
  subjectKeys: readonly string[];
  kind: 'consent' | 'opt-out';
  purposeId: string | null;
  recordedAt: string;
  /** The party that recorded it: only that party may withdraw it. */
  recordedBy: string;
  withdrawnAt: string | null;
  /**
   * When linkage took it off the last person it applied to (its latest `detach`), or null: not
   * withdrawn, but in force for no one, so the party records it again against the person as now
   * found (carry-consents.ts).
   */
  detachedAt: string | null;
}

/** What {@link StoreConsentRegister.record} did: recorded one now, or found the one in force. */
export interface RecordedConsent extends ConsentRecord {
  /**
   * True when this party already had a consent of this kind (for this purpose) in force for the
   * person: nothing new was written and this is that one. Two in force would need two
   * withdrawals, and a caller that lost the first answer (a retry) could withdraw only one.
   */
  readonly alreadyInForce: boolean;
}

/** What {@link StoreConsentRegister.withdraw} did. */
export interface WithdrawnConsent extends ConsentRecord {
  /** False when it was withdrawn already: nothing new was written. */
  readonly withdrawnNow: boolean;
}

/** A request's identifier as a dataset's records would hold it: its keyed hash, with the key's version. */
export interface KeptKey {
  readonly datasetId: string;
  readonly kind: string;
  readonly hash: string;
  readonly keyVersion: string;
  /** Its hash under every key version the store holds (`hash` among them): a record holding any holds the identifier. */
  readonly hashes: readonly string[];
}

/** How long a consent write waits for another write about the same person or consent (SQL Server). */
const CONSENT_LOCK_TIMEOUT_MS = 10_000;

export interface RecordedBy {
  partyId: string;
  clientId: string;
}

/**
 * Thrown by {@link StoreConsentRegister.record} when no record holds the person id any more:
 * a linking pass merged or split the person between the caller's lookup and the write (or a new
 * snapshot or retention removed their records: `movedOut` is then undefined), and a consent or
 * opt-out written against the old id would apply to no one. Nothing is written; the
 * caller looks the person up again and retries.
 */
export class ConsentSubjectRelinkedError extends Error {
  constructor(
    /** When records last moved out of the id, where that is why: a lookup from then on saw it. */
    readonly movedOut?: string,
  ) {
    super('The person is no longer linked under this id; look them up again');
    this.name = 'ConsentSubjectRelinkedError';
  }
}

/**
 * The consent and opt-out register on the store. State is derived from the event history at
 * the moment asked, so a withdrawal takes effect on the very next request.
 *
 * Event times (`at`) come from the clock of whichever Functions instance wrote the event, and
 * instances' clocks differ by milliseconds or more, so no decision depends on them: a consent
 * or opt-out is in force from the moment its `record` event is in the store until any
 * `withdraw` event naming its consent id is, whatever either event's time says. (A withdrawal
 * can only be written once its record is in the store, so the store itself orders them.) The
 * times are the history shown to people — who recorded or withdrew what, when by their clock.
 *
 * A consent id may have `record` events under several person ids: linkage carries a person's
 * events to the id(s) their records hold after a merge or split (carry-consents.ts). A
 * withdrawal ends the consent under every one of them. A `detach` event ends it under its own
 * person id only: linkage writes one where it split a person id a merge had carried the consent
 * into, so the part keeping that id (perhaps someone else than the giver) does not hold it,
 * while the consent stands under the id it was recorded against.
 */
export class StoreConsentRegister implements ConsentRegister {
  constructor(private readonly store: Store) {}

  /** `_at` is not used: the answer is the store's state now (see the class comment). */
  async currentConsent(subjectKey: string, purposeId: string, _at: Date): Promise<boolean> {
    return (await this.inForce(subjectKey, 'consent')).some((c) => c.purpose_id === purposeId);
  }

  /** `_at` is not used: the answer is the store's state now (see the class comment). */
  async isOptedOut(subjectKey: string, _at: Date): Promise<boolean> {
    return (await this.inForce(subjectKey, 'opt-out')).length > 0;
  }

  /**
   * Records against a person id the caller has just looked up. Refused with
   * {@link ConsentSubjectRelinkedError} when no record holds that id any more: checked after the
   * insert, in its transaction, so either a linking pass that moves the id sees this event and
   * carries it, or this write sees the moved id and is refused. So, given `settledSince` (a time
   * before the caller's lookup), is a write after records moved out of the id by a pass that
   * committed since then (lastMoveOutCommitted, current-person-id.ts): a split
   * leaves the id with its largest part, who may not be the person the lookup matched (found by a
   * defect hunt: an opt-out looked up by the objector's NHS number, a split committed before its
   * write, was recorded for the namesake left under the id). Given a transaction (`db`), it
   * writes in that one, which the caller then commits or rolls back (see the API's writeAhead).
   */
  async record(
    input: {
      subjectKey: string;
      kind: 'consent' | 'opt-out';
      purposeId: string | null;
      evidenceRef: string | null;
      by: RecordedBy;
      at: Date;
      settledSince?: string;
    },
    db?: Kysely<Database>,
  ): Promise<RecordedConsent> {
    const write = async (trx: Kysely<Database>): Promise<RecordedConsent> => {
      // One write about the person at a time, so two that both find none in force cannot both record.
      await takeTransactionLock(this.store, trx, `lintel-consent-subject:${input.subjectKey}`, CONSENT_LOCK_TIMEOUT_MS);
      const inForce = this.partysOwnInForce(trx, input.subjectKey, input.kind, input.purposeId, input.by.partyId);
      const existing = await this.store.dialect.firstRows(inForce.orderBy('r.consent_id'), 1).executeTakeFirst();
      if (existing !== undefined) {
        const found = await this.find(existing.consent_id, trx);
        if (found !== undefined) return { ...found, alreadyInForce: true };
      }
      const recorded = await this.insertRecorded(trx, [input.subjectKey], input.kind, input.purposeId, input);
      await this.ensureStillHeld(trx, input.subjectKey, input.settledSince);
      return recorded;
    };
    return db?.isTransaction ? write(db) : this.store.db.transaction().execute(write);
  }

  /**
   * Records one national data opt-out under each of several person ids, for identifiers that do
   * not settle on one person: a refusal told the recorder the identifiers are held, and an
   * opt-out only holds data back, so it fails closed on everyone they reach (found by a defect
   * hunt). Each id holds it as after a split (carry-consents.ts), and one withdrawal ends it under
   * all of them. The same party's opt-out in force under every one of them is answered again.
   * Refused with {@link ConsentSubjectRelinkedError} as {@link record} is, for any of them.
   *
   * `keep` is the request's identifiers as keyed hashes, as for {@link recordUnheld}: those no
   * record holds are kept under `keep.personId`, which holds the opt-out too, so that a record
   * carrying one that arrives later is reached (found by a defect hunt: a UPN nobody held, given
   * beside the NHS number of one person and the names of another, was dropped, and a child's
   * record sent under it later was shared). Those held are the matched people's, whose later
   * records linkage joins to them. The opt-out answered again must keep the same hashes; refused,
   * as {@link recordUnheld} is, when a record of anyone else carrying one was placed since the
   * lookup.
   */
  async recordForEach(
    input: {
      subjectKeys: readonly string[];
      keep?: { personId: string; keys: readonly KeptKey[] };
      evidenceRef: string | null;
      by: RecordedBy;
      at: Date;
      settledSince?: string;
    },
    db?: Kysely<Database>,
  ): Promise<RecordedConsent> {
    const subjects = [...new Set(input.subjectKeys)].sort();
    const write = async (trx: Kysely<Database>): Promise<RecordedConsent> => {
      // In one order, so two such writes about overlapping people cannot wait on each other.
      for (const subject of subjects)
        await takeTransactionLock(this.store, trx, `lintel-consent-subject:${subject}`, CONSENT_LOCK_TIMEOUT_MS);
      const unheld = input.keep === undefined ? [] : await this.unheldKeys(trx, input.keep.keys, subjects);
      const inForce = await inSlices(this.store.dialect.engine, subjects, (slice) =>
        this.inForceQuery('opt-out', trx)
          .select(['r.consent_id', 'r.subject_key'])
          .where('r.party_id', '=', input.by.partyId)
          .where('r.subject_key', 'in', slice)
          .execute(),
      );
      const covering = [...new Set(inForce.map((row) => row.consent_id))]
        .sort()
        .filter((id) => subjects.every((s) => inForce.some((row) => row.consent_id === id && row.subject_key === s)));
      for (const id of covering) {
        if (!(await this.keepsAll(trx, id, unheld))) continue;
        const found = await this.find(id, trx);
        if (found !== undefined) return { ...found, alreadyInForce: true };
      }
      const keptUnder = input.keep !== undefined && unheld.length > 0 ? [input.keep.personId] : [];
      // The kept-only id next after the first person, as find() orders them: no record leads a
      // subject access request to it, and an entry names ten people at most, so put last it was
      // the one left off where more matched (found by a defect hunt).
      const recorded = await this.insertRecorded(
        trx,
        [...subjects.slice(0, 1), ...keptUnder, ...subjects.slice(1)],
        'opt-out',
        null,
        input,
      );
      for (const personId of keptUnder) await this.keep(trx, personId, unheld);
      for (const subject of subjects) await this.ensureStillHeld(trx, subject, input.settledSince);
      return recorded;
    };
    return db?.isTransaction ? write(db) : this.store.db.transaction().execute(write);
  }

  /**
   * Records a national data opt-out for a person no record holds: the objection is the person's,
   * whether or not the partnership holds them today, and a refusal would tell the recorder
   * whether it does (found by a defect hunt: a school's DPO learnt whether social care held an
   * NHS number). It is recorded against a new person id held by no record, with the caller's
   * identifiers kept as the keys of a departed opted-out person are (opt-out-kept-keys.ts):
   * keyed hashes with their key version, never the identifier, in each dataset given. A later
   * load of a record carrying one of them gives it a person id holding the opt-out
   * (reachArrivals). One by names alone keeps their names key, hashed, which reaches no arrival
   * (consents-api.ts, namesKeysToKeep). The same party's opt-out in force for the same keys, kept
   * under any version the keys are hashed under, is answered again, as for a held person. Refused
   * with {@link ConsentSubjectRelinkedError} when a record carrying one of the hashes was placed
   * since the caller's lookup: it is looked up again.
   */
  async recordUnheld(
    input: {
      personId: string;
      keys: readonly KeptKey[];
      evidenceRef: string | null;
      by: RecordedBy;
      at: Date;
    },
    db?: Kysely<Database>,
  ): Promise<RecordedConsent> {
    const write = async (trx: Kysely<Database>): Promise<RecordedConsent> => {
      // One such write per party at a time, so two that both find none in force cannot both record.
      await takeTransactionLock(this.store, trx, `lintel-consent-unheld:${input.by.partyId}`, CONSENT_LOCK_TIMEOUT_MS);
      // Under every version each key carries: one kept before a rotation is under the old one
      // (found by a review: recorded again for nobody held, 201 and a second opt-out, where for
      // someone held it is 200).
      const hashes = [...new Set(input.keys.flatMap((k) => k.hashes))];
      const existing = await this.store.dialect
        .firstRows(
          this.inForceQuery('opt-out', trx)
            .select('r.consent_id')
            .where('r.party_id', '=', input.by.partyId)
            .where('r.subject_key', 'in', (eb) =>
              eb.selectFrom('opt_out_kept_identifier').select('person_id').where('hash', 'in', hashes),
            )
            .orderBy('r.consent_id'),
          1,
        )
        .executeTakeFirst();
      if (existing !== undefined) {
        const found = await this.find(existing.consent_id, trx);
        if (found !== undefined) return { ...found, alreadyInForce: true };
      }
      const keys = await this.unheldKeys(trx, input.keys, []);
      const recorded = await this.insertRecorded(trx, [input.personId], 'opt-out', null, input);
      await this.keep(trx, input.personId, keys);
      return recorded;
    };
    return db?.isTransaction ? write(db) : this.store.db.transaction().execute(write);
  }

  /**
   * Of `keys`, those no placed record of their datasets holds. Refused with
   * {@link ConsentSubjectRelinkedError} when a record of anyone but `heldBy` holds one: it was
   * placed since the caller's lookup, which would have matched its person.
   */
  private async unheldKeys(
    trx: Kysely<Database>,
    keys: readonly KeptKey[],
    heldBy: readonly string[],
  ): Promise<KeptKey[]> {
    if (keys.length === 0) return [];
    const placed = await trx
      .selectFrom('record_identifier as ri')
      .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
      .select(['ri.hash', 'sr.person_id'])
      .distinct()
      .where('ri.hash', 'in', [...new Set(keys.flatMap((k) => k.hashes))])
      .where('sr.dataset_id', 'in', [...new Set(keys.map((k) => k.datasetId))])
      .where('sr.person_id', 'is not', null)
      .execute();
    if (placed.some((p) => !heldBy.includes(p.person_id ?? ''))) throw new ConsentSubjectRelinkedError();
    const held = new Set(placed.map((p) => p.hash));
    return keys.filter((k) => !k.hashes.some((h) => held.has(h)));
  }

  /** Keeps `keys` under `personId`, for a record that arrives carrying one (opt-out-kept-keys.ts, reachArrivals). */
  private async keep(trx: Kysely<Database>, personId: string, keys: readonly KeptKey[]): Promise<void> {
    if (keys.length === 0) return;
    await trx
      .insertInto('opt_out_kept_identifier')
      .values(
        keys.map((k) => ({
          person_id: personId,
          dataset_id: k.datasetId,
          kind: k.kind,
          hash: k.hash,
          key_version: k.keyVersion,
        })),
      )
      .execute();
  }

  /** Whether the opt-out `consentId` keeps every hash of `keys` under a person id it was recorded for. */
  private async keepsAll(trx: Kysely<Database>, consentId: string, keys: readonly KeptKey[]): Promise<boolean> {
    const hashes = new Set(keys.map((k) => k.hash));
    if (hashes.size === 0) return true;
    const kept = await trx
      .selectFrom('opt_out_kept_identifier as k')
      .innerJoin('consent_event as e', 'e.subject_key', 'k.person_id')
      .select('k.hash')
      .distinct()
      .where('e.consent_id', '=', consentId)
      .where('e.action', '=', 'record')
      .where('k.hash', 'in', [...hashes])
      .execute();
    return kept.length === hashes.size;
  }

  /** Writes the record event of a new consent under each of `subjects`, and returns it as recorded. */
  private async insertRecorded(
    trx: Kysely<Database>,
    subjects: readonly string[],
    kind: 'consent' | 'opt-out',
    purposeId: string | null,
    input: { evidenceRef: string | null; by: RecordedBy; at: Date },
  ): Promise<RecordedConsent> {
    const consentId = randomUUID();
    const at = input.at.toISOString();
    // As many events a statement as the engine takes (batched-insert.ts): ten parameters an event,
    // all in one statement an opt-out for more than about 200 people was refused by SQL Server
    // (found by a review). One statement on SQLite for up to 400 people, as before.
    const events = new BatchedInsert(this.store.dialect.engine, 'consent_event', ['event_id', 'subject_key'], {
      shared: {
        consent_id: consentId,
        kind,
        purpose_id: purposeId,
        action: 'record',
        party_id: input.by.partyId,
        client_id: input.by.clientId,
        evidence_ref: input.evidenceRef,
        at,
      },
    });
    events.pushRows(subjects.flatMap((subject) => [randomUUID(), subject]));
    await events.flush(trx, true);
    return {
      consentId,
      subjectKey: subjects[0]!,
      subjectKeys: [...subjects],
      kind,
      purposeId,
      recordedAt: at,
      recordedBy: input.by.partyId,
      withdrawnAt: null,
      detachedAt: null,
      alreadyInForce: false,
    };
  }

  /**
   * Refuses, with {@link ConsentSubjectRelinkedError}, a write under `subject` after its insert,
   * in its transaction (see {@link record}): no record holds the id any more, or records moved
   * out of it by a pass that committed after `settledSince`.
   */
  private async ensureStillHeld(trx: Kysely<Database>, subject: string, settledSince?: string): Promise<void> {
    if (settledSince !== undefined) {
      // By the commit of the pass that moved them, not its stamp (current-person-id.ts).
      const movedOut = await lastMoveOutCommittedIn(trx, subject);
      if (movedOut > settledSince) throw new ConsentSubjectRelinkedError(movedOut);
    }
    const held = await this.store.dialect
      .firstRows(trx.selectFrom('source_record').select('id').where('person_id', '=', subject), 1)
      .executeTakeFirst();
    if (held === undefined) throw new ConsentSubjectRelinkedError();
  }

  /**
   * Undefined when no such consent exists; a second withdrawal changes nothing (`withdrawnNow`
   * false). Given a transaction (`db`), it writes in that one.
   */
  async withdraw(
    consentId: string,
    by: RecordedBy,
    at: Date,
    db?: Kysely<Database>,
  ): Promise<WithdrawnConsent | undefined> {
    const write = async (trx: Kysely<Database>): Promise<WithdrawnConsent | undefined> => {
      // Under the person's lock too, so a record that answers with this consent as in force
      // cannot interleave with its withdrawal; then one withdrawal of a consent at a time: two
      // that both find it in force would both log one.
      const subject = (await this.find(consentId, trx))?.subjectKey;
      if (subject !== undefined)
        await takeTransactionLock(this.store, trx, `lintel-consent-subject:${subject}`, CONSENT_LOCK_TIMEOUT_MS);
      await takeTransactionLock(this.store, trx, `lintel-consent:${consentId}`, CONSENT_LOCK_TIMEOUT_MS);
      const current = await this.find(consentId, trx);
      if (!current) return undefined;
      if (current.withdrawnAt) return { ...current, withdrawnNow: false };
      const when = at.toISOString();
      // A linking pass that merged two people each with this party's consent for the purpose
      // left two in force for one person: the withdrawal ends both, as one withdrawal must end
      // the sharing. Only where this one is such a consent itself, in force for that person
      // alone: not one a split detached from them (in force for no one), nor an opt-out a split
      // copied to each part, for what the party recorded for a part since is that part's own,
      // not a duplicate (found by a defect hunt: withdrawing the detached consent ended the one
      // the part keeping its id gave again, and ICF no longer saw them; withdrawing the copied
      // opt-out ended the one recorded anew for one of the parts, no longer opted out).
      // Nor one that also applies to another person now (a split's other part).
      const ownInForce = await this.partysOwnInForce(
        trx,
        current.subjectKey,
        current.kind,
        current.purposeId,
        current.recordedBy,
      ).execute();
      const duplicates = ownInForce.some((c) => c.consent_id === consentId)
        ? ownInForce.filter((c) => c.consent_id !== consentId)
        : [];
      const ended = [consentId, ...new Set(duplicates.map((d) => d.consent_id))];
      await trx
        .insertInto('consent_event')
        .values(
          ended.map((id) => ({
            event_id: randomUUID(),
            consent_id: id,
            subject_key: current.subjectKey,
            kind: current.kind,
            purpose_id: current.purposeId,
            action: 'withdraw' as const,
            party_id: by.partyId,
            client_id: by.clientId,
            evidence_ref: null,
            at: when,
          })),
        )
        .execute();
      // The keys kept of an opted-out person live as long as the opt-out: a duplicate ended here
      // may have been recorded under an id whose keys were kept before the merge.
      if (current.kind === 'opt-out') for (const id of ended) await endKeptKeys(trx, id);
      return { ...current, withdrawnAt: when, withdrawnNow: true };
    };
    return db?.isTransaction ? write(db) : this.store.db.transaction().execute(write);
  }

  /**
   * The consent as it stands. Its subject is, where linkage has carried it to several person ids,
   * one it is not detached from (see the class comment) — the one a record holds now, if any (any
   * one of them, the same each time); its withdrawal time is the earliest stamped of its
   * withdrawals, should two instances both have withdrawn it.
   */
  async find(consentId: string, db: Kysely<Database> = this.store.db): Promise<ConsentRecord | undefined> {
    const events = await db.selectFrom('consent_event').selectAll().where('consent_id', '=', consentId).execute();
    const records = events.filter((e) => e.action === 'record');
    if (records.length === 0) return undefined;
    const detaches = events.filter((e) => e.action === 'detach');
    const detached = new Set(detaches.map((e) => e.subject_key));
    const all = [...new Set(records.map((e) => e.subject_key))].sort();
    const standing = all.filter((s) => !detached.has(s));
    const subjects = standing.length > 0 ? standing : all;
    // Which of them a record holds, and which no record holds though records moved out of them
    // (merged away): read once, for the names below and for whether a detach left it in force.
    const asked = subjects.length > 1 || (detaches.length > 0 && standing.length > 0);
    const heldIds = asked ? await this.heldIds(db, subjects) : new Set<string>();
    const notHeld = asked ? subjects.filter((s) => !heldIds.has(s)) : [];
    const movedOut = notHeld.length === 0 ? new Set<string>() : await this.movedOutIds(db, notHeld);
    let subjectKey = subjects[0]!;
    let subjectKeys = [subjectKey];
    if (subjects.length > 1) {
      subjectKey = subjects.find((s) => heldIds.has(s)) ?? subjectKey;
      // An id no record holds is still one the opt-out applies to where no record ever moved out
      // of it: the kept-only id of identifiers nobody held (recordForEach), or a person whose
      // records were deleted. No record leads a subject access request to it, so it is named next
      // (found by a defect hunt: the withdrawal of an unsettled opt-out named the people held, and
      // the kept-only person's answer showed it recorded, never withdrawn). Not an id merged away:
      // the id its records moved to holds the opt-out, and is named for it.
      const unheld = subjects.filter((s) => s !== subjectKey && !heldIds.has(s));
      subjectKeys = [
        subjectKey,
        ...unheld.filter((s) => !movedOut.has(s)),
        ...subjects.filter((s) => s !== subjectKey && heldIds.has(s)),
      ];
    }
    // The latest detach where the consent applies to no one for them, else null: it stands under
    // an id a record holds, or one no record ever moved out of (a person whose records were
    // deleted), as lookups find it in force there. An id merged away before the split that
    // detached it (its records moved out, none holds it) does not count: no lookup finds that
    // id, and the consent under it was refused to every lookup as the split committed.
    const stillApplies = standing.some((s) => heldIds.has(s) || !movedOut.has(s));
    const detachedAt =
      detaches.length === 0 || stillApplies ? null : detaches.map((e) => e.at).reduce((a, b) => (b > a ? b : a));
    const first = records.reduce((a, b) => (b.at < a.at ? b : a));
    const withdrawals = events.filter((e) => e.action === 'withdraw').map((e) => e.at);
    return {
      consentId,
      subjectKey,
      subjectKeys,
      kind: first.kind,
      purposeId: first.purpose_id,
      recordedAt: first.at,
      recordedBy: first.party_id,
      withdrawnAt: withdrawals.length === 0 ? null : withdrawals.reduce((a, b) => (b < a ? b : a)),
      detachedAt,
    };
  }

  /**
   * Whether any record, of any dataset or source, holds any of `personIds`: whether a consent
   * under a purpose no agreement defines now would reach its person again were it restored.
   */
  async holdsAnyOf(personIds: readonly string[]): Promise<boolean> {
    return (await this.heldIds(this.store.db, personIds)).size > 0;
  }

  /** Of `ids`, those a record holds. */
  private async heldIds(db: Kysely<Database>, ids: readonly string[]): Promise<Set<string>> {
    const held = await inSlices(this.store.dialect.engine, ids, (slice) =>
      db.selectFrom('source_record').select('person_id').distinct().where('person_id', 'in', slice).execute(),
    );
    return new Set(held.flatMap((r) => (r.person_id === null ? [] : [r.person_id])));
  }

  /** Of `ids`, those records have moved out of (a linking pass merged or split them away). */
  private async movedOutIds(db: Kysely<Database>, ids: readonly string[]): Promise<Set<string>> {
    const moved = await inSlices(this.store.dialect.engine, ids, (slice) =>
      db
        .selectFrom('person_id_move')
        .select('from_person_id')
        .distinct()
        .where('from_person_id', 'in', slice)
        .execute(),
    );
    return new Set(moved.map((m) => m.from_person_id));
  }

  /**
   * Every subject with a consent for `purposeId` in force (`consent`), or with an opt-out in force
   * (`opt-out`; `purposeId` is not used): for a decision about everyone in a dataset at once (an
   * export), where asking person by person would take a query each. Given a transaction (`db`),
   * it reads in that one, so the answer matches the records the caller reads there.
   */
  async subjectsWith(
    kind: 'consent' | 'opt-out',
    purposeId: string | null,
    db: Kysely<Database> = this.store.db,
  ): Promise<Set<string>> {
    let query = this.inForceQuery(kind, db).select('r.subject_key').distinct();
    if (kind === 'consent') query = query.where('r.purpose_id', '=', purposeId);
    return new Set((await query.execute()).map((row) => row.subject_key));
  }

  /** The subject's `record` events of this kind in force (see {@link consentRecordsInForce}). */
  /**
   * On the lookups' read path (store.reads), as their other reads are: committed data, never
   * queued behind a linking pass or an import on SQLite. Queued there, a lookup had checked its
   * person on the state before a pass, waited out the pass for this check, and then read the
   * person's records as the pass left them: after a split, someone else's (found by a review).
   */
  private async inForce(
    subjectKey: string,
    kind: 'consent' | 'opt-out',
  ): Promise<Pick<ConsentEventTable, 'consent_id' | 'purpose_id'>[]> {
    return this.store.reads.execute(
      this.inForceQuery(kind)
        .select(['r.consent_id', 'r.purpose_id'])
        .where('r.subject_key', '=', subjectKey)
        .compile(),
    );
  }

  /**
   * The party's consents (or opt-outs) of this kind and purpose in force for the person that
   * apply to no other person now: after a split, each part holds its origin's opt-out under the
   * same id, and answering (or withdrawing) one part's must not reach the other's. (After a
   * merge the id that gave way is held by no record, so the survivor's consents are its own.)
   */
  private partysOwnInForce(
    db: Kysely<Database>,
    subjectKey: string,
    kind: 'consent' | 'opt-out',
    purposeId: string | null,
    partyId: string,
  ) {
    const query = this.inForceQuery(kind, db)
      .select('r.consent_id')
      .where('r.subject_key', '=', subjectKey)
      .where('r.party_id', '=', partyId)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('consent_event as o')
              .innerJoin('source_record as held', 'held.person_id', 'o.subject_key')
              .select('o.event_id')
              .whereRef('o.consent_id', '=', 'r.consent_id')
              .whereRef('o.subject_key', '<>', 'r.subject_key')
              .where('o.action', '=', 'record')
              // Not where linkage detached it: it does not apply to that person.
              .where(notDetached('o')),
          ),
        ),
      );
    return purposeId === null ? query.where('r.purpose_id', 'is', null) : query.where('r.purpose_id', '=', purposeId);
  }

  private inForceQuery(kind: 'consent' | 'opt-out', db: Kysely<Database> = this.store.db) {
    return consentRecordsInForce(db).where('r.kind', '=', kind);
  }
}

/**
 * The `record` events (`r`) of consents and opt-outs of every kind whose consent no `withdraw`
 * event names, nor a `detach` event under the same person id: what is in force now, and for
 * whom, by the register's rule (see StoreConsentRegister).
 */
export function consentRecordsInForce(db: Kysely<Database>) {
  return db
    .selectFrom('consent_event as r')
    .where('r.action', '=', 'record')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('consent_event as w')
            .select('w.event_id')
            .whereRef('w.consent_id', '=', 'r.consent_id')
            .where('w.action', '=', 'withdraw'),
        ),
      ),
    )
    .where(notDetached('r'));
}

/**
 * That the `record` event aliased `event` has no `detach` event of its consent under its own
 * person id: linkage has not taken it off that person (carry-consents.ts).
 */
function notDetached(event: 'r' | 'o') {
  return sql<SqlBool>`not exists (select 1 from consent_event d
    where d.consent_id = ${sql.ref(`${event}.consent_id`)}
      and d.subject_key = ${sql.ref(`${event}.subject_key`)}
      and d.action = 'detach')`;
}
