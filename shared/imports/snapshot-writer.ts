import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { BatchedInsert, type BatchHook, type Param } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import type { Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import type { ImportPhase } from './import-phases.js';

/**
 * Writes one party's dataset snapshot inside the caller's transaction: deletes the previous
 * snapshot's records and identifiers, then inserts the new ones in multi-row statements
 * (shared/store/batched-insert.ts). What every row of the snapshot shares (its run, party,
 * dataset, date and key version) is given once ({@link Snapshot}); rows carry the rest
 * ({@link RECORD_ROW_COLUMNS}, {@link IDENTIFIER_ROW_COLUMNS}), which is also all a prepared
 * batch brings over from the row worker.
 *
 * On SQLite a big snapshot is loaded into its tables without their secondary indexes, which are
 * built again at the end (see {@link DeferredIndexes}).
 *
 * Person ids carried over a snapshot: a new record has no person id until a linking pass
 * (shared/linkage/), and consents and opt-outs are recorded per person id. A person whose every
 * record is in this party's dataset (known to one source only) would otherwise lose their id —
 * and with it their consents and opt-outs — with every new snapshot, since no record would hold
 * it any more for the pass to keep. So, in the snapshot's transaction, the writer notes before
 * the delete which person each identifier pseudonym (kind and hash, under the snapshot's key
 * version) of the previous snapshot pointed to, and at the end gives each new record whose
 * identifiers point to exactly one previous person that person's id, as its `person_id` — so
 * lookups find the new record at once, before the pass — and as `carried_person_id`, which
 * marks it as not yet linked: the pass still sees a changed source, keeps the id where the
 * links agree, and clears the mark ({@link CarriedPersonIds}). A record one of whose identifiers
 * contradicts that person (another NHS number, say) is not carried. A record its identifiers
 * carry nothing to — most often one with none, as most of Housing's rows — is carried by its own
 * matching values instead: the person of the one previous record with the same date of birth,
 * family name and first three letters, where no other new record has them either. All of it runs
 * in SQL (temporary tables), never reading a snapshot into memory, and is skipped when there is
 * no previous snapshot.
 */

/** A record's own values, in this order. */
export const RECORD_ROW_COLUMNS = [
  'id',
  'row_number',
  'given_name',
  'family_name',
  'first3',
  'date_of_birth',
  'postcode',
  'address',
  'attributes',
] as const;

/** An identifier's own values, in this order. */
export const IDENTIFIER_ROW_COLUMNS = ['record_id', 'kind', 'hash'] as const;

/** What every row of one snapshot shares. */
export interface Snapshot {
  readonly runId: string;
  readonly partyId: string;
  readonly datasetId: string;
  /** The extract's date (`as_of`). */
  readonly asOf: string;
  /** The pseudonymisation key version its identifiers were hashed under. */
  readonly keyVersion: string;
  /**
   * When the party's previous snapshot of the dataset was hashed under another key version (the
   * key was rotated since), that version: the rows then also bring their identifiers hashed
   * under it ({@link SnapshotWriter.addPreviousKeyIdentifiers}), only to carry person ids.
   */
  readonly previousKeyVersion?: string;
}

/**
 * Indexes a snapshot's rows enter at one end of their key range, so keeping them costs an
 * append, while a rebuild would read the whole table again: every row of a snapshot has the
 * same party and dataset and no person yet, every identifier the same key version, and their
 * rowids are new and rising.
 */
const APPENDED_INDEXES = new Set(['source_record_dataset', 'source_record_person', 'record_identifier_key_version']);

/** Helper threads SQLite may use to sort an index it builds. */
const INDEX_SORT_THREADS = 2;

/** Rows a table must take in one snapshot before its indexes are worth rebuilding rather than keeping. */
const MIN_REBUILD_ROWS = 20_000;

/**
 * Lets a big snapshot load into a SQLite table without the table's secondary indexes and
 * builds them again afterwards in one sorted pass. Kept, every row lands on a random page of
 * the name, date-of-birth and hash indexes, and once those outgrow the page cache each page is
 * read and written again and again: a million-row snapshot then spends most of its time there.
 *
 * The drop and the rebuild run inside the snapshot's transaction, so readers and a crash see
 * the indexes of before or of after, never none. The rebuild covers the whole table, not just
 * the new rows, so the indexes are dropped only once the rows written reach both
 * {@link MIN_REBUILD_ROWS} and the rows the table holds beside them: the rebuild then costs at
 * most twice the new rows. Unique indexes are kept, so a duplicate still fails at its insert,
 * and so are the {@link APPENDED_INDEXES}.
 */
class DeferredIndexes implements BatchHook {
  /** Rows of other snapshots in the table, counted once the threshold is first reached. */
  private others: number | undefined;
  private dropped: { readonly name: string; readonly sql: string }[] | undefined;

  constructor(
    private readonly table: string,
    private readonly lap: (phase: ImportPhase) => void,
  ) {}

  /** Called before each batch with the rows this snapshot has written to the table so far. */
  async beforeBatch(trx: Kysely<Database>, rowsWritten: number): Promise<void> {
    if (this.dropped !== undefined || rowsWritten < MIN_REBUILD_ROWS) return;
    if (this.others === undefined) {
      const counted = await sql<{ n: number }>`select count(*) as n from ${sql.table(this.table)}`.execute(trx);
      this.others = Number(counted.rows[0]?.n ?? 0) - rowsWritten;
    }
    if (rowsWritten < this.others) return;
    this.lap('insert');
    const indexes = await sql<{ name: string; sql: string }>`
      select name, sql from sqlite_master
      where type = 'index' and tbl_name = ${this.table} and sql is not null`.execute(trx);
    this.dropped = indexes.rows.filter(
      (index) => !/^\s*create\s+unique\b/i.test(index.sql) && !APPENDED_INDEXES.has(index.name),
    );
    for (const index of this.dropped) await sql`drop index ${sql.id(index.name)}`.execute(trx);
    this.lap('drop indexes');
  }

  /** Builds the dropped indexes again (from their own definitions). */
  async rebuild(trx: Transaction<Database>): Promise<void> {
    const dropped = this.dropped ?? [];
    this.dropped = undefined;
    if (dropped.length === 0) return;
    this.lap('insert');
    // Each build is one large sort, which SQLite can share with helper threads (a third faster
    // on two cores); the connection's setting is put back after.
    const current = await sql<{ threads: number }>`pragma threads`.execute(trx);
    await sql.raw(`pragma threads = ${INDEX_SORT_THREADS}`).execute(trx);
    try {
      for (const index of dropped) await sql.raw(index.sql).execute(trx);
    } finally {
      await sql.raw(`pragma threads = ${Number(current.rows[0]?.threads ?? 0)}`).execute(trx);
    }
    this.lap('rebuild indexes');
  }
}

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
 * person: an identifier of a kind the person held in the previous snapshot under another hash
 * (a different NHS number, or another id of the same system) refuses the carry — such a record
 * may be someone else who took over one of the person's identifiers. One exception: a carry
 * that rests on a national identifier (NHS number, UPN, NI number) is not refused by a
 * contradicting system id alone, as a national number outranks a local system's id (the ISA's
 * tier order), so a person whose system id changed keeps their id.
 *
 * A record the identifiers carried nothing to, none of whose identifiers the previous snapshot
 * held (it has none, or only new ones), is then carried by its matching key within the dataset
 * (date of birth, family name, first three letters, as stored and all present), kept for the
 * previous records in another temporary table, `snapshot_carry_key`, with how many held each:
 * it takes the person of the one previous record that held its key, when no other new record
 * holds the key (two people of one name and date of birth, twins say, are no one's to guess),
 * the person was no other previous record's and has not been carried to another new record, and
 * none of the record's identifiers contradicts the person as above — system ids included, as a
 * name is no national number. A person whose name or date of birth changed is not carried this
 * way: the linking pass decides. Pseudonyms are compared only for those checks (after a
 * rotation, as below), so a key rotation changes nothing; should the previous key be unreadable,
 * only a record without identifiers takes a person who held none.
 *
 * A key rotation: the previous snapshot's pseudonyms were made under another key version than
 * the new one's, so the two cannot be compared. The import then also hashes the new rows'
 * identifiers under the previous snapshot's key (row-preparation.ts) and the writer keeps those
 * hashes in a further temporary table, `snapshot_carry_new`, for this comparison only: they are
 * dropped with it, never stored, and a rotation does not cost anyone their person id. Which
 * comparison runs is decided by the key version the previous snapshot's identifiers actually
 * carry, read inside the transaction; a previous snapshot under a version that is neither (its
 * key no longer readable) carries nothing by identifier, and {@link SnapshotWriter.carryOutcome}
 * says so.
 *
 * The tables: on SQLite `temp.snapshot_carry` (and `temp.snapshot_carry_key`,
 * `temp.snapshot_carry_new`), private to the connection. On SQL Server global temporary tables
 * `##lintel_carry_<run id>` (and `##lintel_carrykey_<run id>`, `##lintel_carrynew_<run id>`), not
 * local `#` ones: Kysely's mssql driver runs every statement through sp_executesql (tedious
 * execSql), and a `#` table created inside one such call is dropped when that call returns, so
 * the next statement could not find it. A `##`
 * table lives until the session that created it ends — the snapshot's transaction holds that
 * session — and is visible to other sessions, so its name is made unique by the run id, which
 * is our own generated UUID (checked here, never caller input). Their creation is part of the
 * transaction, so a rolled-back load leaves no table behind; a finished one drops them.
 */
class CarriedPersonIds {
  private readonly table: string;
  private readonly index: string;
  /** The previous snapshot's records by matching key (date of birth and names), with their people. */
  private readonly keyTable: string;
  /** The previous-key hashes of the new rows, when the snapshot brings them. */
  readonly newTable: string | undefined;

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly engine: Engine,
    private readonly snapshot: Snapshot,
  ) {
    if (engine === 'mssql') {
      const run = snapshot.runId.replace(/-/g, '');
      if (!/^[0-9a-fA-F]{32}$/.test(run)) throw new Error('An import run id must be a UUID.');
      this.table = `##lintel_carry_${run.toLowerCase()}`;
      this.index = 'snapshot_carry_person';
      this.keyTable = `##lintel_carrykey_${run.toLowerCase()}`;
      this.newTable = snapshot.previousKeyVersion === undefined ? undefined : `##lintel_carrynew_${run.toLowerCase()}`;
    } else {
      this.table = 'temp.snapshot_carry';
      this.index = 'temp.snapshot_carry_person';
      this.keyTable = 'temp.snapshot_carry_key';
      this.newTable = snapshot.previousKeyVersion === undefined ? undefined : 'temp.snapshot_carry_new';
    }
  }

  private text(n: number) {
    return sql.raw(this.engine === 'mssql' ? `nvarchar(${n}) collate database_default` : 'text');
  }

  /** Notes the previous snapshot's identifiers and matching keys, and their people; call before the delete. */
  async notePrevious(): Promise<void> {
    const { trx, snapshot } = this;
    const table = sql.raw(this.table);
    const text = (n: number) => this.text(n);
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
    const on = this.engine === 'mssql' ? table : sql.raw('snapshot_carry');
    await sql`create index ${sql.raw(this.index)} on ${on} (person_id, kind)`.execute(trx);
    // The previous records by their own matching values, for records with no identifier to go
    // by: how many records held each key and, held by one, its person.
    const keys = sql.raw(this.keyTable);
    await sql`drop table if exists ${keys}`.execute(trx);
    await sql`create table ${keys} (
      date_of_birth ${text(10)} not null,
      family_name ${text(200)} not null,
      first3 ${text(3)} not null,
      records integer not null,
      person_id ${text(64)},
      primary key (date_of_birth, family_name, first3))`.execute(trx);
    await sql`insert into ${keys} (date_of_birth, family_name, first3, records, person_id)
      select sr.date_of_birth, sr.family_name, sr.first3, count(*),
        case when count(*) = 1 then min(${person}) end
      from source_record sr
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.date_of_birth is not null and sr.family_name is not null and sr.first3 is not null
      group by sr.date_of_birth, sr.family_name, sr.first3`.execute(trx);
    // A person another previous record of the dataset also held (under another key) is not one
    // record's to pass on.
    await sql`update ${keys} set person_id = null
      where person_id in (
        select k.person_id from ${keys} k where k.person_id is not null group by k.person_id having count(*) > 1)`.execute(
      trx,
    );
    if (this.newTable !== undefined) {
      const newTable = sql.raw(this.newTable);
      await sql`drop table if exists ${newTable}`.execute(trx);
      await sql`create table ${newTable} (
        record_id ${text(64)} not null,
        kind ${text(100)} not null,
        hash ${text(64)} not null,
        primary key (record_id, kind))`.execute(trx);
    }
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
    await sql`drop table ${table}`.execute(trx);
    await sql`drop table ${sql.raw(this.keyTable)}`.execute(trx);
    if (this.newTable !== undefined) await sql`drop table ${sql.raw(this.newTable)}`.execute(trx);
    return outcome;
  }

  private async carryUnder(key: 'same-key' | 'previous-key'): Promise<void> {
    const { snapshot } = this;
    const table = sql.raw(this.table);
    // The new records' identifiers as the previous snapshot's were hashed: as stored, or (after a
    // rotation) hashed again under the previous key. Either way, `ri` has record_id, kind, hash.
    // Every identifier of this run is under the snapshot's key version, so none is filtered on it:
    // a condition on key_version would lead SQLite, which keeps no statistics here, to start from
    // the key-version index and read every identifier in the store under that version.
    const identifiers = { from: key === 'same-key' ? sql`record_identifier ri` : sql`${sql.raw(this.newTable!)} ri` };
    // A system id's kind: `system-id:<system>` (storage-plan.ts).
    const local = sql.raw(`'system-id:%'`);
    // Each new record's candidate: the one person all its known identifiers name, and whether a
    // national identifier (not a system id) is among them.
    const candidates = sql`select ri.record_id, min(c.person_id) as person_id,
        max(case when c.kind like ${local} then 0 else 1 end) as national
      from source_record sr
      join ${identifiers.from} on ri.record_id = sr.id
      join ${table} c on c.kind = ri.kind and c.hash = ri.hash
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.import_run_id = ${snapshot.runId}
      group by ri.record_id
      having count(c.person_id) = count(*) and min(c.person_id) = max(c.person_id)`;
    // ... unless one of the record's identifiers is of a kind the person held under another hash.
    const carried = sql`select k.record_id, k.person_id from (${candidates}) k
      where not exists (
        select 1 from ${identifiers.from}
        join ${table} c on c.person_id = k.person_id and c.kind = ri.kind and c.hash <> ri.hash
        where ri.record_id = k.record_id
          and (k.national = 0 or ri.kind not like ${local}))`;
    await this.setCarried(carried);
  }

  /**
   * Then, for the new records the identifiers carried nothing to, by the record's own matching
   * values within the dataset: a record whose date of birth, family name and first three letters
   * (as stored, all present) no other new record shares, and exactly one previous record held, takes
   * that record's person — provided no other new record was carried that person, none of the
   * record's identifiers was in the previous snapshot (one that was named someone else, or no one,
   * and the identifier carry has decided), and none contradicts the person: of a kind the person
   * held under another hash, system ids included, as a name is no national number. Where the
   * pseudonyms cannot be compared (the previous key is gone) only a record without identifiers
   * takes a person without identifiers. A person whose name or date of birth changed is not
   * carried by this; the linking pass decides.
   */
  private async carryByKey(outcome: CarryOutcome): Promise<void> {
    const { snapshot } = this;
    const table = sql.raw(this.table);
    const keys = sql.raw(this.keyTable);
    const identifiers = outcome === 'previous-key' ? sql.raw(this.newTable!) : sql.raw('record_identifier');
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
    const unique = sql`select min(sr.id) as record_id, sr.date_of_birth, sr.family_name, sr.first3
      from source_record sr
      where sr.party_id = ${snapshot.partyId} and sr.dataset_id = ${snapshot.datasetId}
        and sr.import_run_id = ${snapshot.runId}
        and sr.date_of_birth is not null and sr.family_name is not null and sr.first3 is not null
      group by sr.date_of_birth, sr.family_name, sr.first3
      having count(*) = 1 and max(sr.carried_person_id) is null`;
    const carried = sql`select u.record_id, k.person_id
      from (${unique}) u
      join ${keys} k on k.date_of_birth = u.date_of_birth and k.family_name = u.family_name and k.first3 = u.first3
      where k.records = 1 and k.person_id is not null
        and not exists (
          select 1 from source_record o
          where o.carried_person_id = k.person_id
            and o.party_id = ${snapshot.partyId} and o.dataset_id = ${snapshot.datasetId})
        ${identifierChecks}`;
    await this.setCarried(carried);
  }

  /** Gives each record (`record_id`) its carried person (`person_id`). */
  private async setCarried(carried: RawBuilder<unknown>): Promise<void> {
    const { trx } = this;
    if (this.engine === 'mssql') {
      await sql`update sr set person_id = c.person_id, carried_person_id = c.person_id
        from source_record sr join (${carried}) c on c.record_id = sr.id`.execute(trx);
    } else {
      await sql`update source_record set person_id = c.person_id, carried_person_id = c.person_id
        from (${carried}) as c where source_record.id = c.record_id`.execute(trx);
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

/**
 * The key version the identifiers of the party's current snapshot of the dataset were hashed
 * under, or undefined when it has none. Read before a load, to know whether its rows must also be
 * hashed under a previous key; the load itself goes by what it finds in its transaction. Every
 * identifier of a snapshot has the same version, so the first one found tells: the dataset's
 * records in index order, each probed by the identifiers' primary key, stopping at the first hit
 * however many records before it have none (a sample of the first records would take a snapshot
 * whose early rows lack identifiers for one without a key, and carry nobody over a rotation).
 */
export async function snapshotKeyVersion(
  db: Kysely<Database>,
  store: Pick<Store, 'dialect'>,
  partyId: string,
  datasetId: string,
): Promise<string | undefined> {
  const row = await store.dialect
    .firstRows(
      db
        .selectFrom('source_record as sr')
        .innerJoin('record_identifier as ri', 'ri.record_id', 'sr.id')
        .select('ri.key_version')
        .where('sr.party_id', '=', partyId)
        .where('sr.dataset_id', '=', datasetId),
      1,
    )
    .executeTakeFirst();
  return row?.key_version;
}

/** The snapshot of a party's dataset the store holds now: the run that loaded it and its date. */
export interface CurrentSnapshot {
  readonly runId: string;
  readonly asOf: string;
}

/**
 * The party's current snapshot of the dataset, if any. Every record of a snapshot has the same
 * run and as-of date (a load replaces all of them), so any one record tells.
 */
export async function currentSnapshot(
  db: Kysely<Database>,
  store: Pick<Store, 'dialect'>,
  partyId: string,
  datasetId: string,
): Promise<CurrentSnapshot | undefined> {
  const record = await store.dialect
    .firstRows(
      db
        .selectFrom('source_record')
        .select(['import_run_id', 'as_of'])
        .where('party_id', '=', partyId)
        .where('dataset_id', '=', datasetId),
      1,
    )
    .executeTakeFirst();
  return record === undefined ? undefined : { runId: record.import_run_id, asOf: record.as_of };
}

export class SnapshotWriter {
  private readonly records: BatchedInsert;
  private readonly identifiers: BatchedInsert;
  private readonly recordIndexes: DeferredIndexes | undefined;
  private readonly identifierIndexes: DeferredIndexes | undefined;
  private readonly store: Pick<Store, 'dialect' | 'sqlite'>;
  /** Set by {@link deletePrevious} when there was a previous snapshot to carry person ids from. */
  private carried: CarriedPersonIds | undefined;
  /** The rows' previous-key hashes, into the carry's table; set with {@link carried}. */
  private previousKeyIdentifiers: BatchedInsert | undefined;
  recordsWritten = 0;
  /** Set by {@link finish}. */
  carryOutcome: CarryOutcome | undefined;

  /**
   * `trx` is a transaction of `store`; a failed write must roll it back (the writer's statements
   * are not undone one by one). `lap` times the writer's phases (import-phases.ts).
   */
  constructor(
    private readonly trx: Transaction<Database>,
    store: Pick<Store, 'dialect' | 'sqlite'>,
    private readonly snapshot: Snapshot,
    lap: (phase: ImportPhase) => void = () => undefined,
  ) {
    this.store = store;
    const engine = store.dialect.engine;
    const options = { sqlite: store.sqlite, rollbackOnError: true };
    this.records = new BatchedInsert(engine, 'source_record', RECORD_ROW_COLUMNS, {
      ...options,
      shared: {
        import_run_id: snapshot.runId,
        party_id: snapshot.partyId,
        dataset_id: snapshot.datasetId,
        as_of: snapshot.asOf,
        // Set by the linker (shared/linkage), never guessed at import; a predecessor's id is
        // carried in `carried_person_id` (CarriedPersonIds) for the linker to keep.
        person_id: null,
      },
    });
    this.identifiers = new BatchedInsert(engine, 'record_identifier', IDENTIFIER_ROW_COLUMNS, {
      ...options,
      shared: { key_version: snapshot.keyVersion },
    });
    // Azure SQL keeps its indexes: dropping them would take schema locks that block every reader.
    if (engine === 'sqlite') {
      this.recordIndexes = new DeferredIndexes('source_record', lap);
      this.identifierIndexes = new DeferredIndexes('record_identifier', lap);
    }
  }

  /**
   * Deletes the records (and their identifiers) of the party's previous snapshot of the
   * dataset, first noting the person ids its identifiers and matching keys point to (see
   * {@link CarriedPersonIds}).
   */
  async deletePrevious(): Promise<void> {
    const { partyId, datasetId } = this.snapshot;
    // One indexed probe: a first snapshot (a fresh store, `bench:import`) has nothing to carry.
    const previous = await currentSnapshot(this.trx, this.store, partyId, datasetId);
    if (previous === undefined) {
      this.carryOutcome = 'first-snapshot';
      return;
    }
    const engine = this.store.dialect.engine;
    this.carried = new CarriedPersonIds(this.trx, engine, this.snapshot);
    await this.carried.notePrevious();
    if (this.carried.newTable !== undefined) {
      // Unqualified on SQLite: a temporary table's name is looked up before the main schema's.
      const name = engine === 'sqlite' ? this.carried.newTable.replace(/^temp\./, '') : this.carried.newTable;
      this.previousKeyIdentifiers = new BatchedInsert(engine, name, IDENTIFIER_ROW_COLUMNS, {
        sqlite: this.store.sqlite,
        rollbackOnError: true,
      });
    }
    await this.trx
      .deleteFrom('record_identifier')
      .where('record_id', 'in', (eb) =>
        eb.selectFrom('source_record').select('id').where('party_id', '=', partyId).where('dataset_id', '=', datasetId),
      )
      .execute();
    await this.trx
      .deleteFrom('source_record')
      .where('party_id', '=', partyId)
      .where('dataset_id', '=', datasetId)
      .execute();
  }

  /** Values in {@link RECORD_ROW_COLUMNS} order. */
  addRecord(values: readonly Param[]): void {
    this.records.push(values);
  }

  /** Values in {@link IDENTIFIER_ROW_COLUMNS} order; the record must have been added first. */
  addIdentifier(values: readonly Param[]): void {
    this.identifiers.push(values);
  }

  /** Records' values in {@link RECORD_ROW_COLUMNS} order, row after row; returns how many rows. */
  addRecords(values: readonly Param[]): number {
    return this.records.pushRows(values);
  }

  /** Identifiers' values in {@link IDENTIFIER_ROW_COLUMNS} order, row after row; their records first. */
  addIdentifiers(values: readonly Param[]): number {
    return this.identifiers.pushRows(values);
  }

  /**
   * The rows' identifiers hashed under the previous snapshot's key (a rotation), in
   * {@link IDENTIFIER_ROW_COLUMNS} order: compared with the previous snapshot, never stored.
   * Ignored when there is no previous snapshot.
   */
  addPreviousKeyIdentifiers(values: readonly Param[]): void {
    if (values.length > 0) this.previousKeyIdentifiers?.pushRows(values);
  }

  /** Writes full batches (or everything, at the end). Records go first: identifiers refer to them. */
  async flush(all = false): Promise<void> {
    const previousKey = this.previousKeyIdentifiers;
    if (!all && !this.records.full && !this.identifiers.full && previousKey?.full !== true) return;
    this.recordsWritten += await this.records.flush(this.trx, all, this.recordIndexes);
    await this.identifiers.flush(this.trx, all, this.identifierIndexes);
    await previousKey?.flush(this.trx, all);
  }

  /**
   * Writes everything left, rebuilds any index the load went without, and carries the previous
   * snapshot's person ids to the new records.
   */
  async finish(): Promise<void> {
    await this.flush(true);
    await this.recordIndexes?.rebuild(this.trx);
    await this.identifierIndexes?.rebuild(this.trx);
    if (this.carried !== undefined) this.carryOutcome = await this.carried.carry();
    this.carried = undefined;
    this.previousKeyIdentifiers = undefined;
  }
}
