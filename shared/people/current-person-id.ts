import { MAX_HISTORY_IDS } from '../linkage/person-id-history.js';
import type { Kysely } from 'kysely';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { QueryShapes } from './query-shapes.js';

/**
 * How far a move's time, as {@link lastMoveOutCommitted} reads it, may fall before the commit that
 * made it: the clocks of the pass's host and the API's may differ, a pass that lost its commit
 * time is read by the time it finished its work, just before its commit, and a move noted before
 * migration 0030, or outside a pass, by its stamp (settled-answer.ts).
 */
export const MOVE_COMMIT_MARGIN_MS = 60_000;

export type CurrentPersonId =
  /** The id that holds the records now: `personId` itself while any record holds it. */
  | { readonly kind: 'current'; readonly personId: string }
  /** The records went to more than one person (a split): which one the caller meant is not known. */
  | { readonly kind: 'split' }
  /**
   * No record holds the id or any it moved to (deleted, or a history past the bound). Where the
   * moves lead to one id whose records went with no move on (retention, a snapshot without the
   * person), `lastHeldBy` names it: what was logged about the person up to the deletion is under
   * it, and a subject access request by an earlier reference follows it there (found by a
   * review: a reference to an id a merge gave way showed only what was logged before the merge
   * once retention had deleted the merged person).
   */
  | { readonly kind: 'gone'; readonly lastHeldBy?: string };

/**
 * Where the records an id held are now. A reference a party holds names the person id of the
 * moment it was issued; a linking pass since may have merged that person into another id
 * (person_id_move, linkage/person-id-history.ts), and the same applicant should not turn into
 * "no match" by it. An id no record holds is followed forward through its latest moves out (the
 * pass that last emptied it; earlier moves out were of records it held before getting them back)
 * until ids that hold records are reached; an id reached that holds records, but none of those
 * that came to it from the id before (held_since: a merge since undone), is followed on as the
 * records that came went (person-id-history.ts reads the same times). Visited ids are not
 * followed again, so a cycle of moves ends, and at most MAX_HISTORY_IDS ids are visited. Runs on
 * the lookups' read connection.
 */
export async function currentPersonId(store: Store, personId: string): Promise<CurrentPersonId> {
  const visited = new Set([personId]);
  let frontier = new Map<string, string>([[personId, '']]);
  const current = new Set<string>();
  /** Ids emptied with no move out since they got the records: where the records were deleted. */
  const deletedFrom = new Set<string>();
  while (frontier.size > 0) {
    const ids = [...frontier.keys()];
    /** Each id some record holds, with the times its records came to it (null: since first linked). */
    const holding = new Map<string, Set<string | null>>();
    for (const { person_id: id, person_since: since } of await holdersQuery.execute(store, '', ids)) {
      if (id !== null) holding.set(id, (holding.get(id) ?? new Set<string | null>()).add(since));
    }
    const emptied = ids.filter((id) => !holding.has(id));
    // One read of the moves out of the ids that may be followed on: the emptied ones, and those
    // reached by a move that hold records, which may not be the ones that came.
    const followable = ids.filter((id) => !holding.has(id) || frontier.get(id) !== '');
    const movesOut = new Map<string, PersonIdMoveRow[]>();
    for (const move of followable.length === 0 ? [] : await movesOutQuery.execute(store, '', followable)) {
      movesOut.set(move.from_person_id, [...(movesOut.get(move.from_person_id) ?? []), move]);
    }
    /** Ids that hold records, but not those that came to them from here: a merge since undone. */
    const passedOn = new Set<string>();
    for (const id of ids) {
      const came = frontier.get(id)!;
      const times = holding.get(id);
      if (times === undefined) continue;
      // The records this id was reached with came to it at `came`. Still there, or none of the
      // id's records having left since they came (a history written before person_since), the id
      // is where they are. Gone on while the id's own records stayed (Alice Smith's record, merged
      // into Alice Jones's id and split off again to a new one), they are where they went: the id
      // is another person's (found by a review: a DPO's reference to Alice Smith showed Alice
      // Jones's accesses, and none of Alice Smith's).
      if (came === '' || times.has(came) || !(movesOut.get(id) ?? []).some((m) => m.held_since === came))
        current.add(id);
      else passedOn.add(id);
    }
    if (current.size > 1) return { kind: 'split' };
    if (emptied.length === 0 && passedOn.size === 0) break;
    const latest = new Map<string, { at: string; to: string[] }>();
    for (const id of [...emptied, ...passedOn]) {
      for (const move of movesOut.get(id) ?? []) {
        // A move from before the id got these records is about other records.
        if (move.moved_at < frontier.get(move.from_person_id)!) continue;
        // From an id that kept its own records, only the moves of those that came from here.
        if (passedOn.has(id) && move.held_since !== frontier.get(id)) continue;
        const last = latest.get(move.from_person_id);
        if (last === undefined || move.moved_at > last.at) {
          latest.set(move.from_person_id, { at: move.moved_at, to: [move.to_person_id] });
        } else if (move.moved_at === last.at) last.to.push(move.to_person_id);
      }
    }
    for (const id of emptied) if (!latest.has(id)) deletedFrom.add(id);
    const next = new Map<string, string>();
    for (const { at, to } of latest.values()) {
      for (const id of to) {
        if (visited.has(id)) continue;
        if (visited.size >= MAX_HISTORY_IDS) return { kind: 'gone' };
        visited.add(id);
        next.set(id, at);
      }
    }
    frontier = next;
  }
  const [only] = current;
  if (current.size === 1 && only !== undefined) return { kind: 'current', personId: only };
  const [lastHeldBy] = deletedFrom;
  return deletedFrom.size === 1 && lastHeldBy !== undefined ? { kind: 'gone', lastHeldBy } : { kind: 'gone' };
}

/** Of the ids given, those some record holds, with when their records came to them. Values: the ids. */
const holdersQuery = new QueryShapes((db, _shape, values) =>
  db.selectFrom('source_record').select(['person_id', 'person_since']).distinct().where('person_id', 'in', values),
);

interface PersonIdMoveRow {
  from_person_id: string;
  to_person_id: string;
  moved_at: string;
  held_since: string | null;
}

/** Every move out of the ids given. Values: the ids. */
const movesOutQuery = new QueryShapes<PersonIdMoveRow>((db, _shape, values) =>
  db
    .selectFrom('person_id_move')
    .select(['from_person_id', 'to_person_id', 'moved_at', 'held_since'])
    .where('from_person_id', 'in', values),
);

/**
 * When records last moved out of the person id, '' if never: what a lookup ref is issued with,
 * so that a split after it shows when the ref comes back ({@link recordsMovedOutSince}).
 */
export async function lastMoveOut(store: Store, personId: string): Promise<string> {
  const [row] = await lastMoveOutQuery.execute(store, '', [personId]);
  return row?.moved_at == null ? '' : String(row.moved_at);
}

/**
 * Whether records moved out of the person id after `since`: a linking pass split the person
 * (the largest part keeps the id, so the id is never emptied and {@link currentPersonId} follows
 * nothing), or undid a merge. A ref issued before then named the person as they were: which part
 * its holder meant is not known (found by a review: a ref issued for one applicant showed their
 * namesake once a pass split the two).
 */
export async function recordsMovedOutSince(store: Store, personId: string, since: string): Promise<boolean> {
  return (await lastMoveOut(store, personId)) > since;
}

/** The latest move out of the id given. Values: the id. */
const lastMoveOutQuery = new QueryShapes((db, _shape, values) =>
  db
    .selectFrom('person_id_move')
    .select((eb) => eb.fn.max('moved_at').as('moved_at'))
    .where('from_person_id', 'in', values),
);

/**
 * When records last moved out of the person id took effect, '' if never: what an answer checks
 * to know whether a linking pass moved the person while it was being made (settled-answer.ts).
 * A pass stamps its moves (`moved_at`) before the rest of its work and its commit, and until it
 * commits lookups read the people as they were; how long that takes grows with the pass (its
 * moves are written in chunks on SQL Server), so a stamp less a margin was no bound on the
 * commit (found by a defect hunt: a search matched the id a merge gave away before the pass
 * committed, read it after, and answered "no match" for a person held). So a move counts from
 * its pass's commit, noted just after it (`link_run.committed_at`, migration 0030), no earlier
 * than the commit; should that write be lost, or not be made yet, from when the pass finished
 * its work (`finished_at`, written in the transaction that wrote the moves, just before its
 * commit). A move with no pass (noted before migration 0030, or outside a pass) counts from its
 * stamp, as before. Never earlier than the stamp. Not what a reference is issued with: it keeps
 * the stamp ({@link lastMoveOut}), which orders the moves.
 */
export async function lastMoveOutCommitted(store: Store, personId: string): Promise<string> {
  return (await lastMoveOutTimes(store, personId)).committed;
}

/** {@link lastMoveOutCommitted} in a transaction's own reads (a write checking the id it writes against). */
export async function lastMoveOutCommittedIn(db: Kysely<Database>, personId: string): Promise<string> {
  return timesOf(await movesOutCommitted(db, [personId]).executeTakeFirst()).committed;
}

/**
 * When records last moved out of the person id, '' if never: `stamped` as {@link lastMoveOut}
 * reads it, `committed` as {@link lastMoveOutCommitted} does. One read, for an answer that
 * checks the one and issues a reference with the other.
 */
export async function lastMoveOutTimes(
  store: Store,
  personId: string,
): Promise<{ readonly stamped: string; readonly committed: string }> {
  const [row] = await lastMoveOutCommittedQuery.execute(store, '', [personId]);
  return timesOf(row);
}

function timesOf(row: { moved_at: unknown; committed_at: unknown } | undefined) {
  const stamped = row?.moved_at == null ? '' : String(row.moved_at);
  const committed = row?.committed_at == null ? '' : String(row.committed_at);
  return { stamped, committed: committed > stamped ? committed : stamped };
}

/**
 * The latest stamp of the moves out of the ids given, and the latest commit time (else finish
 * time) of the passes that noted them. The largest of the two is the largest of each move's own.
 */
const movesOutCommitted = (db: Kysely<Database>, ids: readonly string[]) =>
  db
    .selectFrom('person_id_move')
    .leftJoin('link_run', 'link_run.id', 'person_id_move.run_id')
    .select((eb) => [
      eb.fn.max('person_id_move.moved_at').as('moved_at'),
      eb.fn.max(eb.fn.coalesce('link_run.committed_at', 'link_run.finished_at')).as('committed_at'),
    ])
    .where('person_id_move.from_person_id', 'in', ids);

/** The moves out of the id given, with their passes' commit times. Values: the id. */
const lastMoveOutCommittedQuery = new QueryShapes((db, _shape, values) => movesOutCommitted(db, values));
