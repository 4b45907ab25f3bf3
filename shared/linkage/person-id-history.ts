import type { Kysely } from 'kysely';
import type { PersonIdMove } from '../consents/carry-consents.js';
import type { Database } from '../store/schema.js';

/** Ids a select names at once: within SQL Server's 2,100 parameters. */
const IDS_PER_SELECT = 1_000;
/** Moves an insert writes at once: three parameters each. */
const MOVES_PER_INSERT = 500;
/**
 * Earlier ids a subject's history may name: far above any real chain of merges and splits, and
 * small enough that the query over them (four conditions an id) stays within both engines' limits.
 */
export const MAX_HISTORY_IDS = 100;

/**
 * Notes a pass's person-id moves, each once, in the pass's transaction: the access log keeps
 * the id a subject had when an entry was written, and a subject access request follows these
 * to every id the person's records have held. The same pair may move again later (A→B, B→A,
 * A→B): each time is its own row (migration 0016), as the latest bounds the earlier id's window;
 * only a move already noted at this same time is skipped, as the key would refuse it.
 */
export async function recordPersonIdMoves(
  trx: Kysely<Database>,
  moves: readonly PersonIdMove[],
  at: string,
): Promise<number> {
  let written = 0;
  for (let k = 0; k < moves.length; k += IDS_PER_SELECT / 2) {
    const chunk = moves.slice(k, k + IDS_PER_SELECT / 2);
    const known = await trx
      .selectFrom('person_id_move')
      .select(['from_person_id', 'to_person_id'])
      .where(
        'from_person_id',
        'in',
        chunk.map((m) => m.from),
      )
      .where('moved_at', '=', at)
      .execute();
    const seen = new Set(known.map((r) => `${r.from_person_id}\u0000${r.to_person_id}`));
    const fresh: PersonIdMove[] = [];
    for (const m of chunk) {
      const key = `${m.from}\u0000${m.to}`;
      if (seen.has(key)) continue;
      seen.add(key);
      fresh.push(m);
    }
    for (let i = 0; i < fresh.length; i += MOVES_PER_INSERT) {
      await trx
        .insertInto('person_id_move')
        .values(
          fresh
            .slice(i, i + MOVES_PER_INSERT)
            .map((m) => ({ from_person_id: m.from, to_person_id: m.to, moved_at: at })),
        )
        .execute();
    }
    written += fresh.length;
  }
  return written;
}

/** An id a subject's accesses may be logged under, and until when (ISO time; undefined: always). */
export interface HistoricId {
  readonly personId: string;
  readonly until: string | undefined;
}

/**
 * The ids `personId`'s records have held, itself first: followed back through every move into
 * it — a merge brought another id's records in, a split gave its records this id — each earlier
 * id only for the time before its records moved on (after a split the id goes on as another
 * person). The access log keeps the id of the moment, so these are where a subject's accesses
 * are. Moves out of the person (a part split off later) are not followed: that part is someone
 * else from then on, and so are moves into an earlier id made once its records had moved on: those
 * records went to whoever holds that id now, not here. `capped` says the history reached
 * MAX_HISTORY_IDS and is incomplete.
 */
export async function personIdHistory(
  db: Kysely<Database>,
  personId: string,
): Promise<{ ids: HistoricId[]; capped: boolean }> {
  const until = new Map<string, string | undefined>([[personId, undefined]]);
  let frontier = [personId];
  let capped = false;
  while (frontier.length > 0) {
    const next = new Set<string>();
    for (let k = 0; k < frontier.length; k += IDS_PER_SELECT) {
      const rows = await db
        .selectFrom('person_id_move')
        .select(['from_person_id', 'to_person_id', 'moved_at'])
        .where('to_person_id', 'in', frontier.slice(k, k + IDS_PER_SELECT))
        .execute();
      for (const { from_person_id: from, to_person_id: to, moved_at: movedAt } of rows) {
        const later = until.get(to);
        // Records that reached the earlier id once its own had moved on to this person are
        // someone else's: they never came here (a review found a SAR showing their accesses).
        if (later !== undefined && movedAt >= later) continue;
        const bound = movedAt;
        if (!until.has(from) && until.size >= MAX_HISTORY_IDS) {
          capped = true;
          continue;
        }
        const known = until.get(from);
        // Reached again by another path: the wider window stands.
        if (until.has(from) && (known === undefined || known >= bound)) continue;
        until.set(from, bound);
        next.add(from);
      }
    }
    frontier = [...next];
  }
  return { ids: [...until].map(([id, bound]) => ({ personId: id, until: bound })), capped };
}
