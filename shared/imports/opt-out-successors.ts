import { sql, type RawBuilder, type Transaction } from 'kysely';
import { carryOptOutEvents, type PersonIdMove } from '../consents/carry-consents.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { uuidV7 } from './record-ids.js';
import { snapshotTempTable, tempText } from './snapshot-temp-table.js';
import type { Snapshot } from './snapshot-writer.js';

/** Records a person-id update statement names: five parameters each, within SQL Server's 2,100. */
const UPDATE_ROWS = 400;

/**
 * Opt-outs across a snapshot the import cannot follow a person through.
 *
 * A new snapshot's record is given its predecessor's person id only where that is certain
 * (carried-person-ids.ts): not where a twin row makes it ambiguous, a corrected NHS number
 * contradicts the predecessor, or a corrected name changes the matching key. Such a record
 * would get a new id at the next linking pass, and a person known to this source only would
 * lose their opt-out with it: it would stay on an id no record holds, and their data would be
 * shared again. A consent may be lost that way (the party records it again); an opt-out must
 * not be.
 *
 * So, in the snapshot's transaction: before the previous records are deleted, the writer notes
 * those of them whose person has an opt-out in force, with their date of birth, names, postcode
 * and identifiers ({@link notePrevious}). Once the new records are in and carried, every such
 * person no new record of the dataset was carried to has lost their record here, and each new
 * record not carried to anyone that may be its successor gets a new person id, as a carried id
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
 * person sent beside them is opted out too, until an officer sorts them out, and where several
 * records may be the successor, all are. A record the carry gave someone else's id is not
 * anyone's successor: it is accounted for. A person's records that merely left the dataset leave
 * the opt-out where it was.
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

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly engine: Engine,
    private readonly snapshot: Snapshot,
  ) {
    this.records = snapshotTempTable(engine, snapshot.runId, 'optout_records');
    this.identifiers = snapshotTempTable(engine, snapshot.runId, 'optout_ids');
    this.recordsIndex = engine === 'mssql' ? 'snapshot_optout_person' : 'temp.snapshot_optout_person';
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
    // A person the carry followed to a new record of the dataset keeps their id, and their opt-out.
    await sql`delete from ${records} where exists (
      select 1 from source_record o
      where o.carried_person_id = ${records}.person_id
        and o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId})`.execute(trx);
    await sql`delete from ${identifiers} where not exists (
      select 1 from ${records} r where r.person_id = ${identifiers}.person_id)`.execute(trx);
    const fresh = sql`sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
      and sr.import_run_id = ${snapshot.runId} and sr.carried_person_id is null`;
    // One indexed join a way of resembling, each from the few opted-out records (`cross join`
    // keeps that order on SQLite), not one join with an `or` no index serves. SQLite, which keeps
    // no statistics here, is told the index: it would otherwise read the whole snapshot through
    // the dataset's index for each opted-out record.
    const byValues = (index: string, on: RawBuilder<unknown>) => sql`select sr.id as record_id, p.person_id
      from ${records} p cross join source_record sr${engine === 'sqlite' ? sql.raw(` indexed by ${index}`) : sql``}
      where ${on} and ${fresh}`;
    const ways = [
      byValues('source_record_dob_name', sql`sr.date_of_birth = p.date_of_birth and sr.family_name = p.family_name`),
      byValues('source_record_dob_name', sql`sr.date_of_birth = p.date_of_birth and sr.first3 = p.first3`),
      byValues(
        'source_record_postcode_name',
        sql`sr.postcode = p.postcode and sr.family_name = p.family_name and sr.first3 = p.first3`,
      ),
    ];
    if (comparableIdentifiers !== undefined) {
      // The stored identifiers are found from the opted-out ones (record_identifier_lookup); the
      // previous-key hashes of a rotation, kept by record, are read once and looked up there.
      const from =
        comparableIdentifiers === 'record_identifier'
          ? sql`${identifiers} p cross join record_identifier ri`
          : sql`${sql.raw(comparableIdentifiers)} ri cross join ${identifiers} p`;
      ways.push(sql`select sr.id as record_id, p.person_id
        from ${from} cross join source_record sr
        where ri.kind = p.kind and ri.hash = p.hash and sr.id = ri.record_id and ${fresh}`);
    }
    const { rows } = await sql<{ record_id: string; person_id: string }>`${sql.join(ways, sql` union `)}`.execute(trx);
    await sql`drop table ${records}`.execute(trx);
    await sql`drop table ${identifiers}`.execute(trx);
    if (rows.length === 0) return 0;

    const newIds = new Map<string, string>();
    const moves: PersonIdMove[] = [];
    for (const { record_id: record, person_id: from } of rows) {
      let to = newIds.get(record);
      if (to === undefined) newIds.set(record, (to = uuidV7()));
      moves.push({ from, to });
    }
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
    return given.length;
  }
}
