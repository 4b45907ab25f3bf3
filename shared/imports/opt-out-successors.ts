import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { carryOptOutEvents, type PersonIdMove } from '../consents/carry-consents.js';
import { noteOptOutSuccessors } from '../people/possibly-same-person.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { familyNameKeySql, otherFamilyNameSpellingSql } from './family-name-key-sql.js';
import { uuidV7 } from './record-ids.js';
import { createTempIndex, snapshotTempTable, tempText } from './snapshot-temp-table.js';
import type { Snapshot } from './snapshot-writer.js';

/** Records a person-id update statement names: five parameters each, within SQL Server's 2,100. */
const UPDATE_ROWS = 400;

/**
 * Whether `a`'s family name is `b`'s by familyNameKey, as the linking rules compare them ("O
 * BRIEN" is "OBRIEN"): one of `b`'s two spellings, so still an index seek a spelling on `a`'s.
 */
const sameFamily = (a: string, b: string) =>
  `${a}.family_name in (${b}.family_name, ${otherFamilyNameSpellingSql(`${b}.family_name`)})`;

/** A date of birth `YYYY-MM-DD` with its day and month swapped (the same SQL on SQLite and SQL Server). */
const swappedDate = (column: string) =>
  `concat(substring(${column}, 1, 5), substring(${column}, 9, 2), '-', substring(${column}, 6, 2))`;

/**
 * When record `a` may be the same person's as record `b` by their own values: the same date of
 * birth and family name (a corrected given name, a twin row), or the same date of birth, first
 * three letters and postcode (a corrected surname), or the same names and postcode (a corrected
 * date of birth) — and, as a record in temporary accommodation often has no postcode, the same
 * date of birth and given name (a corrected or changed surname) or the same names with the day
 * and month of the date of birth swapped (the commonest slip in a date). Loose on purpose: it
 * decides where an opt-out goes, failing closed. Within a snapshot, the names alone are a last
 * resort for a record with nothing else to go by ({@link namesAlone}). A family name is compared
 * by its familyNameKey ({@link sameFamily}), as the linking rules compare it: an arrival the
 * dob-name rule would link ("Marianne O Brien" to "Mary O'Brien") is not left without her opt-out.
 */
const RESEMBLES = {
  dobAndFamily: (a: string, b: string) => sql.raw(`${a}.date_of_birth = ${b}.date_of_birth and ${sameFamily(a, b)}`),
  dobFirst3AndPostcode: (a: string, b: string) =>
    sql.raw(`${a}.postcode = ${b}.postcode and ${a}.date_of_birth = ${b}.date_of_birth and ${a}.first3 = ${b}.first3`),
  namesAndPostcode: (a: string, b: string) =>
    sql.raw(`${a}.postcode = ${b}.postcode and ${sameFamily(a, b)} and ${a}.first3 = ${b}.first3`),
  dobAndGiven: (a: string, b: string) =>
    sql.raw(`${a}.date_of_birth = ${b}.date_of_birth and ${a}.given_name = ${b}.given_name`),
  swappedDobAndNames: (a: string, b: string) =>
    sql.raw(
      `${a}.date_of_birth = ${swappedDate(`${b}.date_of_birth`)} and ${sameFamily(a, b)} and ${a}.first3 = ${b}.first3`,
    ),
  any: (a: string, b: string) =>
    sql.join(
      [
        RESEMBLES.dobAndFamily(a, b),
        RESEMBLES.dobFirst3AndPostcode(a, b),
        RESEMBLES.namesAndPostcode(a, b),
        RESEMBLES.dobAndGiven(a, b),
        RESEMBLES.swappedDobAndNames(a, b),
      ].map((way) => sql`(${way})`),
      sql` or `,
    ),
};

/**
 * Tables of opted-out people's records to find plausible successors of: `records` with their
 * `person_id`, date of birth, names, first three letters and postcode, `identifiers` with their
 * `person_id`, `kind`, `hash` and `key_version`. The import's notes of the previous snapshot
 * ({@link OptOutSuccessors}), or the keys kept of people no record holds any more
 * (opt-out-kept-keys.ts).
 */
export interface NotedRecords {
  readonly records: string;
  readonly identifiers: string;
}

/**
 * Creates the tables of `noted`, empty, as temporary tables of the caller's transaction
 * (snapshot-temp-table.ts): the import's notes of the previous snapshot ({@link OptOutSuccessors}),
 * or a retention pass's of the opted-out people it deletes (retention/retention-people.ts), whose
 * keys are then kept as a load keeps them (opt-out-kept-keys.ts). `identified`: whether the record
 * had an identifier (one without, and without a postcode, may be followed by its names alone,
 * {@link namesAlone}). Keyed in the `create table`: SQL Server refuses `create index` inside a
 * snapshot transaction, which a retention pass is.
 */
export async function createNotedTables(trx: Kysely<Database>, engine: Engine, noted: NotedRecords): Promise<void> {
  const records = sql.raw(noted.records);
  const identifiers = sql.raw(noted.identifiers);
  const text = (n: number) => tempText(engine, n);
  await sql`drop table if exists ${records}`.execute(trx);
  await sql`create table ${records} (
    record_id ${text(100)} not null primary key,
    person_id ${text(64)} not null,
    date_of_birth ${text(10)},
    given_name ${text(200)},
    family_name ${text(200)},
    first3 ${text(3)},
    postcode ${text(9)},
    identified int not null)`.execute(trx);
  await sql`drop table if exists ${identifiers}`.execute(trx);
  await sql`create table ${identifiers} (
    person_id ${text(64)} not null,
    kind ${text(100)} not null,
    hash ${text(64)} not null,
    key_version ${text(64)} not null,
    primary key (kind, hash, person_id))`.execute(trx);
}

/**
 * Notes the records `sr` that `fromAndWhere` (a `from … where …` naming them `sr`) finds, with
 * their person id and matching keys as the store holds them.
 */
export async function noteRecords(
  trx: Kysely<Database>,
  noted: NotedRecords,
  fromAndWhere: RawBuilder<unknown>,
): Promise<void> {
  await sql`insert into ${sql.raw(noted.records)} (record_id, person_id, date_of_birth, given_name, family_name,
      first3, postcode, identified)
    select sr.id, sr.person_id, sr.date_of_birth, sr.given_name, sr.family_name, sr.first3, sr.postcode,
      case when exists (select 1 from record_identifier ri where ri.record_id = sr.id) then 1 else 0 end
    ${fromAndWhere}`.execute(trx);
}

/** Notes the identifiers of `noted`'s records, once its records are noted; each a person's once. */
export async function noteIdentifiersOfNotedRecords(trx: Kysely<Database>, noted: NotedRecords): Promise<void> {
  await sql`insert into ${sql.raw(noted.identifiers)} (person_id, kind, hash, key_version)
    select distinct r.person_id, ri.kind, ri.hash, ri.key_version
    from ${sql.raw(noted.records)} r cross join record_identifier ri where ri.record_id = r.record_id`.execute(trx);
}

/**
 * The records `sr` (filtered by `where`) resembling a noted record `p` of an opted-out person:
 * `found` (what of `sr` to return) and `p.person_id` as `person_id`. By one indexed join a way
 * of resembling, each from the few noted records (`cross join` keeps that order on SQLite), not
 * one join with an `or` no index serves; SQLite, which keeps no statistics here, is told the
 * index, as it would otherwise read the whole snapshot through the dataset's index for each
 * noted record. `identifiers`: the tables where `sr`'s identifiers can be compared with the noted
 * ones, each with `record_id`, `kind`, `hash` and `key_version` (see {@link OptOutSuccessors.carry}):
 * `'record_identifier'` for the stored ones, the import's table of their hashes under other key
 * versions after a rotation (snapshot-writer.ts). A hash meets only one of its own version.
 */
export function resemblingNoted(
  engine: Engine,
  noted: NotedRecords,
  found: RawBuilder<unknown>,
  where: RawBuilder<unknown>,
  identifiers: readonly string[],
): RawBuilder<unknown> {
  const records = sql.raw(noted.records);
  const byValues = (index: string, on: RawBuilder<unknown>) => sql`select ${found} as found, p.person_id
    from ${records} p cross join source_record sr${engine === 'sqlite' ? sql.raw(` indexed by ${index}`) : sql``}
    where ${on} and ${where}`;
  const ways = [
    byValues('source_record_dob_name', sql`${RESEMBLES.dobAndFamily('sr', 'p')}`),
    // By the postcode's index: a postcode holds a few households, a date of birth thousands.
    byValues('source_record_postcode_name', sql`${RESEMBLES.dobFirst3AndPostcode('sr', 'p')}`),
    byValues('source_record_postcode_name', sql`${RESEMBLES.namesAndPostcode('sr', 'p')}`),
    byValues('source_record_dob_name', sql`${RESEMBLES.dobAndGiven('sr', 'p')}`),
    byValues('source_record_dob_name', sql`${RESEMBLES.swappedDobAndNames('sr', 'p')}`),
  ];
  for (const table of identifiers) {
    // Found from the few noted ones, by kind and hash: record_identifier_lookup for the stored
    // ones, the import's own index for the hashes under other versions (snapshot-writer.ts).
    ways.push(sql`select ${found} as found, p.person_id
      from ${sql.raw(noted.identifiers)} p cross join ${sql.raw(table)} ri cross join source_record sr
      where ri.kind = p.kind and ri.hash = p.hash and ri.key_version = p.key_version
        and sr.id = ri.record_id and ${where}`);
  }
  return sql.join(ways, sql` union `);
}

/**
 * The last way of resembling, within a snapshot only: a noted record that had no postcode and no
 * identifier (temporary accommodation, most often) whose date of birth the party corrected to
 * another date — not a swap of its day and month — leaves nothing the other ways go by but its
 * names, and without this its opt-out was lost and the person counted in the planning export again.
 * So a new record of the snapshot with its given and family name exactly, no postcode either, and
 * carried to no one, is its plausible successor — only when the other ways took the person's
 * opt-out to no record of the snapshot ({@link OptOutSuccessors.carry}).
 *
 * The trade-off: a name with no date of birth is the loosest key there is, and failing closed means
 * an opt-out over-applied is the safe side — but not every John Smith of a large dataset. So it is
 * bounded by what tells a namesake apart: a record carried to anyone (by an identifier or by its
 * own date of birth and names) is a known person's, not a successor, so in a stable extract only
 * the snapshot's newcomers of that name without a postcode can take it; a record with a postcode is
 * left alone, as the person's own most likely still has none; the party's own dataset only (not the
 * kept keys, opt-out-kept-keys.ts, where a name alone would reach every namesake any party sends
 * for years); and none where another way found a likelier successor. A namesake newly in temporary
 * accommodation in the same snapshot is opted out with the person, as a twin is by the other ways.
 * A date of birth corrected together with a name, or with a first postcode, is left to the very
 * last way ({@link twoOfWhatIsLeft}).
 *
 * By the postcode's index (postcode, family name, first three letters), on its rows without a
 * postcode: one indexed join, as the others, from the few noted records.
 */
function namesAlone(engine: Engine, records: string, where: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`select sr.id as found, p.person_id, 1 as by_names
    from ${sql.raw(records)} p cross join source_record sr${
      engine === 'sqlite' ? sql.raw(' indexed by source_record_postcode_name') : sql``
    }
    where p.postcode is null and p.identified = 0
      and sr.postcode is null and ${sql.raw(sameFamily('sr', 'p'))} and sr.first3 = p.first3
      and sr.given_name = p.given_name and sr.carried_person_id is null and ${where}`;
}

/**
 * The very last way, within a snapshot only: a noted record whose date of birth the party
 * corrected together with one more of what the other ways go by — a given or family name, or a
 * postcode sent for the first time or changed — resembles its successor by no way whole, nor by the
 * names alone ({@link namesAlone} wants no postcode on either), and without this its opt-out stayed
 * on an id no record holds: the person counted in the planning export and was shown to the
 * research organisation again (found by a defect hunt). So a new record of the snapshot carried to
 * no one that holds any two of the record's four values — date of birth, given name, family name,
 * postcode, each present on both — is its plausible successor, only when the other ways and the
 * names alone took the person's opt-out to no record of the snapshot ({@link OptOutSuccessors.carry}).
 * A record with its date of birth and both names changed, or its date of birth, a name and its
 * postcode, is still not followed: nothing of it is left but one value, which a household or a
 * street shares. A family name is compared by its familyNameKey ({@link sameFamily}), as the other
 * ways compare it: "O Brien" sent for "O'Brien" is the same family name, so a record with its date
 * of birth corrected and its postcode or given name changed as well still holds two of the four.
 *
 * The trade-off is the one the names alone make, a little wider: an opt-out kept on a newcomer who
 * is someone else (a new member of the household with the person's family name, a namesake moving
 * into the street) is the safe side; losing one is a breach. Bounded as the names alone are: a
 * record carried to anyone is a known person's, so only the snapshot's newcomers can take it, and
 * only for a person nothing likelier was found for; the party's own dataset only (never the kept
 * keys, opt-out-kept-keys.ts, which any party's record meets for years).
 *
 * Driven from the snapshot's records (one read of them, `cross join` keeping that order on
 * SQLite), each probing the few noted records by an index for each pair: the noted records of a
 * person merely gone from the extract ask this at every load of a large dataset, and a read of
 * the snapshot for each of them would cost far more.
 */
async function twoOfWhatIsLeft(
  trx: Transaction<Database>,
  engine: Engine,
  records: string,
  where: RawBuilder<unknown>,
): Promise<{ found: string; person_id: string }[]> {
  // The pairs the other ways do not already go by, each with the index it is probed by.
  const pairs = [
    ['snapshot_optout_names', 'given_name', 'family_name'],
    ['snapshot_optout_postcode_family', 'postcode', 'family_name'],
    ['snapshot_optout_postcode_given', 'postcode', 'given_name'],
    ['snapshot_optout_postcode_dob', 'postcode', 'date_of_birth'],
  ] as const;
  for (const [index, a, b] of pairs) await createTempIndex(trx, engine, records, index, [a, b]);
  // The family name by its key, as the other ways compare it ({@link sameFamily}): a seek of the
  // pair's index a spelling of the new record's name.
  const equal = (column: string) => (column === 'family_name' ? sameFamily('p', 'sr') : `p.${column} = sr.${column}`);
  const same = sql.join(
    pairs.map(([, a, b]) => sql.raw(`(${equal(a)} and ${equal(b)})`)),
    sql` or `,
  );
  const { rows } = await sql<{ found: string; person_id: string }>`
    select distinct sr.id as found, p.person_id
    from source_record sr cross join ${sql.raw(records)} p
    where sr.carried_person_id is null and ${where} and (${same})`.execute(trx);
  return rows;
}

/**
 * Gives records new person ids, each as a carried id (found by lookups at once, linked by the
 * next pass like any carried id).
 */
export async function setCarriedPersonIds(
  trx: Transaction<Database>,
  given: readonly (readonly [record: string, personId: string])[],
): Promise<void> {
  for (let k = 0; k < given.length; k += UPDATE_ROWS) {
    const chunk = given.slice(k, k + UPDATE_ROWS);
    const whens = sql.join(
      chunk.map(([record, id]) => sql`when ${record} then ${id}`),
      sql` `,
    );
    await sql`update source_record
      set person_id = case id ${whens} end, carried_person_id = case id ${whens} end
      where id in (${sql.join(chunk.map(([record]) => record))})`.execute(trx);
  }
}

/**
 * Opt-outs across a snapshot the import cannot follow a person through.
 *
 * A new snapshot's record is given its predecessor's person id only where that is certain
 * (carried-person-ids.ts): not where a twin row makes it ambiguous, a corrected NHS number
 * contradicts the predecessor, or a corrected name changes the matching key. Such a record
 * would get a new id at the next linking pass, without the opt-out of the person it was: for a
 * person known to this source only, the opt-out would stay on an id no record holds, and their
 * data would be shared again. A consent may be lost that way (the party records it again); an
 * opt-out must not be.
 *
 * So, in the snapshot's transaction: before the previous records are deleted, the writer notes
 * those of them whose person has an opt-out in force, with their date of birth, names, postcode
 * and identifiers ({@link notePrevious}). Once the new records are in and carried, a person the
 * carry did not follow — carried to fewer new records of the dataset than they had (to none,
 * most often), or to one that does not resemble their records (a stranger who took their NHS
 * number over) — may have lost a record here, and every new record that may be its successor
 * (it resembles the record, {@link RESEMBLES}, or shares an identifier with the person: one the
 * carry refused as held by two people or contradicted, say; or, where none does, it has the names
 * of a record that had no postcode nor identifier, {@link namesAlone}; or, where that finds none
 * either, it is new to the extract and holds two of a record's date of birth, names and postcode,
 * {@link twoOfWhatIsLeft}) takes their opt-out
 * ({@link carry}):
 *
 * - a record carried to no one gets a new person id, as a carried id (found by lookups at once,
 *   and linked by the next pass like any carried id: merged into the person it links to, who
 *   then takes the opt-out too), holding a copy of the person's opt-out events;
 * - a record carried to another person whose own matching key (date of birth, family name,
 *   first three letters, as the previous snapshot held them) it does not hold — their id came to
 *   it by an identifier — or holds only as the person left did too (twin rows: which is whose
 *   cannot be told) gives that person a copy of the opt-out, on all their records;
 * - a record carried to a person as their own (their key) is accounted for, and left alone.
 *
 * Opt-outs only, never a consent: a consent was given by one person, and a plausible successor
 * may be someone else. This fails closed: a twin or namesake of an opted-out person sent beside
 * them is opted out too, and where several records may be the successor, all are. A withdrawal of
 * the opt-out ends every copy (it names the consent id); nothing lifts one copy alone, so the
 * recording party withdraws it and records it again for the person as now linked. A person's
 * records that merely left the dataset leave the opt-out where it was — unless a newcomer
 * resembles them.
 *
 * No person-id move is noted for the new ids (person-id-history.ts): a subject access request
 * of a plausible successor must not be shown the accesses of someone it may not be. Each carry is
 * noted instead, ids and time only (people/possibly-same-person.ts), so that the request under
 * either id names the other for the DPO to follow (found by a defect hunt: neither answer said
 * the other id existed).
 *
 * Cost: one read of the opt-out events in force, then indexed joins from the few noted records.
 * On SQL Server the opt-outs are read under a range lock (in practice the table's, as the read is
 * not by subject) before any record is deleted, held until the load commits, as the linking pass
 * does (carry-consents.ts): an opt-out or consent recorded during the load waits for it and then
 * finds its person as the load left them, so none is written against an id the load has just
 * emptied. A consent write on SQL Server may therefore wait for a running import.
 */
export class OptOutSuccessors {
  /** The previous snapshot's records whose person has an opt-out in force. */
  private readonly records: string;
  /** Their identifiers. */
  private readonly identifiers: string;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly engine: Engine,
    private readonly snapshot: Snapshot,
  ) {
    this.records = snapshotTempTable(engine, snapshot.runId, 'optout_records');
    this.identifiers = snapshotTempTable(engine, snapshot.runId, 'optout_ids');
  }

  /** Notes the previous snapshot's records of opted-out people; call before the delete. */
  async notePrevious(): Promise<void> {
    const { trx, engine, snapshot } = this;
    const lock = engine === 'mssql' ? sql.raw(' with (holdlock)') : sql.raw('');
    await createNotedTables(trx, engine, this.left);
    // The opt-outs in force by the register's rule (consentRecordsInForce: a `record` event no
    // `withdraw` names; `detach` is for consents only), spelled out here for the range lock.
    // Every carried record holds its carried id as its person id too (carried-person-ids.ts).
    // Driven from the opt-outs (`cross join` keeps that order on SQLite), which are fewer than a
    // snapshot's records: each opted-out person's records found by the person index.
    // Whether the record had an identifier: one without, and without a postcode, may be followed
    // by its names alone (namesAlone).
    await noteRecords(
      trx,
      this.left,
      sql`from (
        select distinct ce.subject_key from consent_event ce${lock}
        where ce.kind = 'opt-out' and ce.action = 'record'
          and not exists (
            select 1 from consent_event w${lock} where w.consent_id = ce.consent_id and w.action = 'withdraw')
      ) opted
      cross join source_record sr
      where sr.person_id = opted.subject_key
        and sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}`,
    );
    // For the carried check below and to pair identifiers with their records' people.
    await createTempIndex(trx, engine, this.records, 'snapshot_optout_person', ['person_id']);
    // One key version a snapshot: kept with the hash should the person's records all go
    // (opt-out-kept-keys.ts).
    await noteIdentifiersOfNotedRecords(trx, this.left);
  }

  /**
   * Gives each plausible successor of an opted-out person the carry did not follow a new
   * carried person id with that person's opt-outs; call once the carry has run, while
   * `comparableIdentifiers` (the new records' identifiers as the previous snapshot's were hashed,
   * carried-person-ids.ts) still exists — undefined where they cannot be compared. Returns how
   * many records it gave an id; its tables stay until {@link drop}.
   */
  async carry(comparableIdentifiers: string | undefined, keyTable: string): Promise<number> {
    const { trx, engine, snapshot } = this;
    const records = sql.raw(this.records);
    const identifiers = sql.raw(this.identifiers);
    // A person the carry followed — to as many new records of the dataset as they had before,
    // each previous record resembled by one of them and each of them resembling one — keeps their
    // id, and their opt-out, on all of them. One followed to fewer (to the record with their NHS
    // number, say, and not to another with their name corrected), or to a record that does not
    // look like theirs (a stranger who took their NHS number over, even beside one of their own
    // that stands for every record they had), may have left a record behind: its successors are
    // looked for.
    const carriedHere = sql`o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId}`;
    await sql`delete from ${records} where (
        select count(*) from source_record o where o.carried_person_id = ${records}.person_id and ${carriedHere}
      ) >= (select count(*) from ${records} r where r.person_id = ${records}.person_id)
      and not exists (
        select 1 from ${records} r where r.person_id = ${records}.person_id and not exists (
          select 1 from source_record o
          where o.carried_person_id = r.person_id and ${carriedHere} and (${RESEMBLES.any('o', 'r')})))
      and not exists (
        select 1 from source_record o where o.carried_person_id = ${records}.person_id and ${carriedHere}
          and not exists (
            select 1 from ${records} r where r.person_id = o.carried_person_id and (${RESEMBLES.any('o', 'r')})))`.execute(
      trx,
    );
    await sql`delete from ${identifiers} where not exists (
      select 1 from ${records} r where r.person_id = ${identifiers}.person_id)`.execute(trx);
    // The new records resembling a record of a person so left: those carried to no one, and
    // those carried to another person whose own matching key (date of birth, family name, first
    // three letters) they do not hold — that person's id came to them by an identifier — or hold
    // only as the person left did too (their twin rows: which is whose cannot be told).
    // Whether the person the record went to held its key: the key table keeps its least and
    // greatest holder, so one of three or more holders between them counts as not holding it
    // (failing closed: that person takes the opt-out). Whether the person left held it: from
    // their own noted records, exactly — with only the least and greatest holder, an opted-out
    // triplet between their siblings was taken for a stranger to the key, and the sibling their
    // record went to kept it without the opt-out (found by a review).
    const keys = sql.raw(keyTable);
    const heldByCarriedTo = sql`exists (
      select 1 from ${keys} k
      where k.date_of_birth = sr.date_of_birth and k.family_name_key = ${familyNameKeySql('sr.family_name')}
        and k.first3 = sr.first3 and (k.first_holder = sr.carried_person_id or k.last_holder = sr.carried_person_id))`;
    const heldByLeft = sql`exists (
      select 1 from ${records} r
      where r.person_id = x.person_id and r.date_of_birth = sr.date_of_birth
        and ${familyNameKeySql('r.family_name')} = ${familyNameKeySql('sr.family_name')} and r.first3 = sr.first3)`;
    const inSnapshot = sql`sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
      and sr.import_run_id = ${snapshot.runId}`;
    const { rows } = await sql<{ found: string; carried_to: string | null; person_id: string; by_names: number }>`
      select x.found, sr.carried_person_id as carried_to, x.person_id, x.by_names
      from (
        select y.found, y.person_id, 0 as by_names
        from (${resemblingNoted(
          engine,
          { records: this.records, identifiers: this.identifiers },
          sql`sr.id`,
          inSnapshot,
          comparableIdentifiers === undefined ? [] : [comparableIdentifiers],
        )}) y
        union all
        ${namesAlone(engine, this.records, inSnapshot)}
      ) x
      cross join source_record sr
      where sr.id = x.found and (
        sr.carried_person_id is null
        or (sr.carried_person_id <> x.person_id
          and (not ${heldByCarriedTo} or ${heldByLeft})))`.execute(trx);

    // The names alone only for a person the other ways took to no record (namesAlone).
    const followed = new Set(rows.filter((row) => Number(row.by_names) !== 1).map((row) => row.person_id));
    const taken = rows.filter((row) => !(Number(row.by_names) === 1 && followed.has(row.person_id)));
    // And two of what is left only for a person none of those took anywhere (twoOfWhatIsLeft).
    const takenPeople = new Set(taken.map((row) => row.person_id));
    const { rows: noted } = await sql<{ person_id: string }>`select distinct person_id from ${records}`.execute(trx);
    const untaken = new Set(noted.map((row) => row.person_id).filter((person) => !takenPeople.has(person)));
    if (untaken.size > 0) {
      for (const row of await twoOfWhatIsLeft(trx, engine, this.records, inSnapshot)) {
        if (untaken.has(row.person_id)) taken.push({ ...row, carried_to: null, by_names: 0 });
      }
    }
    const newIds = new Map<string, string>();
    const moves: PersonIdMove[] = [];
    const reached = new Set<string>();
    for (const { found: record, carried_to: carriedTo, person_id: from } of taken) {
      if (carriedTo !== null) moves.push({ from, to: carriedTo });
      else {
        let to = newIds.get(record);
        if (to === undefined) newIds.set(record, (to = uuidV7()));
        moves.push({ from, to });
      }
      reached.add(record);
    }
    if (moves.length === 0) return 0;
    await carryOptOutEvents(trx, engine, moves);
    await noteOptOutSuccessors(trx, engine, moves, new Date().toISOString());
    await setCarriedPersonIds(trx, [...newIds]);
    return reached.size;
  }

  /**
   * The noted people the carry did not follow, with their records and identifiers, once
   * {@link carry} has run: their records' keys are kept (opt-out-kept-keys.ts).
   */
  get left(): NotedRecords {
    return { records: this.records, identifiers: this.identifiers };
  }

  /** Drops the notes; call once {@link left} has been read. */
  async drop(): Promise<void> {
    await sql`drop table if exists ${sql.raw(this.records)}`.execute(this.trx);
    await sql`drop table if exists ${sql.raw(this.identifiers)}`.execute(this.trx);
  }
}
