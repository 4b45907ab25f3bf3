import type { Kysely } from 'kysely';
import type { PersonIdMove } from '../consents/carry-consents.js';
import type { Database } from '../store/schema.js';

/** Ids a select names at once: within SQL Server's 2,100 parameters. */
const IDS_PER_SELECT = 1_000;
/** Moves an insert writes at once: three parameters each. */
const MOVES_PER_INSERT = 500;
/** Ids a subject's history may reach: a bound on a chain of merges and splits, far above any real one. */
const MAX_HISTORY_IDS = 1_000;

/**
 * Notes a pass's person-id moves (migration 0014), each pair once, in the pass's transaction:
 * the access log keeps the id a subject had when an entry was written, and a subject access
 * request follows these to every id the person's records have held.
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
      .execute();
    const seen = new Set(known.map((r) => `${r.from_person_id}\u0000${r.to_person_id}`));
    const fresh = chunk.filter((m) => !seen.has(`${m.from}\u0000${m.to}`));
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

/**
 * Every person id linked to `personId` by moves, either way and through any number of them,
 * itself first: the ids a subject's accesses may have been logged under. After a split this
 * reaches the id the person shared with another, so the entries found may concern the other's
 * records too; a DPO reviews them before disclosing.
 */
export async function personIdHistory(db: Kysely<Database>, personId: string): Promise<string[]> {
  const ids = [personId];
  const known = new Set(ids);
  let frontier = ids;
  while (frontier.length > 0 && known.size < MAX_HISTORY_IDS) {
    const next: string[] = [];
    for (let k = 0; k < frontier.length; k += IDS_PER_SELECT) {
      const chunk = frontier.slice(k, k + IDS_PER_SELECT);
      const rows = await db
        .selectFrom('person_id_move')
        .select(['from_person_id', 'to_person_id'])
        .where((eb) => eb.or([eb('from_person_id', 'in', chunk), eb('to_person_id', 'in', chunk)]))
        .execute();
      for (const { from_person_id: from, to_person_id: to } of rows) {
        for (const id of [from, to]) {
          if (!known.has(id) && known.size < MAX_HISTORY_IDS) {
            known.add(id);
            ids.push(id);
            next.push(id);
          }
        }
      }
    }
    frontier = next;
  }
  return ids;
}
