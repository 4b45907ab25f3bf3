import type { Kysely } from 'kysely';
import type { PersonIdMove } from '../consents/carry-consents.js';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';

/**
 * Earlier ids a subject's history may name: far above any real chain of merges and splits, and
 * small enough that the query over them (four conditions an id) stays within both engines' limits,
 * as does each read of the history's walk, which names at most these ids in one statement.
 */
export const MAX_HISTORY_IDS = 100;

/** A pass's move, with since when the moved records had held `from` (null: since first linked). */
export interface HeldPersonIdMove extends PersonIdMove {
  heldSince: string | null;
}

/**
 * Notes a pass's person-id moves, each once, in the pass's transaction: the access log keeps
 * the id a subject had when an entry was written, and a subject access request follows these
 * to every id the person's records have held. The same pair may move again later (A→B, B→A,
 * A→B): each time is its own row (migration 0016), as the latest bounds the earlier id's window;
 * only a move already noted at this same time is skipped, as the key would refuse it. `runId`,
 * the pass's `link_run`, is where the time the moves took effect is read from (migration 0030).
 */
export async function recordPersonIdMoves(
  trx: Kysely<Database>,
  engine: Engine,
  moves: readonly (PersonIdMove | HeldPersonIdMove)[],
  at: string,
  runId?: string,
): Promise<number> {
  const known = await inSlices(
    engine,
    moves.map((m) => m.from),
    (slice) =>
      trx
        .selectFrom('person_id_move')
        .select(['from_person_id', 'to_person_id'])
        .where('from_person_id', 'in', slice)
        .where('moved_at', '=', at)
        .execute(),
  );
  const seen = new Set(known.map((r) => `${r.from_person_id}\u0000${r.to_person_id}`));
  const fresh: (PersonIdMove | HeldPersonIdMove)[] = [];
  for (const m of moves) {
    const key = `${m.from}\u0000${m.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fresh.push(m);
  }
  // Written only by a pass that knows it: a move noted without it reads as before 0022.
  const held = fresh.some((m) => 'heldSince' in m);
  const insert = new BatchedInsert(
    engine,
    'person_id_move',
    held ? ['from_person_id', 'to_person_id', 'held_since'] : ['from_person_id', 'to_person_id'],
    { shared: { moved_at: at, ...(runId === undefined ? {} : { run_id: runId }) } },
  );
  for (const m of fresh) {
    insert.push(held ? [m.from, m.to, 'heldSince' in m ? m.heldSince : null] : [m.from, m.to]);
    if (insert.full) await insert.flush(trx, false);
  }
  await insert.flush(trx, true);
  return fresh.length;
}

/**
 * An id a subject's accesses may be logged under, and from and until when (ISO times; undefined:
 * no bound).
 */
export interface HistoricId {
  readonly personId: string;
  readonly since: string | undefined;
  /** When the person's records left the id: the pass's stamp on the move. */
  readonly until: string | undefined;
  /**
   * Until when the access log names the id for them: the commit of the pass that moved them on
   * (`link_run.committed_at`, migration 0030), where it is known; else `until`. Until the pass
   * commits, lookups read the people as they were and log the id.
   */
  readonly loggedUntil: string | undefined;
}

/** The earlier of two starts, undefined (no start) the earliest. */
const earliest = (a: string | undefined, b: string | undefined) =>
  a === undefined || b === undefined ? undefined : a <= b ? a : b;

interface Window {
  since: string | undefined;
  until: string | undefined;
  loggedUntil: string | undefined;
}

/** The later of two ends, undefined (no end) the latest. */
const latest = (a: string | undefined, b: string | undefined) =>
  a === undefined || b === undefined ? undefined : a >= b ? a : b;

/**
 * The ids `personId`'s records have held, itself first: followed back through every move into
 * it — a merge brought another id's records in, a split gave its records this id — each earlier
 * id only for the time before its records moved on (after a split the id goes on as another
 * person). The access log keeps the id of the moment, so these are where a subject's accesses
 * are, up to the commit of the pass that moved the records on (HistoricId's `loggedUntil`): a
 * lookup made between the pass's stamp and its commit logged the earlier id (found by a defect
 * hunt: a search made while a merge committed was missing from the merged person's answer). The
 * stamps still order the moves below, as each pass's moves share one. Moves out of the person (a
 * part split off later) are not followed: that part is someone else from then on, and so are
 * moves into an earlier id made once its records had moved on: those records went to whoever
 * holds that id now, not here. `capped` says the history reached
 * MAX_HISTORY_IDS and is incomplete.
 *
 * Each id counts only from when the person's records came to hold it (`person_since`,
 * `held_since`: migration 0022): before then it was someone else's. Where a merge is undone and
 * the two parts go on under two ids, what was logged under either id before the merge is about
 * the other part alone, and (a review found) each one's request had listed both. So moves into an id before the person's records reached it
 * are not followed, and a merge into the current id whose records have all left again is not
 * either. A history written before the migration (null times) reads as it did.
 */
export async function personIdHistory(
  db: Kysely<Database>,
  personId: string,
): Promise<{ ids: HistoricId[]; capped: boolean }> {
  const holders = await db
    .selectFrom('source_record')
    .select('person_since')
    .distinct()
    .where('person_id', '=', personId)
    .execute();
  const stillHere = new Set(holders.map((r) => r.person_since));
  // An id no record holds, or one some record has held since first linked, has no start. Else
  // it counts from when the records here came, even where the records that held it before were
  // deleted, not moved on (a snapshot without them, retention): the store cannot tell a person's
  // own records dropped after a merge from a wrong merge's records corrected away, and counted
  // from its start the id showed one person what was looked up about the other (a defect hunt
  // found both; the answer errs on the side that discloses no one else's accesses).
  const since = stillHere.has(null) || holders.length === 0 ? undefined : [...stillHere].sort()[0]!;
  // Records that merged in and later left again: a move out names when they had come.
  const leftAgain = new Set(
    (
      await db
        .selectFrom('person_id_move')
        .select('held_since')
        .distinct()
        .where('from_person_id', '=', personId)
        .where('held_since', 'is not', null)
        .execute()
    ).map((r) => r.held_since),
  );
  const windows = new Map<string, Window>([[personId, { since, until: undefined, loggedUntil: undefined }]]);
  let frontier = [personId];
  let capped = false;
  while (frontier.length > 0) {
    const next = new Set<string>();
    const rows = await movesBy(db, 'to_person_id', frontier);
    const heldNow = await holdersSince(
      db,
      frontier.filter((id) => id !== personId),
    );
    for (const row of rows) {
      const { from_person_id: from, to_person_id: to, moved_at: movedAt, held_since: heldSince } = row;
      // Not known (a move before migration 0030, or the pass ended before writing it): the stamp.
      const committedAt = row.committed_at !== null && row.committed_at > movedAt ? row.committed_at : movedAt;
      const window = windows.get(to)!;
      // Records that reached the earlier id once its own had moved on to this person are
      // someone else's: they never came here (a review found a SAR showing their accesses).
      if (window.until !== undefined && movedAt >= window.until) continue;
      // Nor did those it held before this person's records came to it.
      if (window.since !== undefined && movedAt < window.since) continue;
      if (to === personId && leftAgain.has(movedAt) && !stillHere.has(movedAt)) continue;
      // Nor records that merged into an earlier id and hold it still: after a merge undone where
      // they kept the id and this person's records moved on, what was logged under their own id
      // before the merge is about the part left there (found by a defect hunt: the part given a
      // new id was shown the other part's accesses from before the merge).
      if (heldNow.get(to)?.has(movedAt) === true) continue;
      const known = windows.get(from);
      if (known === undefined) {
        if (windows.size >= MAX_HISTORY_IDS) {
          capped = true;
          continue;
        }
        windows.set(from, { since: heldSince ?? undefined, until: movedAt, loggedUntil: committedAt });
        next.add(from);
        continue;
      }
      // Reached again by another path: the wider window stands.
      const wider: Window = {
        since: earliest(known.since, heldSince ?? undefined),
        until: latest(known.until, movedAt),
        loggedUntil: latest(known.loggedUntil, committedAt),
      };
      windows.set(from, wider);
      // The moves into the id followed depend on its stamps alone, not on its commit.
      if (wider.since !== known.since || wider.until !== known.until) next.add(from);
    }
    frontier = [...next];
  }
  return {
    ids: [...windows].map(([id, { since: from, until, loggedUntil }]) => ({
      personId: id,
      since: from,
      until,
      loggedUntil,
    })),
    capped,
  };
}

/**
 * The ids whose subject access answers show an entry logged under `personId` at `loggedAt`: the
 * people whose records the id held then, by the ids they hold now. An entry written later that
 * is about what was logged then (a DPO's inclusion proof of it: api/audit-api.ts) names these,
 * not the id of the time: an answer follows an earlier id only for the time the person's records
 * held it, and once a pass has moved them on the id may go on as another person (a split, a
 * merge undone). Found by a review: a proof asked for after a merge named the id the merge gave
 * away, after the time the person's answer follows it, and the answer left it out. Candidates are
 * the ids the moves out of `personId` lead to since then, and the id itself; each is kept when its
 * own history ({@link personIdHistory}) would show the entry, the answer's rule. None kept (a
 * history past the bound), the id itself, as before.
 */
export async function idsAnsweringFor(db: Kysely<Database>, personId: string, loggedAt: string): Promise<string[]> {
  const reached = new Map<string, string>([[personId, loggedAt]]);
  const movedOn = new Set<string>();
  let frontier = [personId];
  while (frontier.length > 0 && reached.size < MAX_HISTORY_IDS) {
    const next: string[] = [];
    const rows = await movesBy(db, 'from_person_id', frontier);
    for (const { from_person_id: from, to_person_id: to, moved_at: movedAt, committed_at: committedAt } of rows) {
      // A move that took effect before the records came to `from` moved someone else's; one
      // stamped before but committed after still moved them (lookups log the id until the commit).
      const since = reached.get(from)!;
      if (movedAt < since && (committedAt === null || committedAt <= since)) continue;
      movedOn.add(from);
      if (reached.has(to) || reached.size >= MAX_HISTORY_IDS) continue;
      reached.set(to, movedAt);
      next.push(to);
    }
    frontier = next;
  }
  const holding = new Set<string>();
  const ids = [...reached.keys()];
  const rows = await db
    .selectFrom('source_record')
    .select('person_id')
    .distinct()
    .where('person_id', 'in', ids)
    .execute();
  for (const { person_id: id } of rows) if (id !== null) holding.add(id);
  const answering: string[] = [];
  // An id the records only passed through is answered for by where they went.
  for (const id of ids.filter((id) => holding.has(id) || !movedOn.has(id))) {
    const { ids: history } = await personIdHistory(db, id);
    const shows = history.some(
      (h) =>
        h.personId === personId &&
        (h.since === undefined || loggedAt >= h.since) &&
        (h.loggedUntil === undefined || loggedAt < h.loggedUntil),
    );
    if (shows) answering.push(id);
  }
  return answering.length > 0 ? answering : [personId];
}

/** Since when the records holding each of `ids` now came to it (`person_since`), by id. */
async function holdersSince(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, Set<string | null>>> {
  const since = new Map<string, Set<string | null>>();
  if (ids.length === 0) return since;
  const rows = await db
    .selectFrom('source_record')
    .select(['person_id', 'person_since'])
    .distinct()
    .where('person_id', 'in', ids)
    .execute();
  for (const { person_id: id, person_since: at } of rows) {
    if (id === null) continue;
    const held = since.get(id) ?? new Set<string | null>();
    held.add(at);
    since.set(id, held);
  }
  return since;
}

/** The moves into (`to_person_id`) or out of (`from_person_id`) `ids`, each with its pass's commit time. */
function movesBy(db: Kysely<Database>, side: 'from_person_id' | 'to_person_id', ids: readonly string[]) {
  return db
    .selectFrom('person_id_move')
    .leftJoin('link_run', 'link_run.id', 'person_id_move.run_id')
    .select([
      'person_id_move.from_person_id',
      'person_id_move.to_person_id',
      'person_id_move.moved_at',
      'person_id_move.held_since',
      'link_run.committed_at',
    ])
    .where(`person_id_move.${side}`, 'in', ids)
    .execute();
}
