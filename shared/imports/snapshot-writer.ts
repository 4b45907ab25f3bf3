import { sql, type Kysely, type Transaction } from 'kysely';
import { BatchedInsert, type BatchHook, type Param } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import type { ImportPhase } from './import-phases.js';
import { CarriedPersonIds, type CarryOutcome } from './carried-person-ids.js';
import { keepKeysOfDeparted, reachArrivals } from './opt-out-kept-keys.js';
import { OptOutSuccessors } from './opt-out-successors.js';
import { createTempIndex, snapshotTempTable, tempText, unqualifiedTempTable } from './snapshot-temp-table.js';

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
 * family name and first three letters, where no other new record has them either (or, for a
 * person listed twice, of the previous records of those values, all theirs, where no more new
 * records have them than before). All of it runs in SQL (temporary tables), never reading a
 * snapshot into memory, and is skipped when there is no previous snapshot. An opted-out person
 * the carry could not follow (a twin row of another person's, a corrected name or NHS number)
 * does not lose the opt-out: every new record that may be theirs gets a new carried id holding
 * it ({@link OptOutSuccessors}); nor does one whose records an earlier load of any party's
 * dataset removed, when a new record may be theirs (opt-out-kept-keys.ts).
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

/** An identifier hashed under another key version, for a comparison only, in this order. */
export const COMPARISON_IDENTIFIER_ROW_COLUMNS = ['record_id', 'kind', 'key_version', 'hash'] as const;

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
   * under it ({@link SnapshotWriter.addComparisonIdentifiers}), only to carry person ids.
   */
  readonly previousKeyVersion?: string;
  /**
   * Every other key version the rows' identifiers are also hashed under, for comparisons only
   * (a rotation): {@link previousKeyVersion}, and those of the dataset's kept opt-out keys
   * (opt-out-kept-keys.ts).
   */
  readonly comparisonKeyVersions?: readonly string[];
}

/**
 * Indexes kept through a big load because keeping them costs less than a rebuild, which reads
 * the whole table again. A snapshot's rows enter the first three at one end of their key range,
 * an append: every row of a snapshot has the same party and dataset and no person yet, every
 * identifier the same key version, and their rowids are new and rising. They never enter the
 * last, partial one (records with a carried person id): the load inserts none, and the carry
 * sets them after the rebuild.
 */
const KEPT_INDEXES = new Set([
  'source_record_dataset',
  'source_record_person',
  'record_identifier_key_version',
  'source_record_carried',
]);

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
 * and so are the {@link KEPT_INDEXES}.
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
      (index) => !/^\s*create\s+unique\b/i.test(index.sql) && !KEPT_INDEXES.has(index.name),
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
 * The key version the identifiers of the party's current snapshot of the dataset were hashed
 * under, or undefined when it has none. Read in a load's transaction, before its rows are hashed,
 * to know whether they must also be hashed under a previous key: read outside it, another load
 * could replace the snapshot meanwhile, under another key version. Every
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
  /**
   * The temporary table of the rows' hashes under {@link Snapshot.comparisonKeyVersions}, with
   * their version; undefined when there are none. Dropped by {@link finish}, never kept.
   */
  private readonly comparisonTable: string | undefined;
  /** The inserts into {@link comparisonTable}, from {@link deletePrevious} on. */
  private comparisonIdentifiers: BatchedInsert | undefined;
  recordsWritten = 0;
  /** Set with {@link carried}: the opted-out people of the previous snapshot. */
  private optOuts: OptOutSuccessors | undefined;
  /** Set by {@link finish}. */
  carryOutcome: CarryOutcome | undefined;
  /**
   * Set by {@link finish}: new records given a new person id with the opt-outs of the people
   * they may succeed, whom the carry could not follow (opt-out-successors.ts).
   */
  optOutSuccessors = 0;
  /**
   * Set by {@link finish}: new records given a new person id with the opt-outs of people whose
   * last records an earlier load removed (opt-out-kept-keys.ts).
   */
  optOutArrivals = 0;

  /**
   * `trx` is a transaction of `store`; a failed write must roll it back (the writer's statements
   * are not undone one by one). `lap` times the writer's phases (import-phases.ts).
   */
  constructor(
    private readonly trx: Transaction<Database>,
    store: Pick<Store, 'dialect' | 'sqlite'>,
    private readonly snapshot: Snapshot,
    private readonly lap: (phase: ImportPhase) => void = () => undefined,
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
    const compared = snapshot.previousKeyVersion !== undefined || (snapshot.comparisonKeyVersions?.length ?? 0) > 0;
    this.comparisonTable = compared ? snapshotTempTable(engine, snapshot.runId, 'comparison_ids') : undefined;
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
    const engine = this.store.dialect.engine;
    await this.createComparisonTable();
    // One indexed probe: a first snapshot (a fresh store, `bench:import`) has nothing to carry.
    const previous = await currentSnapshot(this.trx, this.store, partyId, datasetId);
    if (previous === undefined) {
      this.carryOutcome = 'first-snapshot';
      return;
    }
    this.carried = new CarriedPersonIds(this.trx, engine, this.snapshot, this.comparisonTable);
    await this.carried.notePrevious();
    this.lap('carry person ids');
    this.optOuts = new OptOutSuccessors(this.trx, engine, this.snapshot);
    await this.optOuts.notePrevious();
    this.lap('opt-out successors');
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
   * The rows' identifiers hashed under the other key versions of a rotation
   * ({@link Snapshot.comparisonKeyVersions}), in {@link COMPARISON_IDENTIFIER_ROW_COLUMNS} order:
   * compared with the previous snapshot and the kept opt-out keys, never stored.
   */
  addComparisonIdentifiers(values: readonly Param[]): void {
    if (values.length > 0) this.comparisonIdentifiers?.pushRows(values);
  }

  /** Writes full batches (or everything, at the end). Records go first: identifiers refer to them. */
  async flush(all = false): Promise<void> {
    const comparison = this.comparisonIdentifiers;
    if (!all && !this.records.full && !this.identifiers.full && comparison?.full !== true) return;
    this.recordsWritten += await this.records.flush(this.trx, all, this.recordIndexes);
    await this.identifiers.flush(this.trx, all, this.identifierIndexes);
    await comparison?.flush(this.trx, all);
  }

  private async createComparisonTable(): Promise<void> {
    const { comparisonTable } = this;
    if (comparisonTable === undefined) return;
    const engine = this.store.dialect.engine;
    const table = sql.raw(comparisonTable);
    const text = (n: number) => tempText(engine, n);
    await sql`drop table if exists ${table}`.execute(this.trx);
    await sql`create table ${table} (
      record_id ${text(64)} not null,
      kind ${text(100)} not null,
      key_version ${text(64)} not null,
      hash ${text(64)} not null,
      primary key (record_id, kind, key_version))`.execute(this.trx);
    this.comparisonIdentifiers = new BatchedInsert(
      engine,
      unqualifiedTempTable(comparisonTable),
      COMPARISON_IDENTIFIER_ROW_COLUMNS,
      { sqlite: this.store.sqlite, rollbackOnError: true },
    );
  }

  /**
   * Writes everything left, rebuilds any index the load went without, and carries the previous
   * snapshot's person ids to the new records.
   */
  async finish(): Promise<void> {
    await this.flush(true);
    this.lap('insert');
    await this.recordIndexes?.rebuild(this.trx);
    await this.identifierIndexes?.rebuild(this.trx);
    // Built once the rows are in, not kept through the load: found from the few noted or kept
    // identifiers of opted-out people (opt-out-successors.ts resemblingNoted).
    if (this.comparisonTable !== undefined) {
      await createTempIndex(this.trx, this.store.dialect.engine, this.comparisonTable, 'snapshot_comparison_hash', [
        'kind',
        'hash',
      ]);
    }
    if (this.carried !== undefined) {
      const outcome = await this.carried.carry();
      this.carryOutcome = outcome;
      this.lap('carry person ids');
      if (this.optOuts !== undefined) {
        this.optOutSuccessors = await this.optOuts.carry(
          this.carried.comparableIdentifiers(outcome),
          this.carried.keyTable,
        );
        await keepKeysOfDeparted(this.trx, this.optOuts.left, this.snapshot.datasetId);
        await this.optOuts.drop();
      }
      await this.carried.drop();
      this.lap('opt-out successors');
    }
    this.optOutArrivals = await reachArrivals(
      this.trx,
      this.store.dialect.engine,
      { runId: this.snapshot.runId },
      this.comparisonTable,
    );
    if (this.comparisonTable !== undefined) await sql`drop table ${sql.raw(this.comparisonTable)}`.execute(this.trx);
    this.lap('opt-out successors');
    this.carried = undefined;
    this.optOuts = undefined;
    this.comparisonIdentifiers = undefined;
  }
}
