import { sql, type Kysely, type Transaction } from 'kysely';
import { carryOptOutEvents, type PersonIdMove } from '../consents/carry-consents.js';
import { NAMES_KEY_KINDS } from '../consents/opt-out-names-key.js';
import { noteOptOutSuccessors } from '../people/possibly-same-person.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { resemblingNoted, setCarriedPersonIds, type NotedRecords } from './opt-out-successors.js';
import { uuidV7 } from './record-ids.js';

/**
 * An opt-out that follows a person out of one party's dataset and into another's.
 *
 * An opt-out is recorded against a person id, and reaches new records through the ids the
 * import and the linking pass give them. A person whose last records a party's snapshot drops
 * leaves the opt-out on an id no record holds; when another party's snapshot then sends them,
 * after the first one was loaded and linked, nothing links the new record to that id, and it
 * would be shared as someone new. So when a snapshot's load drops records of an opted-out person
 * of the previous snapshot that it does not follow, the keys of those records are kept
 * ({@link keepKeysOfDeparted}) — also while another party still holds the person, as that
 * party's records may lack what these held (an NHS number), and are gone by the time it drops
 * the person in turn: the date of birth, names and postcode as the store held them
 * (normalised), and the identifiers' keyed hashes with their key version — nothing raw. Later
 * loads and linking passes give each record of that dataset, from any party, without a person id
 * that is a plausible successor of kept keys, by the same rules as within a snapshot
 * (opt-out-successors.ts), a new carried person id holding a copy of the opt-out
 * ({@link reachArrivals}); the next linking pass joins it to whoever it links to, who takes the
 * opt-out too. Fails closed, as the successors within a snapshot do: a namesake arriving years
 * later is opted out as well. Opt-outs only: a consent is never carried this way.
 *
 * At load, for the load's own records no predecessor was carried to, so the record is refused
 * from the commit on, as a successor within a snapshot is; and at the start of each linking pass,
 * under its lock, for every record of its datasets no pass has placed yet — one another party
 * sent before the load that removed the person, its pass still to come (at load it could race a pass
 * writing that record's person id). A record carried from its dataset's previous snapshot, or
 * linked, is not compared: it is its person's already, so not an arrival. Only records of the
 * dataset the keys were kept from, from any party: an agreement's parties share its datasets,
 * and its people are formed within it.
 *
 * A retention pass keeps them the same way when it deletes the records of an opted-out person
 * (the rule holds no one for an opt-out: enforce-retention.ts), from every party, so that the
 * objection reaches them should any party send them again.
 *
 * The keys live as long as the opt-out: a withdrawal deletes them ({@link endKeptKeys}); so does
 * a purge of the dataset they were kept from once no agreement defines it
 * ({@link endKeptKeysOfDataset}: no record of it can arrive for them to reach). Nothing else
 * does, not a retention pass nor a later arrival (the person may move again).
 *
 * A rotation of `pseudonymisation-key` leaves kept hashes under the old version, which a new
 * record's hash never equals. So a load also hashes its records' identifiers under every other
 * version the dataset's kept hashes use ({@link keptKeyVersions}), by the same means as under the
 * previous snapshot's key for the person-id carry (row-preparation.ts, snapshot-writer.ts), for
 * the comparison only, and a hash meets only one of its own version. A kept version gone from
 * Key Vault is not compared (the import logs it); another failure to read it fails the import.
 * A linking pass holds no raw identifier: it compares the stored hashes, of one version, so a
 * record loaded under a newer key before the keys were kept is reached only by its names, date
 * of birth and postcode.
 */

/** The kept keys, as the successor rules read a person's noted records. */
const KEPT: NotedRecords = { records: 'opt_out_kept_record', identifiers: 'opt_out_kept_identifier' };

/**
 * Keeps the keys of the noted opted-out people (`noted`: those the import could not follow from
 * the previous snapshot, OptOutSuccessors.left), whether or not another party still holds them;
 * call in the load's transaction once its records are in and carried. A retention pass keeps
 * those of the opted-out people it deletes by this too, in its deletion's transaction
 * (retention/retention-people.ts).
 */
export async function keepKeysOfDeparted(trx: Kysely<Database>, noted: NotedRecords, datasetId: string): Promise<void> {
  const records = sql.raw(noted.records);
  const identifiers = sql.raw(noted.identifiers);
  const same = (column: string) =>
    sql.raw(`(k.${column} = r.${column} or (k.${column} is null and r.${column} is null))`);
  await sql`insert into opt_out_kept_record
      (record_id, person_id, dataset_id, date_of_birth, given_name, family_name, first3, postcode, kept_at)
    select r.record_id, r.person_id, ${datasetId}, r.date_of_birth, r.given_name, r.family_name, r.first3, r.postcode,
      ${new Date().toISOString()}
    from ${records} r
    where not exists (select 1 from opt_out_kept_record k
      where k.dataset_id = ${datasetId} and ${same('date_of_birth')} and ${same('given_name')}
        and ${same('family_name')} and ${same('first3')} and ${same('postcode')} and ${covers('k', 'r')})
      and not exists (select 1 from opt_out_kept_record k where k.record_id = r.record_id and k.person_id = r.person_id)`.execute(
    trx,
  );
  await sql`insert into opt_out_kept_identifier (person_id, dataset_id, kind, hash, key_version)
    select distinct i.person_id, ${datasetId}, i.kind, i.hash, i.key_version
    from ${identifiers} i
    where not exists (select 1 from opt_out_kept_identifier k
        where k.dataset_id = ${datasetId} and k.kind = i.kind and k.hash = i.hash and ${covers('k', 'i')})`.execute(
    trx,
  );
}

/**
 * Whether keys kept under `kept`'s person id already stand for the same keys of `noted`'s: the
 * same id, or one holding every opt-out in force for it (a copy carries the consent id). Twin
 * rows the carry cannot tell apart get new ids holding copies at every snapshot, and leave
 * their old id behind each time: without this, a stable extract added their keys again daily.
 * A withdrawal that deletes the kept row ends every such copy too (endKeptKeys).
 */
function covers(kept: string, noted: string) {
  const [k, n] = [sql.raw(kept), sql.raw(noted)];
  return sql`(${k}.person_id = ${n}.person_id or not exists (
    select 1 from consent_event o
    where o.subject_key = ${n}.person_id and o.kind = 'opt-out' and o.action = 'record'
      and not exists (select 1 from consent_event w where w.consent_id = o.consent_id and w.action = 'withdraw')
      and not exists (
        select 1 from consent_event c
        where c.subject_key = ${k}.person_id and c.consent_id = o.consent_id and c.action = 'record')))`;
}

/**
 * The key versions of the identifier hashes kept for `datasetId` other than `currentVersion`: a
 * load of that dataset hashes its records' identifiers under each of them as well, so that a kept
 * hash made before a rotation still meets an arrival (import-extract.ts). Read in the load's
 * transaction, as the keys a load keeps are written in one. Not those of names keys alone, which
 * no identifier meets: a load read their version for nothing, and failed when it could not.
 */
export async function keptKeyVersions(
  trx: Kysely<Database>,
  datasetId: string,
  currentVersion: string,
): Promise<string[]> {
  const rows = await trx
    .selectFrom('opt_out_kept_identifier')
    .select('key_version')
    .distinct()
    .where('dataset_id', '=', datasetId)
    .where('key_version', '<>', currentVersion)
    .where('kind', 'not in', NAMES_KEY_KINDS)
    .execute();
  return rows.map((row) => row.key_version).sort();
}

/**
 * Which records without a person id {@link reachArrivals} compares: those a load has just
 * written (`runId`: none carried from a predecessor), or every such record of the datasets a
 * linking pass is about to link.
 */
type ArrivalScope = { readonly runId: string } | { readonly datasetIds: readonly string[] };

/**
 * Gives each record of `scope` without a person id that may be a kept person's (of its own
 * dataset, from any party) a new carried person id holding that person's opt-outs. A load gives
 * `comparisonTable`, its records' identifiers hashed under other key versions (snapshot-writer.ts),
 * {@link keptKeyVersions} among them. Returns how many records it reached.
 */
export async function reachArrivals(
  trx: Transaction<Database>,
  engine: Engine,
  scope: ArrivalScope,
  comparisonTable?: string,
): Promise<number> {
  // Most loads and passes find nothing kept: one probe, then nothing. An opt-out recorded for a
  // person not held keeps identifier hashes alone (StoreConsentRegister.recordUnheld), or by
  // names alone a names key no record's identifier meets (NAMES_KEY_KINDS).
  const kept = await sql<{
    kept: number;
  }>`select case when exists (select 1 from opt_out_kept_record)
      or exists (select 1 from opt_out_kept_identifier) then 1 else 0 end as kept`.execute(trx);
  if (Number(kept.rows[0]?.kept ?? 0) === 0) return 0;
  if ('datasetIds' in scope && scope.datasetIds.length === 0) return 0;
  const within =
    'runId' in scope ? sql`sr.import_run_id = ${scope.runId}` : sql`sr.dataset_id in (${sql.join(scope.datasetIds)})`;
  const { rows } = await sql<{ found: string; person_id: string }>`
    select x.found, x.person_id
    from (${resemblingNoted(
      engine,
      KEPT,
      sql`sr.id`,
      sql`sr.person_id is null and sr.dataset_id = p.dataset_id and ${within}`,
      comparisonTable === undefined ? ['record_identifier'] : ['record_identifier', comparisonTable],
    )}) x`.execute(trx);
  if (rows.length === 0) return 0;
  const newIds = new Map<string, string>();
  const moves: PersonIdMove[] = [];
  for (const { found: record, person_id: from } of rows) {
    let to = newIds.get(record);
    if (to === undefined) newIds.set(record, (to = uuidV7()));
    moves.push({ from, to });
  }
  await carryOptOutEvents(trx, engine, moves);
  // As within a snapshot: no person-id move, but a note the subject access request names the
  // other id by (people/possibly-same-person.ts).
  await noteOptOutSuccessors(trx, engine, moves, new Date().toISOString());
  await setCarriedPersonIds(trx, [...newIds]);
  return newIds.size;
}

/**
 * Ends the kept keys of every person id the opt-out `consentId` was recorded or copied under
 * that holds no other opt-out in force; call in the withdrawal's transaction.
 */
export async function endKeptKeys(trx: Kysely<Database>, consentId: string): Promise<void> {
  for (const table of ['opt_out_kept_record', 'opt_out_kept_identifier']) {
    const person = sql.raw(`${table}.person_id`);
    await sql`delete from ${sql.raw(table)}
      where ${person} in (select e.subject_key from consent_event e where e.consent_id = ${consentId})
        and not exists (
          select 1 from consent_event o
          where o.subject_key = ${person} and o.kind = 'opt-out' and o.action = 'record'
            and not exists (select 1 from consent_event w where w.consent_id = o.consent_id and w.action = 'withdraw'))`.execute(
      trx,
    );
  }
}

/**
 * Ends every key kept for `datasetId`, whoever's and whatever opt-out holds them: for a purge of a
 * dataset no agreement defines (retention/dropped-datasets.ts), in its deletion's transaction.
 * Keys only ever reach later records of the dataset they were kept from, and none can arrive for
 * such a dataset: left, they held the names, date of birth, postcode and identifier hashes of
 * people who objected for as long as the opt-out lasted, for nothing (found by a review: storage
 * limitation, UK GDPR Art. 5(1)(e)). The opt-outs stay in force. Returns how many people's keys
 * it deleted.
 */
export async function endKeptKeysOfDataset(trx: Kysely<Database>, datasetId: string): Promise<number> {
  const people = new Set<string>();
  for (const table of ['opt_out_kept_record', 'opt_out_kept_identifier'] as const) {
    const rows = await trx
      .selectFrom(table)
      .select('person_id')
      .distinct()
      .where('dataset_id', '=', datasetId)
      .execute();
    for (const { person_id: personId } of rows) people.add(personId);
    await trx.deleteFrom(table).where('dataset_id', '=', datasetId).execute();
  }
  return people.size;
}
