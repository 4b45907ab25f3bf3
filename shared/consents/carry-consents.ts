import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Engine } from '../store/dialect.js';
import type { ConsentEventTable, Database } from '../store/schema.js';

/** One record's person id before and after a linking pass. */
export interface PersonIdMove {
  readonly from: string;
  readonly to: string;
}

/** Person ids a select names at once: within SQL Server's 2,100 parameters. */
const IDS_PER_SELECT = 1_000;
/** Events an insert writes at once: ten parameters each. */
const EVENTS_PER_INSERT = 200;

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

/**
 * Carries consent and opt-out events to the person ids a linking pass gave their subject's
 * records, in the pass's transaction (before it writes the new ids). Consents are recorded per
 * person id, so without this a merge would leave the losing id's opt-out applying to no one.
 *
 * Each move is a record whose id changed from `from` to `to`. Where no record holds `from` after
 * the pass (`stillHeld` does not name it: a merge, or a carried id the pass did not keep), every
 * event of `from` is copied under `to`, so the survivor gets the merged people's consents and
 * opt-outs. Where some record still holds `from` (a split: the original person continues under
 * it), the parts split off get only its opt-outs (and their withdrawals), so an opt-out stays
 * with each part — but never its consents: a consent was given by one person, and a part split
 * off may be someone else, who must not count as consenting (this fails closed). Events are
 * copied (as they stood before this pass) with their consent id, who recorded or withdrew them,
 * on what evidence and when unchanged; the originals stay where they are. Nothing is copied twice: `to` already holding an
 * event of the same consent and action (an earlier pass carried it) is left as it is. A
 * withdrawal names a consent id, so it ends the consent under every person id it was carried to.
 *
 * On SQL Server the events of `from` are read with a range lock held to the end of the pass, so
 * an opt-out being written against `from` meanwhile either is read here (the read waits for it)
 * or waits for this pass and then finds its person gone (StoreConsentRegister.record refuses it).
 * The pass calls this before it writes the new ids, so that write's check of `source_record`
 * never waits on the pass while the pass waits on the write.
 *
 * Returns how many events were written.
 */
export async function carryConsentEvents(
  trx: Kysely<Database>,
  engine: Engine,
  moves: readonly PersonIdMove[],
  /** The person ids some record holds once the pass has written its ids. */
  stillHeld: ReadonlySet<string>,
): Promise<number> {
  const targets = new Map<string, Set<string>>();
  for (const { from, to } of moves) {
    if (from === to) continue;
    let tos = targets.get(from);
    if (tos === undefined) targets.set(from, (tos = new Set()));
    tos.add(to);
  }
  if (targets.size === 0) return 0;

  // Every source event first, so an id that is both a source and a target in this pass passes
  // on only what it held before the pass.
  const sources: ConsentEventTable[] = [];
  const froms = [...targets.keys()];
  const lock = engine === 'mssql' ? sql.raw(' with (holdlock)') : sql.raw('');
  for (let k = 0; k < froms.length; k += IDS_PER_SELECT) {
    const chunk = froms.slice(k, k + IDS_PER_SELECT);
    const { rows } = await sql<ConsentEventTable>`select ${sql.join(COLUMNS.map((c) => sql.ref(c)))}
      from consent_event${lock} where subject_key in (${sql.join(chunk)})`.execute(trx);
    sources.push(...rows);
  }
  if (sources.length === 0) return 0;

  const tos = [...new Set(sources.flatMap((e) => [...targets.get(e.subject_key)!]))];
  const held = new Set<string>();
  const key = (subject: string, consentId: string, action: string) => `${subject}\u0000${consentId}\u0000${action}`;
  for (let k = 0; k < tos.length; k += IDS_PER_SELECT) {
    const rows = await trx
      .selectFrom('consent_event')
      .select(['subject_key', 'consent_id', 'action'])
      .where('subject_key', 'in', tos.slice(k, k + IDS_PER_SELECT))
      .execute();
    for (const row of rows) held.add(key(row.subject_key, row.consent_id, row.action));
  }

  const copies: ConsentEventTable[] = [];
  for (const event of sources) {
    if (event.kind !== 'opt-out' && stillHeld.has(event.subject_key)) continue;
    for (const to of targets.get(event.subject_key)!) {
      const k = key(to, event.consent_id, event.action);
      if (held.has(k)) continue;
      held.add(k);
      copies.push({ ...event, event_id: randomUUID(), subject_key: to });
    }
  }
  for (let k = 0; k < copies.length; k += EVENTS_PER_INSERT) {
    await trx
      .insertInto('consent_event')
      .values(copies.slice(k, k + EVENTS_PER_INSERT))
      .execute();
  }
  return copies.length;
}
