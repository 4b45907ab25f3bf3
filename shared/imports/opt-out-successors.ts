import { sql, type RawBuilder, type Transaction } from 'kysely';
import { carryOptOutEvents, type PersonIdMove } from '../consents/carry-consents.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { uuidV7 } from './record-ids.js';
import { snapshotTempTable, tempText } from './snapshot-temp-table.js';
import type { Snapshot } from './snapshot-writer.js';

/** Records a person-id update statement names: five parameters each, within SQL Server's 2,100. */
const UPDATE_ROWS = 400;
/** Person ids a select names at once: within SQL Server's 2,100 parameters. */
const IDS_PER_SELECT = 1_000;

/**
 * Opt-outs across a snapshot the import cannot follow a person through.
 *
 * A new snapshot's record is given its predecessor's person id only where that is certain
 * (carried-person-ids.ts): not where a twin row makes it ambiguous, a corrected NHS number
 * contradicts the predecessor, or a corrected name changes the matching key. Such a record
 * would get a new id at the next linking pass, without the opt-out of the person it was: for a
 * person known to this source only, the opt-out would stay on an id no record holds, and their
 * data would be shared again. A consent may be lost that way (the party records it again); an opt-out must
 * not be.
 *
 * So, in the snapshot's transaction: before the previous records are deleted, the writer notes
 * those of them whose person has an opt-out in force, with their date of birth, names, postcode
 * and identifiers ({@link notePrevious}). Once the new records are in and carried, every such
 * person carried to fewer new records of the dataset than they had (to none, most often) may
 * have lost a record here, and each new record not carried to anyone that may be the successor
 * of one of their records gets a new person id, as a carried id
 * (found by lookups at once, and linked by the next pass like any carried id: merged into the
 * person it links to, who then takes the opt-out too), holding a copy of that person's opt-out
 * events — opt-outs only, never a consent: a consent was given by one person, and a plausible
 * successor may be someone else ({@link carry}).
 *
 * A plausible successor shares with one of the person's previous records an identifier (kind and
 * pseudonym: one the carry refused as held by two people or contradicted, say), or two of date of
 * birth, family name and the given name's first three letters (a corrected surname, a corrected
 * given name, a corrected NHS number, a twin row), or postcode, family name and first three
 * letters (a corrected date of birth). This fails closed: a twin or namesake of an opted-out
 * person sent beside them is opted out too, and where several records may be the successor, all
 * are. A withdrawal of the opt-out ends every copy (it names the consent id); nothing lifts one
 * copy alone, so the recording party withdraws it and records it again for the person as now
 * linked. A record the carry gave someone else's id is not
 * anyone's successor — it is accounted for — unless the carry gave that person more records
 * than they had before (a corrected NHS number that is another record's): that person then takes
 * the opt-out, on all their records. A person's records that merely left the dataset leave the
 * opt-out where it was.
 *
 * No person-id move is noted for the new ids (person-id-history.ts): a subject access request
 * of a plausible successor must not be shown the accesses of someone it may not be.
 *
 * Opted-out people are few, and a snapshot none of whose people has an opt-out costs one indexed
 * read of the consent events. On SQL Server the opt-outs are read under a range lock before any
 * record is deleted, as the linking pass does (carry-consents.ts), so an opt-out recorded during
 * the load is either read here or waits for the load and then finds its person gone.
 */
export class OptOutSuccessors {
  /** The previous snapshot's records whose person has an opt-out in force. */
  private readonly records: string;
  /** Their identifiers. */
  private readonly identifiers: string;
  private readonly recordsIndex: string;
  /**
   * The other people of the previous snapshot with a record resembling one of those, and how many
   * records each had in it: one the carry gives more records than that may have taken an
   * opted-out person's.
   */
  private readonly neighbours: string;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly engine: Engine,
    private readonly snapshot: Snapshot,
  ) {
    this.records = snapshotTempTable(engine, snapshot.runId, 'optout_records');
    this.identifiers = snapshotTempTable(engine, snapshot.runId, 'optout_ids');
    this.recordsIndex = engine === 'mssql' ? 'snapshot_optout_person' : 'temp.snapshot_optout_person';
    this.neighbours = snapshotTempTable(engine, snapshot.runId, 'optout_neighbours');
  }

  /** Notes the previous snapshot's records of opted-out people; call before the delete. */
  async notePrevious(): Promise<void> {
    const { trx, engine, snapshot } = this;
    const records = sql.raw(this.records);
    const identifiers = sql.raw(this.identifiers);
    const text = (n: number) => tempText(engine, n);
    const lock = engine === 'mssql' ? sql.raw(' with (holdlock)') : sql.raw('');
    await sql`drop table if exists ${records}`.execute(trx);
    await sql`create table ${records} (
      record_id ${text(100)} not null primary key,
      person_id ${text(64)} not null,
      date_of_birth ${text(10)},
      family_name ${text(200)},
      first3 ${text(3)},
      postcode ${text(8)})`.execute(trx);
    // Every carried record holds its carried id as its person id too (carried-person-ids.ts).
    // Driven from the opt-outs (`cross join` keeps that order on SQLite), which are fewer than a
    // snapshot's records: each opted-out person's records found by the person index.
    await sql`insert into ${records} (record_id, person_id, date_of_birth, family_name, first3, postcode)
      select sr.id, sr.person_id, sr.date_of_birth, sr.family_name, sr.first3, sr.postcode
      from (
        select distinct ce.subject_key from consent_event ce${lock}
        where ce.kind = 'opt-out' and ce.action = 'record'
          and not exists (
            select 1 from consent_event w${lock} where w.consent_id = ce.consent_id and w.action = 'withdraw')
      ) opted
      cross join source_record sr
      where sr.person_id = opted.subject_key
        and sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}`.execute(trx);
    // For the carried check below and to pair identifiers with their records' people.
    const on = engine === 'mssql' ? records : sql.raw(this.records.replace(/^temp\./, ''));
    await sql`create index ${sql.raw(this.recordsIndex)} on ${on} (person_id)`.execute(trx);
    await sql`drop table if exists ${identifiers}`.execute(trx);
    await sql`create table ${identifiers} (
      person_id ${text(64)} not null,
      kind ${text(100)} not null,
      hash ${text(64)} not null,
      primary key (kind, hash, person_id))`.execute(trx);
    await sql`insert into ${identifiers} (person_id, kind, hash)
      select distinct r.person_id, ri.kind, ri.hash
      from ${records} r cross join record_identifier ri where ri.record_id = r.record_id`.execute(trx);
    const neighbours = sql.raw(this.neighbours);
    await sql`drop table if exists ${neighbours}`.execute(trx);
    await sql`create table ${neighbours} (
      person_id ${text(64)} not null primary key,
      records integer not null)`.execute(trx);
    const resembling = this.resembling(
      sql`sr.person_id`,
      sql`sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.person_id is not null and sr.person_id <> p.person_id`,
      'record_identifier',
    );
    await sql`insert into ${neighbours} (person_id, records)
      select n.person_id, count(*)
      from (select distinct x.found as person_id from (${resembling}) x) n
      cross join source_record sr
      where sr.person_id = n.person_id and sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
      group by n.person_id`.execute(trx);
  }

  /**
   * The records `sr` (filtered by `where`) resembling a noted record `p` of an opted-out person:
   * `found` (what of `sr` to return) and `p.person_id` as `person_id`. By one indexed join a way
   * of resembling, each from the few noted records (`cross join` keeps that order on SQLite), not
   * one join with an `or` no index serves; SQLite, which keeps no statistics here, is told the
   * index, as it would otherwise read the whole snapshot through the dataset's index for each
   * noted record. `identifiers`: where `sr`'s identifiers can be compared with the noted ones
   * (see {@link carry}).
   */
  private resembling(
    found: RawBuilder<unknown>,
    where: RawBuilder<unknown>,
    identifiers: string | undefined,
  ): RawBuilder<unknown> {
    const records = sql.raw(this.records);
    const byValues = (index: string, on: RawBuilder<unknown>) => sql`select ${found} as found, p.person_id
      from ${records} p cross join source_record sr${this.engine === 'sqlite' ? sql.raw(` indexed by ${index}`) : sql``}
      where ${on} and ${where}`;
    const ways = [
      byValues('source_record_dob_name', sql`sr.date_of_birth = p.date_of_birth and sr.family_name = p.family_name`),
      byValues('source_record_dob_name', sql`sr.date_of_birth = p.date_of_birth and sr.first3 = p.first3`),
      byValues(
        'source_record_postcode_name',
        sql`sr.postcode = p.postcode and sr.family_name = p.family_name and sr.first3 = p.first3`,
      ),
    ];
    if (identifiers !== undefined) {
      // The stored identifiers are found from the noted ones (record_identifier_lookup); the
      // previous-key hashes of a rotation, kept by record, are read once and looked up there.
      const from =
        identifiers === 'record_identifier'
          ? sql`${sql.raw(this.identifiers)} p cross join record_identifier ri`
          : sql`${sql.raw(identifiers)} ri cross join ${sql.raw(this.identifiers)} p`;
      ways.push(sql`select ${found} as found, p.person_id
        from ${from} cross join source_record sr
        where ri.kind = p.kind and ri.hash = p.hash and sr.id = ri.record_id and ${where}`);
    }
    return sql.join(ways, sql` union `);
  }

  /**
   * Gives each plausible successor of an opted-out person the carry did not follow a new
   * carried person id with that person's opt-outs; call once the carry has run, while
   * `comparableIdentifiers` (the new records' identifiers as the previous snapshot's were hashed,
   * carried-person-ids.ts) still exists — undefined where they cannot be compared. Returns how
   * many records it gave an id, and drops its tables.
   */
  async carry(comparableIdentifiers: string | undefined): Promise<number> {
    const { trx, engine, snapshot } = this;
    const records = sql.raw(this.records);
    const identifiers = sql.raw(this.identifiers);
    // A person the carry followed to as many new records of the dataset as they had before keeps
    // their id, and their opt-out, on all of them. One followed to fewer (to the record with their
    // NHS number, say, and not to another with their name corrected) may have left a record
    // behind: its successors are looked for.
    await sql`delete from ${records} where (
        select count(*) from source_record o
        where o.carried_person_id = ${records}.person_id
          and o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId}
      ) >= (select count(*) from ${records} r where r.person_id = ${records}.person_id)`.execute(trx);
    await sql`delete from ${identifiers} where not exists (
      select 1 from ${records} r where r.person_id = ${identifiers}.person_id)`.execute(trx);
    // The new records resembling a record of a person so left: those carried to no one, and
    // those carried to another person the carry gave more records than they had.
    const { rows } = await sql<{ found: string; carried_to: string | null; person_id: string }>`
      select x.found, sr.carried_person_id as carried_to, x.person_id
      from (${this.resembling(
        sql`sr.id`,
        sql`sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
          and sr.import_run_id = ${snapshot.runId}`,
        comparableIdentifiers,
      )}) x
      cross join source_record sr
      where sr.id = x.found and (sr.carried_person_id is null or sr.carried_person_id <> x.person_id)`.execute(trx);
    const gainers = await this.gainers([
      ...new Set(rows.flatMap((row) => (row.carried_to === null ? [] : [row.carried_to]))),
    ]);
    await sql`drop table ${records}`.execute(trx);
    await sql`drop table ${identifiers}`.execute(trx);
    await sql`drop table ${sql.raw(this.neighbours)}`.execute(trx);

    const newIds = new Map<string, string>();
    const moves: PersonIdMove[] = [];
    const reached = new Set<string>();
    for (const { found: record, carried_to: carriedTo, person_id: from } of rows) {
      if (carriedTo !== null) {
        if (!gainers.has(carriedTo)) continue;
        moves.push({ from, to: carriedTo });
      } else {
        let to = newIds.get(record);
        if (to === undefined) newIds.set(record, (to = uuidV7()));
        moves.push({ from, to });
      }
      reached.add(record);
    }
    if (moves.length === 0) return 0;
    await carryOptOutEvents(trx, engine, moves);
    const given = [...newIds];
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
    return reached.size;
  }

  /**
   * Of `people` (carried to new records of the dataset), those the carry gave more records than
   * they had in the previous snapshot (as far as {@link neighbours} knows: none otherwise).
   */
  private async gainers(people: readonly string[]): Promise<Set<string>> {
    const { trx, snapshot } = this;
    const gainers = new Set<string>();
    for (let k = 0; k < people.length; k += IDS_PER_SELECT) {
      const chunk = people.slice(k, k + IDS_PER_SELECT);
      const { rows } = await sql<{ person_id: string; records_now: number; records_before: number | null }>`
        select o.carried_person_id as person_id, count(*) as records_now, max(n.records) as records_before
        from source_record o left join ${sql.raw(this.neighbours)} n on n.person_id = o.carried_person_id
        where o.carried_person_id in (${sql.join(chunk)})
          and o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId}
        group by o.carried_person_id`.execute(trx);
      for (const row of rows) if (Number(row.records_now) > Number(row.records_before ?? 0)) gainers.add(row.person_id);
    }
    return gainers;
  }
}
