import type { Kysely } from 'kysely';
import type { PersonIdMove } from '../consents/carry-consents.js';
import type { HistoricId } from '../linkage/person-id-history.js';
import type { Database } from '../store/schema.js';

/** Ids a select names at once: within SQL Server's 2,100 parameters. */
const IDS_PER_SELECT = 1_000;
/** Carries an insert writes at once: three parameters each, within SQL Server's 2,100. */
const CARRIES_PER_INSERT = 500;

/**
 * Person ids that may be one person's because an import carried an opt-out from one to the other.
 *
 * When a snapshot's records cannot be followed (a corrected NHS number, twin rows, a corrected
 * surname: carried-person-ids.ts), the import gives every plausible successor of an opted-out
 * person a copy of their opt-out, mostly under a new person id (opt-out-successors.ts; and for
 * kept keys, opt-out-kept-keys.ts). That is deliberately no person-id move (person-id-history.ts):
 * a plausible successor is not certain to be the same person — a twin, a namesake newly in
 * temporary accommodation — so a subject access request under one id must not show the accesses
 * logged under the other, which may be another person's. But without a trace of the carry the
 * answer under either id gave no hint that the other existed, and the DPO answered the requester
 * from half their history (found by a defect hunt). So each carry is noted, ids and time only
 * ({@link noteOptOutSuccessors}), and the request names the other id by a reference for the DPO
 * to follow and judge ({@link possiblySamePerson}), both ways.
 */

/**
 * Notes the opt-out carries `carries` (from the earlier id to the later), each pair once, in the
 * load's or pass's transaction, beside the copies of the opt-out.
 */
export async function noteOptOutSuccessors(
  trx: Kysely<Database>,
  carries: readonly PersonIdMove[],
  at: string,
): Promise<number> {
  const pairs = new Map<string, PersonIdMove>();
  for (const carry of carries) {
    if (carry.from !== carry.to) pairs.set(`${carry.from}\u0000${carry.to}`, carry);
  }
  const all = [...pairs.values()];
  let written = 0;
  for (let k = 0; k < all.length; k += IDS_PER_SELECT) {
    const chunk = all.slice(k, k + IDS_PER_SELECT);
    const known = await trx
      .selectFrom('opt_out_successor')
      .select(['earlier_person_id', 'later_person_id'])
      .where('earlier_person_id', 'in', [...new Set(chunk.map((c) => c.from))])
      .execute();
    const seen = new Set(known.map((r) => `${r.earlier_person_id}\u0000${r.later_person_id}`));
    const fresh = chunk.filter((c) => !seen.has(`${c.from}\u0000${c.to}`));
    for (let i = 0; i < fresh.length; i += CARRIES_PER_INSERT) {
      await trx
        .insertInto('opt_out_successor')
        .values(
          fresh
            .slice(i, i + CARRIES_PER_INSERT)
            .map((c) => ({ earlier_person_id: c.from, later_person_id: c.to, carried_at: at })),
        )
        .execute();
    }
    written += fresh.length;
  }
  return written;
}

/** An id an opt-out was carried from (`earlier`) or to (`later`) one of a person's ids, and when. */
export interface PossiblySamePerson {
  readonly personId: string;
  readonly relation: 'earlier' | 'later';
  readonly at: string;
}

/**
 * The ids an opt-out was carried to or from any of `history` (a person's ids, each with the time
 * its records were the person's: personIdHistory), other than those ids themselves, oldest carry
 * first, each id once (its first carry). A carry involving an id outside the time the person's
 * records held it is not theirs: the id held someone else's records then — after they moved on,
 * or before they came (a merge since undone: a review found the person split off named the id an
 * opt-out had been carried from to the other part before the merge).
 */
export async function possiblySamePerson(
  db: Kysely<Database>,
  history: readonly HistoricId[],
): Promise<PossiblySamePerson[]> {
  const windows = new Map(history.map((h) => [h.personId, h]));
  const ids = [...windows.keys()];
  const found = new Map<string, PossiblySamePerson>();
  const consider = (ownId: string, otherId: string, relation: PossiblySamePerson['relation'], at: string) => {
    const { since, until } = windows.get(ownId)!;
    if (windows.has(otherId) || (until !== undefined && at >= until) || (since !== undefined && at < since)) return;
    const known = found.get(otherId);
    if (known === undefined || at < known.at) found.set(otherId, { personId: otherId, relation, at });
  };
  for (let k = 0; k < ids.length; k += IDS_PER_SELECT) {
    const chunk = ids.slice(k, k + IDS_PER_SELECT);
    const columns = ['earlier_person_id', 'later_person_id', 'carried_at'] as const;
    for (const row of await db
      .selectFrom('opt_out_successor')
      .select(columns)
      .where('later_person_id', 'in', chunk)
      .execute())
      consider(row.later_person_id, row.earlier_person_id, 'earlier', row.carried_at);
    for (const row of await db
      .selectFrom('opt_out_successor')
      .select(columns)
      .where('earlier_person_id', 'in', chunk)
      .execute())
      consider(row.earlier_person_id, row.later_person_id, 'later', row.carried_at);
  }
  return [...found.values()].sort((a, b) =>
    a.at === b.at ? (a.personId < b.personId ? -1 : 1) : a.at < b.at ? -1 : 1,
  );
}
