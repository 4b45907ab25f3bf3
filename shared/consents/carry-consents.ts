import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Engine } from '../store/dialect.js';
import type { ConsentEventTable, Database } from '../store/schema.js';

/** One record's person id before and after a linking pass. */
export interface PersonIdMove {
  readonly from: string;
  readonly to: string;
}

const COLUMNS = [
  'event_id',
  'consent_id',
  'subject_key',
  'kind',
  'purpose_id',
  'action',
  'party_id',
  'client_id',
  'evidence_ref',
  'at',
] as const satisfies readonly (keyof ConsentEventTable)[];

/** What {@link carryConsentEvents} wrote. */
export interface CarriedConsents {
  /** Events copied to the person ids the pass gave their subject's records. */
  readonly carried: number;
  /** Consents a merge had carried into a person id that this pass split, ended there (`detach`). */
  readonly detached: number;
}

/** Who writes a `detach` event: the linking pass, not a party's client. */
const LINKAGE_PARTY = 'joint-system';
const LINKAGE_CLIENT = 'linkage';

/**
 * Carries consent and opt-out events to the person ids a linking pass gave their subject's
 * records, in the pass's transaction (before it writes the new ids). Consents are recorded per
 * person id, so without this a merge would leave the losing id's opt-out applying to no one.
 *
 * Each move is a record whose id changed from `from` to `to`.
 *
 * - A merge: no record holds `from` after the pass (`stillHeld` does not name it: the id gave
 *   way, or was a carried id the pass did not keep) and all its records went to one `to`. Every
 *   event of `from` is copied under `to`, so the survivor gets the merged people's consents and
 *   opt-outs.
 * - A split: some record still holds `from` (the part with most of its records continues under
 *   it), or it holds none but its records went to several people. The parts split off get only
 *   its opt-outs (and their withdrawals), so an opt-out stays with each part — but never its
 *   consents: a consent was given by one person, and a part split off may be someone else, who
 *   must not count as consenting (this fails closed). Where no part keeps the id, its consents
 *   go to no one.
 * - Nor does the part that keeps a split id keep its consents, whether recorded against that id
 *   or carried into it by a merge: the part with most records keeps the id, and that need not be
 *   the giver — A wrongly merged into B, then split off, B must not keep A's consent; nor may A,
 *   wrongly joined by B and B's later records, leave its consent to B's larger part when the
 *   two are split again (found by a review). A `detach` event under the kept id ends it there
 *   (StoreConsentRegister: it is not in force for that subject), and only there: the consent is
 *   not withdrawn, so it stands under any id it was recorded or carried to that no split took
 *   apart, and its recording party can still withdraw it. Nothing tells which part, if any, is
 *   the person who gave it, so none keeps it (failing closed); the party records it again
 *   against the person as now found. Opt-outs stay with every part.
 *
 * Does the giver's own id come back? A pass gives a cluster only an id some record held before
 * it (person-ids.ts), and after A's merge no record holds A's id: the part split off that is A
 * gets a new id, with the merged person's opt-outs (A's among them) and no consent. A's events
 * stay under A's id, in force but applying to no one. A record holds A's id again only where an
 * import carried it to a new record from its predecessor, one of A's own records (having read
 * that record's person before the merging pass committed: shared/imports/snapshot-writer.ts) —
 * a successor of the records A's consent was given for, so the consent applies to it, as it
 * always did to A's id.
 *
 * Events are copied (as they stood before this pass) with their consent id, who recorded or
 * withdrew them, on what evidence and when unchanged; the originals stay where they are. Nothing
 * is copied twice: `to` already holding an event of the same consent and action (an earlier pass
 * carried it) is left as it is; nor is a consent detached twice, or once withdrawn. A `detach`
 * travels like any other event, so a person id that took one over by a merge does not hold the
 * consent either. A withdrawal names a consent id, so it ends the consent under every person id
 * it was carried to, detached or not.
 *
 * On SQL Server the events of `from` are read with a range lock held to the end of the pass, so
 * an opt-out being written against `from` meanwhile either is read here (the read waits for it)
 * or waits for this pass and then finds its person gone (StoreConsentRegister.record refuses it).
 * The pass calls this before it writes the new ids, so that write's check of `source_record`
 * never waits on the pass while the pass waits on the write.
 */
export async function carryConsentEvents(
  trx: Kysely<Database>,
  engine: Engine,
  moves: readonly PersonIdMove[],
  /** The person ids some record holds once the pass has written its ids. */
  stillHeld: ReadonlySet<string>,
  /** When the pass writes (ISO time): the time of its `detach` events. */
  at: string,
): Promise<CarriedConsents> {
  const targets = targetsOf(moves);
  if (targets.size === 0) return { carried: 0, detached: 0 };

  // Every source event first, so an id that is both a source and a target in this pass passes
  // on only what it held before the pass.
  const sources = await eventsOf(trx, engine, [...targets.keys()]);
  if (sources.length === 0) return { carried: 0, detached: 0 };

  /** A split: a part keeps the id, or its records went to more than one person. */
  const isSplit = (from: string) => stillHeld.has(from) || targets.get(from)!.size > 1;
  const copies = await copiesNotHeld(
    trx,
    engine,
    sources.filter((event) => event.kind === 'opt-out' || !isSplit(event.subject_key)),
    targets,
  );
  const detaches = await detachAtSplit(
    trx,
    engine,
    sources.filter((e) => e.kind === 'consent' && e.action === 'record' && stillHeld.has(e.subject_key)),
    at,
  );
  await insertEvents(trx, engine, [...copies, ...detaches]);
  return { carried: copies.length, detached: detaches.length };
}

/**
 * Copies the opt-out events (only: never a consent) of each `from` to every `to` it is moved to,
 * as {@link carryConsentEvents} does for a split: for an import, to the person ids of the new
 * records that may be the successors of an opted-out person it could not follow
 * (shared/imports/opt-out-successors.ts). Returns how many events it wrote.
 *
 * On SQL Server the caller must already hold the opt-outs of every `from` under a range lock
 * (read with `holdlock` before it changed any record), so that an opt-out written meanwhile is
 * either among these or finds its person gone.
 */
export async function carryOptOutEvents(
  trx: Kysely<Database>,
  engine: Engine,
  moves: readonly PersonIdMove[],
): Promise<number> {
  const targets = targetsOf(moves);
  if (targets.size === 0) return 0;
  const sources = (await eventsOf(trx, engine, [...targets.keys()])).filter((event) => event.kind === 'opt-out');
  const copies = await copiesNotHeld(trx, engine, sources, targets);
  await insertEvents(trx, engine, copies);
  return copies.length;
}

/** The ids each id is moved to. */
function targetsOf(moves: readonly PersonIdMove[]): Map<string, Set<string>> {
  const targets = new Map<string, Set<string>>();
  for (const { from, to } of moves) {
    if (from === to) continue;
    let tos = targets.get(from);
    if (tos === undefined) targets.set(from, (tos = new Set()));
    tos.add(to);
  }
  return targets;
}

/**
 * Every event of the person ids `subjects`, as many ids a statement as the engine takes
 * (inSlices); on SQL Server under a range lock held to the end of the transaction.
 */
async function eventsOf(
  trx: Kysely<Database>,
  engine: Engine,
  subjects: readonly string[],
): Promise<ConsentEventTable[]> {
  const lock = engine === 'mssql' ? sql.raw(' with (holdlock)') : sql.raw('');
  return inSlices(engine, subjects, async (slice) => {
    const { rows } = await sql<ConsentEventTable>`select ${sql.join(COLUMNS.map((c) => sql.ref(c)))}
      from consent_event${lock} where subject_key in (${sql.join(slice)})`.execute(trx);
    return rows;
  });
}

const eventKey = (subject: string, consentId: string, action: string) => `${subject}\u0000${consentId}\u0000${action}`;

/**
 * Copies of `events` under each id their subject moves to, but none a target already holds (an
 * event of the same consent and action: an earlier pass carried it), each copy made once.
 */
async function copiesNotHeld(
  trx: Kysely<Database>,
  engine: Engine,
  events: readonly ConsentEventTable[],
  targets: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<ConsentEventTable[]> {
  if (events.length === 0) return [];
  const tos = [...new Set(events.flatMap((e) => [...targets.get(e.subject_key)!]))];
  const rows = await inSlices(engine, tos, (slice) =>
    trx
      .selectFrom('consent_event')
      .select(['subject_key', 'consent_id', 'action'])
      .where('subject_key', 'in', slice)
      .execute(),
  );
  const held = new Set(rows.map((row) => eventKey(row.subject_key, row.consent_id, row.action)));
  const copies: ConsentEventTable[] = [];
  for (const event of events) {
    for (const to of targets.get(event.subject_key)!) {
      const k = eventKey(to, event.consent_id, event.action);
      if (held.has(k)) continue;
      held.add(k);
      copies.push({ ...event, event_id: randomUUID(), subject_key: to });
    }
  }
  return copies;
}

/** `events` in the caller's transaction, as many a statement as the engine takes (batched-insert.ts). */
async function insertEvents(
  trx: Kysely<Database>,
  engine: Engine,
  events: readonly ConsentEventTable[],
): Promise<void> {
  const insert = new BatchedInsert(engine, 'consent_event', COLUMNS);
  for (const event of events) {
    insert.push(COLUMNS.map((column) => event[column]));
    if (insert.full) await insert.flush(trx, false);
  }
  await insert.flush(trx, true);
}

/**
 * `detach` events for the consents (`records`, their `record` events under ids a part keeps
 * after a split), not one withdrawn already, nor one detached there already.
 */
async function detachAtSplit(
  trx: Kysely<Database>,
  engine: Engine,
  records: readonly ConsentEventTable[],
  at: string,
): Promise<ConsentEventTable[]> {
  if (records.length === 0) return [];
  const consentIds = [...new Set(records.map((e) => e.consent_id))];
  const endings = await inSlices(engine, consentIds, (slice) =>
    trx
      .selectFrom('consent_event')
      .select(['consent_id', 'subject_key', 'action'])
      .where('consent_id', 'in', slice)
      .where('action', 'in', ['withdraw', 'detach'])
      .execute(),
  );
  const ended = new Set<string>();
  for (const row of endings) {
    if (row.action === 'withdraw') ended.add(row.consent_id);
    else ended.add(`${row.subject_key}\u0000${row.consent_id}`);
  }
  const detaches: ConsentEventTable[] = [];
  for (const record of records) {
    const here = `${record.subject_key}\u0000${record.consent_id}`;
    if (ended.has(record.consent_id) || ended.has(here)) continue;
    ended.add(here);
    detaches.push({
      event_id: randomUUID(),
      consent_id: record.consent_id,
      subject_key: record.subject_key,
      kind: record.kind,
      purpose_id: record.purpose_id,
      action: 'detach',
      party_id: LINKAGE_PARTY,
      client_id: LINKAGE_CLIENT,
      evidence_ref: null,
      at,
    });
  }
  return detaches;
}
