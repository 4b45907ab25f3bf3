import type { Kysely } from 'kysely';
import type { PersonIdMove } from '../consents/carry-consents.js';
import type { HistoricId } from '../linkage/person-id-history.js';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';

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
  engine: Engine,
  carries: readonly PersonIdMove[],
  at: string,
): Promise<number> {
  const pairs = new Map<string, PersonIdMove>();
  for (const carry of carries) {
    if (carry.from !== carry.to) pairs.set(`${carry.from}\u0000${carry.to}`, carry);
  }
  const known = await inSlices(engine, [...new Set([...pairs.values()].map((c) => c.from))], (slice) =>
    trx
      .selectFrom('opt_out_successor')
      .select(['earlier_person_id', 'later_person_id'])
      .where('earlier_person_id', 'in', slice)
      .execute(),
  );
  for (const r of known) pairs.delete(`${r.earlier_person_id}\u0000${r.later_person_id}`);
  const insert = new BatchedInsert(engine, 'opt_out_successor', ['earlier_person_id', 'later_person_id'], {
    shared: { carried_at: at },
  });
  for (const c of pairs.values()) {
    insert.push([c.from, c.to]);
    if (insert.full) await insert.flush(trx, false);
  }
  await insert.flush(trx, true);
  return pairs.size;
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
  // A history names at most MAX_HISTORY_IDS ids (person-id-history.ts): one statement each way.
  const columns = ['earlier_person_id', 'later_person_id', 'carried_at'] as const;
  const ways = [
    ['later_person_id', 'earlier_person_id', 'earlier'],
    ['earlier_person_id', 'later_person_id', 'later'],
  ] as const;
  for (const [own, other, relation] of ways)
    for (const row of await db.selectFrom('opt_out_successor').select(columns).where(own, 'in', ids).execute())
      consider(row[own], row[other], relation, row.carried_at);
  return [...found.values()].sort((a, b) =>
    a.at === b.at ? (a.personId < b.personId ? -1 : 1) : a.at < b.at ? -1 : 1,
  );
}
