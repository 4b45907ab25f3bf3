import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { datesClearlyDifferSql } from './dates-clearly-differ-sql.js';
import { familyNameKeySql } from './family-name-key-sql.js';
import { createTempIndex, snapshotTempTable, tempText } from './snapshot-temp-table.js';
import type { Snapshot } from './snapshot-writer.js';

/**
 * The person ids of a party's previous snapshot of a dataset, by identifier pseudonym, kept in
 * a temporary table of the snapshot's transaction from before the previous records are deleted
 * until the new ones are in.
 *
 * An identifier (kind and hash under the snapshot's key version) names a person when every
 * previous record holding it had the same person id (linked, or itself carried and not yet
 * linked); held by records of two people, or by a record no pass had linked, it names none and
 * blocks a carry. A new record gets a carried id when all of its identifiers the previous
 * snapshot held name one and the same person, and none of its identifiers contradicts that
 * person: an identifier of a kind the person held in the previous snapshot, or in another
 * source's records of them, under another hash (a different NHS number, or another id of the
 * same system) refuses the carry — such a record
 * may be someone else who took over one of the person's identifiers. So does a date of birth that
 * clearly differs (datesClearlyDiffer: another year, or a day or month more than a slip out) from
 * every date the person's previous records gave: a case reference reused, or keyed against the
 * wrong row, gives a stranger the person's identifier but not their date of birth. Where no date
 * decides (the record or the person has none, as the Housing First list), so do names that share
 * nothing with those the person's previous records gave: neither the family name (by its
 * familyNameKey) nor the first three letters of the given name. Names alone do not refuse a record
 * born on the person's date (a name changes on marriage, and a corrected one keeps its id), nor
 * does either name changing alone. Where several new records
 * name one person, only those also bearing a date of birth and names the person's previous
 * records bore take the person (a stranger keyed with the person's case reference does not).
 * One exception: a carry
 * that rests on a national identifier (NHS number, UPN, NI number) is not refused by a
 * contradicting system id alone, as a national number outranks a local system's id (the ISA's
 * tier order), so a person whose system id changed keeps their id.
 *
 * A record the identifiers carried nothing to, none of whose identifiers the previous snapshot
 * held (it has none, or only new ones), is then carried by its matching key within the dataset
 * (date of birth, family name, first three letters, as stored and all present; the family name
 * compared by its familyNameKey, as the linking rules and the lookups by names compare it, so a
 * feed that writes "O'Brien" in one snapshot and "O Brien" in the next keeps the person's id,
 * and a snapshot holding both spellings holds that key twice), kept for the
 * previous records in another temporary table, `snapshot_carry_key`, with how many held each
 * and the given name they gave: it takes the person of the one previous record that held its key,
 * when it gives that record's whole given name (the key holds only its first three letters: Mary's
 * twin sister Maryanne, listed in her place, is someone new), no other new record
 * holds the key (two people of one name and date of birth, twins say, are no one's to guess),
 * the person was no other previous record's and has not been carried to another new record, and
 * none of the record's identifiers contradicts the person as above — system ids included, as a
 * name is no national number. Twin rows of one person (an extract listing them twice, alike in
 * every value, which an officer's confirmation made one person) are carried so too: every
 * previous record of the key was that person's, and the key's new records, no more of them than
 * before, all take the person or none does. A person whose name or date of birth changed is not
 * carried this way: the linking pass decides. Pseudonyms are compared only for those checks (after a
 * rotation, as below), so a key rotation changes nothing; should the previous key be unreadable,
 * only a record without identifiers takes a person who held none.
 *
 * A key rotation: the previous snapshot's pseudonyms were made under another key version than
 * the new one's, so the two cannot be compared. The import then also hashes the new rows'
 * identifiers under the previous snapshot's key (row-preparation.ts) and the writer keeps those
 * hashes, with their version, in a temporary table of its own, `snapshot_comparison_ids` (which
 * also holds the hashes under the versions of kept opt-out keys, opt-out-kept-keys.ts), for
 * comparisons only: they are dropped with it, never stored, and a rotation does not cost anyone
 * their person id. Which
 * comparison runs is decided by the key version the previous snapshot's identifiers actually
 * carry, read inside the transaction; a previous snapshot under a version that is neither (its
 * key no longer readable) carries nothing by identifier, and {@link SnapshotWriter.carryOutcome}
 * says so.
 *
 * The tables, `temp.snapshot_carry` (and `_carry_key`, `_carry_people`) on SQLite, and their
 * counterparts on SQL Server, are temporary tables of the snapshot's transaction
 * (snapshot-temp-table.ts): a rolled-back load leaves none behind, and a finished one drops them.
 */
export class CarriedPersonIds {
  private readonly table: string;
  /** The previous snapshot's records by matching key (date of birth and names), with their people. */
  readonly keyTable: string;
  /**
   * The writer's table of the new rows' hashes under other key versions (snapshot-writer.ts),
   * when they include the previous snapshot's: its rows of that version are compared here.
   */
  readonly newTable: string | undefined;
  /**
   * Each previous person's `person_since` (the earliest of their records'), to carry with the id,
   * and the dates of birth and names their records gave, to refuse a carry to someone born on
   * another or, where no date decides, named otherwise.
   */
  private readonly peopleTable: string;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly engine: Engine,
    private readonly snapshot: Snapshot,
    comparisonTable: string | undefined,
  ) {
    const table = (stem: string) => snapshotTempTable(engine, snapshot.runId, stem);
    this.table = table('carry');
    this.keyTable = table('carry_key');
    this.peopleTable = table('carry_people');
    this.newTable = snapshot.previousKeyVersion === undefined ? undefined : comparisonTable;
  }

  /** The new rows' hashes under the previous snapshot's key version, as `record_id, kind, hash`. */
  private previousKeyHashes(): RawBuilder<unknown> {
    return sql`(select record_id, kind, hash from ${sql.raw(this.newTable!)}
      where key_version = ${this.snapshot.previousKeyVersion!})`;
  }

  /** Notes the previous snapshot's identifiers and matching keys, and their people; call before the delete. */
  async notePrevious(): Promise<void> {
    const { trx, snapshot } = this;
    const table = sql.raw(this.table);
    const text = (n: number) => tempText(this.engine, n);
    await sql`drop table if exists ${table}`.execute(trx);
    await sql`create table ${table} (
      kind ${text(100)} not null,
      hash ${text(64)} not null,
      key_version ${text(64)} not null,
      person_id ${text(64)},
      primary key (kind, hash))`.execute(trx);
    const person = sql`coalesce(sr.person_id, sr.carried_person_id)`;
    // Every identifier of one snapshot has the same key version (Snapshot.keyVersion).
    await sql`insert into ${table} (kind, hash, key_version, person_id)
      select ri.kind, ri.hash, min(ri.key_version),
        case when count(*) = count(${person}) and min(${person}) = max(${person}) then min(${person}) end
      from source_record sr
      join record_identifier ri on ri.record_id = sr.id
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
      group by ri.kind, ri.hash`.execute(trx);
    // For the contradiction check: a person's identifiers of one kind, found without a scan.
    await createTempIndex(trx, this.engine, this.table, 'snapshot_carry_person', ['person_id', 'kind']);
    // The previous records by their own matching values, for records with no identifier to go
    // by: how many records held each key and the one person all of them held, if they did (a
    // key of one record, most often; of several where one person was listed twice). And, for the
    // opt-outs' successors (opt-out-successors.ts), who held it at all: the least and greatest
    // person id of its records (the same where one person did).
    // The family name by its key (familyNameKey): "O BRIEN" and "OBRIEN" are one key, held by
    // two records where a snapshot has both, as the linking rules count them.
    const keys = sql.raw(this.keyTable);
    const familyKey = familyNameKeySql('sr.family_name');
    await sql`drop table if exists ${keys}`.execute(trx);
    await sql`create table ${keys} (
      date_of_birth ${text(10)} not null,
      family_name_key ${text(200)} not null,
      first3 ${text(3)} not null,
      given_name ${text(200)},
      records integer not null,
      person_id ${text(64)},
      first_holder ${text(64)},
      last_holder ${text(64)},
      primary key (date_of_birth, family_name_key, first3))`.execute(trx);
    await sql`insert into ${keys} (date_of_birth, family_name_key, first3, given_name, records, person_id, first_holder, last_holder)
      select sr.date_of_birth, ${familyKey}, sr.first3,
        case when min(sr.given_name) = max(sr.given_name) then min(sr.given_name) end, count(*),
        case when count(*) = count(${person}) and min(${person}) = max(${person}) then min(${person}) end,
        min(${person}), max(${person})
      from source_record sr
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.date_of_birth is not null and sr.family_name is not null and sr.first3 is not null
      group by sr.date_of_birth, ${familyKey}, sr.first3`.execute(trx);
    // A person another previous record of the dataset also held (under another key) is not one
    // record's to pass on.
    await sql`update ${keys} set person_id = null
      where person_id in (
        select k.person_id from ${keys} k where k.person_id is not null group by k.person_id having count(*) > 1)`.execute(
      trx,
    );
    // Since when the person's records held the id: a subject access request counts the id as the
    // person's from then (person-id-history.ts), and a re-sent record is still the same record.
    // Null when any of them held it since first linked, as the widest window stands.
    // With it, read in the same pass, the dates of birth the person's records gave (the least, the
    // greatest and how many), for the identifier carry's check that a new record was born on one,
    // and so too the family names (by familyNameKey) and first three letters of the given names
    // they gave, for its check, where no date decides, that a new record shares a name with them.
    const people = sql.raw(this.peopleTable);
    await sql`drop table if exists ${people}`.execute(trx);
    await sql`create table ${people} (
      person_id ${text(64)} not null primary key,
      since ${text(40)},
      first_birth ${text(10)},
      last_birth ${text(10)},
      births integer not null,
      first_family ${text(200)},
      last_family ${text(200)},
      families integer not null,
      first_given3 ${text(3)},
      last_given3 ${text(3)},
      given3s integer not null)`.execute(trx);
    await sql`insert into ${people} (person_id, since, first_birth, last_birth, births,
        first_family, last_family, families, first_given3, last_given3, given3s)
      select ${person}, case when count(*) = count(sr.person_since) then min(sr.person_since) end,
        min(sr.date_of_birth), max(sr.date_of_birth), count(distinct sr.date_of_birth),
        min(${familyKey}), max(${familyKey}), count(distinct ${familyKey}),
        min(sr.first3), max(sr.first3), count(distinct sr.first3)
      from source_record sr
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId} and ${person} is not null
      group by ${person}`.execute(trx);
  }

  /**
   * Gives the new records their predecessors' person ids, by identifier and then by matching key;
   * call once every record and identifier is in. Says which pseudonyms it compared, or why it
   * compared none.
   */
  async carry(): Promise<CarryOutcome> {
    const { trx, snapshot } = this;
    const table = sql.raw(this.table);
    const versions = await sql<{ key_version: string }>`select distinct key_version from ${table}`.execute(trx);
    const previous = versions.rows.map((row) => row.key_version);
    let outcome: CarryOutcome;
    if (previous.length === 0) outcome = 'no-identifiers';
    else if (previous.length === 1 && previous[0] === snapshot.keyVersion) outcome = 'same-key';
    else if (previous.length === 1 && previous[0] === snapshot.previousKeyVersion) outcome = 'previous-key';
    else outcome = 'previous-key-unavailable';
    if (outcome === 'same-key' || outcome === 'previous-key') await this.carryUnder(outcome);
    await this.carryByKey(outcome);
    await sql`update source_record
      set person_since = (select s.since from ${sql.raw(this.peopleTable)} s where s.person_id = source_record.carried_person_id)
      where party_id = ${snapshot.partyId} and dataset_id = ${snapshot.datasetId}
        and import_run_id = ${snapshot.runId} and carried_person_id is not null`.execute(trx);
    return outcome;
  }

  /**
   * Where the new records' identifiers can be compared with the previous snapshot's pseudonyms,
   * given how {@link carry} went: the stored identifiers, or after a rotation their hashes under
   * other key versions (the previous snapshot's among them: compared version for version);
   * undefined when they cannot be compared.
   */
  comparableIdentifiers(outcome: CarryOutcome): string | undefined {
    if (outcome === 'same-key') return 'record_identifier';
    if (outcome === 'previous-key') return this.newTable;
    return undefined;
  }

  /** Drops the temporary tables; call once everything that compares with them has run. */
  async drop(): Promise<void> {
    const { trx } = this;
    await sql`drop table ${sql.raw(this.table)}`.execute(trx);
    await sql`drop table ${sql.raw(this.keyTable)}`.execute(trx);
    await sql`drop table ${sql.raw(this.peopleTable)}`.execute(trx);
  }

  private async carryUnder(key: 'same-key' | 'previous-key'): Promise<void> {
    const { snapshot } = this;
    const table = sql.raw(this.table);
    // The new records' identifiers as the previous snapshot's were hashed: as stored, or (after a
    // rotation) hashed again under the previous key. Either way, `ri` has record_id, kind, hash.
    // Every identifier of this run is under the snapshot's key version, so none is filtered on it:
    // a condition on key_version would lead SQLite, which keeps no statistics here, to start from
    // the key-version index and read every identifier in the store under that version.
    const identifiers = { from: key === 'same-key' ? sql`record_identifier ri` : sql`${this.previousKeyHashes()} ri` };
    // A system id's kind: `system-id:<system>` (storage-plan.ts).
    const local = sql.raw(`'system-id:%'`);
    // Each new record's candidate: the one person all its known identifiers name, whether a
    // national identifier (not a system id) is among them, and the record's date of birth and names.
    const candidates = sql`select ri.record_id, min(c.person_id) as person_id,
        max(case when c.kind like ${local} then 0 else 1 end) as national, min(sr.date_of_birth) as date_of_birth,
        min(${familyNameKeySql('sr.family_name')}) as family_name_key, min(sr.first3) as first3
      from source_record sr
      join ${identifiers.from} on ri.record_id = sr.id
      join ${table} c on c.kind = ri.kind and c.hash = ri.hash
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.import_run_id = ${snapshot.runId}
      group by ri.record_id
      having count(c.person_id) = count(*) and min(c.person_id) = max(c.person_id)`;
    // ... unless its date of birth clearly differs from every date the person's records gave (a
    // stranger keyed with the person's system id, a reference reused or a keying slip, found by a
    // defect hunt: they took the person's id, and the consent the person gave with it). The dates
    // are the least and the greatest the records gave, so every one where they gave two at most
    // (one, nearly always); a person whose records gave more is not refused by them. Read by the
    // person's key, one probe for each record.
    const people = sql.raw(this.peopleTable);
    const datesDecide = sql`(p.births between 1 and 2 and k.date_of_birth is not null)`;
    const bornOnAnother = sql`${datesDecide}
          and ${datesClearlyDifferSql('k.date_of_birth', 'p.first_birth')}
          and ${datesClearlyDifferSql('k.date_of_birth', 'p.last_birth')}`;
    // Where no date decides (the Housing First list gives none), unless it shares a name with
    // them: the family name (by its familyNameKey) or the first three letters of the given name
    // of one of the person's records, the ISA's own key parts (found by a defect hunt: a row of
    // Dudley's snapshot keying a participant's case reference to someone else took the
    // participant's id, and ICF was shown the stranger under their research consent). A marriage
    // keeps the given name and a corrected spelling its first letters; a record whose names both
    // changed is left to the linking pass. Only where the person's records gave two of each at
    // most (their least and greatest are every one), and a record or person without names is not
    // contradicted by them.
    const sharesFamily = sql`(k.family_name_key is not null and p.families > 0
          and k.family_name_key in (p.first_family, p.last_family))`;
    const sharesGiven = sql`(k.first3 is not null and p.given3s > 0 and k.first3 in (p.first_given3, p.last_given3))`;
    const namedAnother = sql`not ${datesDecide}
          and (k.family_name_key is not null or k.first3 is not null) and p.families + p.given3s > 0
          and p.families <= 2 and p.given3s <= 2 and not ${sharesFamily} and not ${sharesGiven}`;
    const contradicted = sql`exists (
        select 1 from ${people} p
        where p.person_id = k.person_id and ((${bornOnAnother}) or (${namedAnother})))`;
    // ... or one of the record's identifiers is of a kind the person held under another hash.
    // Held by any of the person's records, not only this dataset's: another party's record of
    // them with another NHS number says the record is someone else as surely, and the linking
    // pass would split the two, the unchanged record losing its id (found by a defect hunt: a
    // social care record given an NHS number housing's record of the person did not hold was
    // carried into them, the housing client answered no-match until the pass, then given a new
    // id). The other record's hash is compared with the record's under the same key version: the
    // record's own (this load's key), or those it was hashed under for comparison (the previous
    // snapshot's key after a rotation, kept opt-outs' keys). Compared under the previous
    // snapshot's key alone, another party's record loaded since a rotation went unread, and the
    // record was carried into its person all the same (found by a defect hunt). A key version
    // the record was not hashed under compares nothing, as before.
    const heldElsewhereUnder = (hashes: RawBuilder<unknown>, otherVersion: RawBuilder<unknown>) => sql`exists (
        select 1 from source_record o
        join record_identifier oi on oi.record_id = o.id
        join ${hashes} ni on ni.record_id = k.record_id and ni.kind = oi.kind
        where o.person_id = k.person_id
          and not (o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId})
          and not (${otherVersion} or oi.hash = ni.hash)
          and (k.national = 0 or ni.kind not like ${local}))`;
    const heldUnderOwnKey = heldElsewhereUnder(
      sql.raw('record_identifier'),
      sql`oi.key_version <> ${snapshot.keyVersion}`,
    );
    const heldElsewhere =
      this.newTable === undefined
        ? heldUnderOwnKey
        : sql`(${heldUnderOwnKey} or ${heldElsewhereUnder(sql.raw(this.newTable), sql`oi.key_version <> ni.key_version`)})`;
    const claimed = sql`select k.record_id, k.person_id, count(*) over (partition by k.person_id) as claims
      from (${candidates}) k
      where not ${contradicted} and not exists (
        select 1 from ${identifiers.from}
        join ${table} c on c.person_id = k.person_id and c.kind = ri.kind and c.hash <> ri.hash
        where ri.record_id = k.record_id
          and (k.national = 0 or ri.kind not like ${local}))
        and not ${heldElsewhere}`;
    // A person several new records name takes only those of them that also bear a matching key
    // (date of birth and names) the person's records bore: a keying slip that gives a stranger
    // the person's case reference must not carry the person, and their consent, to the stranger
    // (found by a review). The same person listed twice keeps both.
    const keys = sql.raw(this.keyTable);
    const carried = sql`select w.record_id, w.person_id from (${claimed}) w
      where w.claims = 1 or exists (
        select 1 from source_record sr
        join ${keys} pk on pk.date_of_birth = sr.date_of_birth
          and pk.family_name_key = ${familyNameKeySql('sr.family_name')} and pk.first3 = sr.first3
        where sr.id = w.record_id and (pk.first_holder = w.person_id or pk.last_holder = w.person_id))`;
    await this.setCarried(carried);
  }

  /**
   * Then, for the new records the identifiers carried nothing to, by the record's own matching
   * values within the dataset: a record whose date of birth, family name and first three letters
   * (as stored, all present; the family name by its familyNameKey) no other new record shares, and
   * exactly one previous record held, takes
   * that record's person — provided it gives that record's given name, not only its first three
   * letters (found by a defect hunt: a twin sister listed in the person's place took their id,
   * and the pass, finding no other record of either, kept her there), no other new record was
   * carried that person, none of the record's identifiers was in the previous snapshot (one that
   * was named someone else, or no one, and the identifier carry has decided), and none contradicts the person: of a kind the person
   * held under another hash, system ids included, as a name is no national number. Where the
   * pseudonyms cannot be compared (the previous key is gone) only a record without identifiers
   * takes a person without identifiers. A person whose name or date of birth changed is not
   * carried by this; the linking pass decides. Twin rows of one person: {@link twinRows}.
   */
  private async carryByKey(outcome: CarryOutcome): Promise<void> {
    const { snapshot } = this;
    const table = sql.raw(this.table);
    const keys = sql.raw(this.keyTable);
    const identifiers = outcome === 'previous-key' ? this.previousKeyHashes() : sql.raw('record_identifier');
    const comparable = outcome !== 'previous-key-unavailable';
    const identifierChecks = comparable
      ? sql`and not exists (
            select 1 from ${identifiers} ri join ${table} c on c.kind = ri.kind and c.hash = ri.hash
            where ri.record_id = u.record_id)
          and not exists (
            select 1 from ${identifiers} ri join ${table} c on c.person_id = k.person_id and c.kind = ri.kind and c.hash <> ri.hash
            where ri.record_id = u.record_id)`
      : sql`and not exists (select 1 from record_identifier ri where ri.record_id = u.record_id)
          and not exists (select 1 from ${table} c where c.person_id = k.person_id)`;
    // The new records whose key no other new record holds, found by one sort of the snapshot's
    // records (not a probe of the key's index for each, which would wade through every other
    // dataset's records of a common name); of a group of one, min(id) is that record. Every
    // record of the dataset is of this run by now: the previous ones are deleted.
    const familyKey = familyNameKeySql('sr.family_name');
    const unique = sql`select min(sr.id) as record_id, sr.date_of_birth, ${familyKey} as family_name_key, sr.first3,
        min(sr.given_name) as given_name
      from source_record sr
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.import_run_id = ${snapshot.runId}
        and sr.date_of_birth is not null and sr.family_name is not null and sr.first3 is not null
      group by sr.date_of_birth, ${familyKey}, sr.first3
      having count(*) = 1 and max(sr.carried_person_id) is null`;
    // Nor any of the person's records elsewhere (another party's, another dataset's), which a
    // name carries the record into as much as the previous one: an identifier of theirs of the
    // record's kind that is not the record's own value (found by a review: a record with another
    // NHS number was carried into the person social care holds, and shown as them). One under
    // another key version is not known to be the same: unless the record's hash under the
    // previous snapshot's key says so, it refuses too, as a weak link across key versions is
    // refused by the linking pass (found by a review: after a rotation the check compared nothing).
    // Driven from the person's records, by their index, not from the identifiers' kinds.
    const previousKeyHash =
      outcome === 'previous-key'
        ? sql`and not exists (
              select 1 from ${this.previousKeyHashes()} pi
              where pi.record_id = u.record_id and pi.kind = oi.kind and pi.hash = oi.hash
                and oi.key_version = ${snapshot.previousKeyVersion!})`
        : sql``;
    const elsewhere = sql`and not exists (
          select 1 from source_record o
          join record_identifier oi on oi.record_id = o.id
          join record_identifier ri on ri.record_id = u.record_id and ri.kind = oi.kind
          where o.person_id = k.person_id
            and not (oi.key_version = ri.key_version and oi.hash = ri.hash)
            and not (o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId})
            ${previousKeyHash})`;
    // What lets new record `u.record_id` take person `k.person_id`; `besides` narrows the other
    // new records carried the person that refuse it.
    const takes = (besides: RawBuilder<unknown>) => sql`not exists (
          select 1 from source_record o
          where o.carried_person_id = k.person_id
            and o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId} ${besides})
        ${identifierChecks}
        ${elsewhere}`;
    const carried = sql`select u.record_id, k.person_id
      from (${unique}) u
      join ${keys} k on k.date_of_birth = u.date_of_birth and k.family_name_key = u.family_name_key
        and k.first3 = u.first3 and k.given_name = u.given_name
      where k.records = 1 and k.person_id is not null
        and ${takes(sql``)}`;
    await this.setCarried(carried);
    // A record of the twin rows' own key carried the person by an identifier is one of the twins
    // (twinRows judges it), not another record that took the person.
    const outsideKey = sql`and not (o.date_of_birth = k.date_of_birth and o.first3 = k.first3
      and ${familyNameKeySql('o.family_name')} = k.family_name_key)`;
    await this.setCarried(this.twinRows(takes(outsideKey)));
  }

  /**
   * The new records of a key several previous records held, all one person's (the person listed
   * twice, each row as alike as the other: a duplicate row of the partner's extract), each with
   * that person: a twin row is carried as a single one is, by {@link carryByKey}'s rules for the
   * key's records taken together. Every new record of the key takes the person, or none does:
   * none where more new records hold it than previous ones did (one may be someone new, a sibling
   * of the same names, and which is not known), where one was carried by an identifier to another
   * person, or where `takes` (in `u.record_id`, `k.person_id`) refuses any of them not carried by
   * an identifier (an identifier of one says another person may hold the key now), or where they are not alike in
   * their given names (the key holds only its first three letters: Mary's twin sister Maryanne,
   * sent beside her once the duplicate row is gone, is someone new, as two new records of a
   * single record's key are; found by a review), or alike in one the person's rows did not give
   * (found by a defect hunt). One carried to the person by an identifier is
   * the person's by rules stricter than these, and counts as one of the key's records still: its
   * twin without identifiers was left without a person until the next pass, and a lookup in
   * between showed the person without it (found by a review). Driven from the key table's keys
   * of several records and one person, which only an officer's confirmation makes (a rule links
   * nobody by a key two records of one source hold): one read of that table, no sort, and for
   * each such key a probe of the date-of-birth index and of the key table's primary key. The
   * snapshot's rows are not read again, so a load of a million rows with no twin pays a
   * sequential read of a temporary table and nothing per row beyond it.
   */
  private twinRows(takes: RawBuilder<unknown>): RawBuilder<unknown> {
    const { snapshot } = this;
    const keys = sql.raw(this.keyTable);
    const byBirth = this.engine === 'sqlite' ? sql.raw(' indexed by source_record_dob_name') : sql``;
    // A person holds one key of the table at most (notePrevious), so a key's new records are the
    // person's partition.
    const records = sql`select sr.id as record_id, sr.carried_person_id, sr.given_name, k.given_name as previous_given,
        k.person_id, k.records, k.date_of_birth, k.family_name_key, k.first3
      from ${keys} k cross join source_record sr${byBirth}
      where k.records > 1 and k.person_id is not null
        and sr.date_of_birth = k.date_of_birth and sr.first3 = k.first3
        and ${familyNameKeySql('sr.family_name')} = k.family_name_key
        and sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.import_run_id = ${snapshot.runId}`;
    // Each refusal is read per record first: SQL Server takes no subquery inside an aggregate.
    // The key table again by its primary key (it has no index by person).
    const judged = sql`select u.record_id, u.carried_person_id, u.given_name, u.previous_given, u.person_id, u.records,
        case when u.carried_person_id is not null then (case when u.carried_person_id = u.person_id then 0 else 1 end)
          when ${takes} then 0 else 1 end as refused
      from (${records}) u cross join ${keys} k
      where k.date_of_birth = u.date_of_birth and k.family_name_key = u.family_name_key and k.first3 = u.first3`;
    const person = sql`partition by j.person_id`;
    return sql`select t.record_id, t.person_id from (
        select j.record_id, j.person_id, j.records, j.carried_person_id, j.previous_given,
          count(*) over (${person}) as successors,
          max(j.refused) over (${person}) as refused,
          count(j.given_name) over (${person}) as named,
          min(j.given_name) over (${person}) as first_given,
          max(j.given_name) over (${person}) as last_given
        from (${judged}) j
      ) t
      where t.successors <= t.records and t.refused = 0 and t.carried_person_id is null
        and t.named = t.successors and t.first_given = t.last_given and t.first_given = t.previous_given`;
  }

  /** Gives each record (`record_id` of `carried`) its carried person (`person_id`): found at once, linked by the next pass. */
  private async setCarried(carried: RawBuilder<unknown>): Promise<void> {
    if (this.engine === 'mssql') {
      await sql`update sr set person_id = c.person_id, carried_person_id = c.person_id
        from source_record sr join (${carried}) c on c.record_id = sr.id`.execute(this.trx);
    } else {
      await sql`update source_record set person_id = c.person_id, carried_person_id = c.person_id
        from (${carried}) as c where source_record.id = c.record_id`.execute(this.trx);
    }
  }
}

/**
 * How a load carried person ids over from the party's previous snapshot of the dataset
 * ({@link CarriedPersonIds}): `first-snapshot` there was none; `no-identifiers` it held no
 * identifier to go by (records were carried by their matching keys alone); `same-key` and
 * `previous-key` compared pseudonyms made under the load's key or, after a rotation, under the
 * previous snapshot's; `previous-key-unavailable` the previous snapshot's key version could not be
 * read, so nothing was carried by identifier, and by matching key only between records without
 * identifiers.
 */
export type CarryOutcome =
  'first-snapshot' | 'no-identifiers' | 'same-key' | 'previous-key' | 'previous-key-unavailable';
