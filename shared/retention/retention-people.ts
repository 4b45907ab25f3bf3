import { sql, type Kysely, type RawBuilder } from 'kysely';
import { consentRecordsInForce } from '../consents/store-consent-register.js';
import { keepKeysOfDeparted } from '../imports/opt-out-kept-keys.js';
import { createNotedTables, noteIdentifiersOfNotedRecords, noteRecords } from '../imports/opt-out-successors.js';
import { snapshotTempTable, tempText } from '../imports/snapshot-temp-table.js';
import { BatchedInsert } from '../store/batched-insert.js';
import { dialectFor, type Engine } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { judgeable, type KeepWhileTest } from './keep-while.js';
import { withAttributes } from '../store/record-attributes.js';

/** Records a page of the judging read: each brings its attributes (JSON) into memory. */
const JUDGING_PAGE = 1_000;
/**
 * Records a page of the deletion: each page's ids are bound in its statements (an `in` list of
 * one parameter each, enforce-retention.ts), well under SQL Server's 2,100 parameters.
 */
const DELETION_PAGE = 500;

/** A page of records of people the rule does not keep, in person order. */
export interface OutOfScopePage {
  /** Their people, each in the page that holds their first record: a person is named once a pass. */
  readonly people: readonly string[];
  /** At most {@link DELETION_PAGE}: the deletion names them in one statement. */
  readonly records: readonly string[];
}

/**
 * The people of one retention pass of a rule (enforce-retention.ts), judged in the store a page at
 * a time, so that the pass holds a page in memory however big the dataset: what must outlast a
 * page stays in temporary tables of the pass's transaction (snapshot-temp-table.ts), created in
 * it, gone with it if it is rolled back, and dropped by {@link drop} before it commits.
 *
 * - `retention_records`: every record of the dataset as `(person_id, id)`, and whether it is of
 *   the field's sources, keyed in person order: the pages are read by that key (keyset paging),
 *   so each page is a seek whatever the store's own indexes, and a person's records come together.
 * - `retention_kept`: the people kept — by the field (or a value it cannot judge), for a consent
 *   in force, or waiting for a review against someone kept.
 * - `retention_pending`: who a pending link (a candidate, or a confirmation no pass has yet made
 *   one person) joins to whom, both ways, for following those links from the people kept.
 *
 * Keys are declared in each `create table`: SQL Server refuses `create index` inside a snapshot
 * transaction, which the pass is.
 */
export class RetentionPeople {
  private readonly records: RawBuilder<unknown>;
  private readonly keptTable: string;
  private readonly kept: RawBuilder<unknown>;
  private readonly pending: RawBuilder<unknown>;

  private constructor(
    private readonly trx: Kysely<Database>,
    private readonly engine: Engine,
    private readonly runId: string,
    /** For a purge of a source a re-signing dropped: only its records of the dataset are noted, and go. */
    private readonly partyId: string | undefined,
  ) {
    const table = (stem: string) => sql.raw(snapshotTempTable(engine, runId, stem));
    this.records = table('retention_records');
    this.keptTable = snapshotTempTable(engine, runId, 'retention_kept');
    this.kept = sql.raw(this.keptTable);
    this.pending = table('retention_pending');
  }

  /**
   * Notes the dataset's records and their people, in the pass's transaction; none is judged yet.
   * With `partyId`, that party's records of the dataset alone (dropped-sources.ts): the others'
   * are not the pass's to delete, nor are their links.
   */
  static async note(
    trx: Kysely<Database>,
    engine: Engine,
    runId: string,
    datasetId: string,
    decidingParties: readonly string[],
    partyId?: string,
  ): Promise<RetentionPeople> {
    const people = new RetentionPeople(trx, engine, runId, partyId);
    const { records, kept, pending } = people;
    const text = (n: number) => tempText(engine, n);
    for (const table of [records, kept, pending]) await sql`drop table if exists ${table}`.execute(trx);
    await sql`create table ${records} (
      person_id ${text(64)} not null,
      id ${text(64)} not null,
      deciding integer not null,
      primary key (person_id, id))`.execute(trx);
    await sql`create table ${kept} (person_id ${text(64)} not null primary key)`.execute(trx);
    await sql`create table ${pending} (
      person_a ${text(64)} not null,
      person_b ${text(64)} not null,
      link_id ${text(64)} not null,
      primary key (person_a, person_b, link_id))`.execute(trx);
    // Every record has a person: the pass waits while any record of the agreement has none (a
    // purge deletes those on its own, OutOfScopeDeletion.unplacedToo). A purge judges nothing: no
    // party decides, and `in ()` is no SQL on SQL Server.
    const deciding =
      decidingParties.length === 0
        ? sql`0`
        : sql`case when party_id in (${sql.join(decidingParties)}) then 1 else 0 end`;
    // A record's person as the linking pass reads it (store-sources.ts): its own, else the one it
    // carried at load. A rule's pass never sees a carried one (it waits for the pass); a purge
    // does, in a store loaded before a carried id was written to person_id too (05833f2), where
    // the record's people are named by that id in the log (found by a review: such records were
    // deleted as placed in no one, with no entry and no hash kept for subject access).
    await sql`insert into ${records} (person_id, id, deciding)
      select coalesce(person_id, carried_person_id), id, ${deciding}
      from source_record
      where dataset_id = ${datasetId} ${people.ofParty('source_record')}
        and coalesce(person_id, carried_person_id) is not null`.execute(trx);
    return people;
  }

  /**
   * Judges the records of the field's sources, person by person as the pages pass: a person is
   * kept when one of those records holds the wanted value, or one the test cannot judge (a blank,
   * a value of another type). Counts the records read, and those holding a value it can judge.
   */
  async judge(test: KeepWhileTest): Promise<{ deciding: number; judged: number }> {
    let deciding = 0;
    let judged = 0;
    let lastKept: string | undefined;
    let cursor: Cursor | undefined;
    const { top, limit } = dialectFor(this.engine).firstRowsClauses(JUDGING_PAGE);
    for (;;) {
      const page = await sql<{ person_id: string; id: string; attributes: string }>`
        select ${top} t.person_id, t.id, sr.attributes
        from ${this.records} t join source_record sr on sr.id = t.id
        where t.deciding = 1 ${after(cursor)}
        order by t.person_id, t.id ${limit}`.execute(this.trx);
      const keep: string[] = [];
      for (const row of await withAttributes(page.rows, this.trx)) {
        deciding++;
        const value = row.attributes[test.field];
        const canJudge = judgeable(test, value);
        if (canJudge) judged++;
        // A person's records come together: each kept person is noted once.
        if ((!canJudge || value === test.wanted) && row.person_id !== lastKept) {
          keep.push(row.person_id);
          lastKept = row.person_id;
        }
      }
      await this.keep(keep);
      const last = page.rows.at(-1);
      if (last === undefined || page.rows.length < JUDGING_PAGE) return { deciding, judged };
      cursor = { personId: last.person_id, id: last.id };
    }
  }

  /**
   * Keeps the people not already kept who have a consent in force (the decision is keyed by their
   * person id), and returns how many that holds. Not an opt-out: an opted-out person goes as
   * anyone else, their keys kept ({@link keepKeysOfOptedOut}).
   */
  async holdConsentsInForce(): Promise<number> {
    const inForce = consentRecordsInForce(this.trx).where('r.kind', '<>', 'opt-out').select('r.subject_key');
    const held = await sql`insert into ${this.kept} (person_id)
      select distinct h.subject_key from ${inForce} h
      where exists (select 1 from ${this.records} t where t.person_id = h.subject_key)
        and not exists (select 1 from ${this.kept} k where k.person_id = h.subject_key)`.execute(this.trx);
    return Number(held.numAffectedRows ?? 0n);
  }

  /**
   * Keeps whoever a pending link joins to someone kept, and so on along such links: each review
   * may make them one person with someone kept. A confirmed link is one person only once a pass
   * has formed them (link-people.ts): until then, or if the pass refuses the merge, it holds like
   * a candidate. Only links between records of the dataset count.
   */
  async keepUnderReview(agreementId: string, datasetId: string): Promise<void> {
    const { trx, pending, kept } = this;
    await sql`insert into ${pending} (person_a, person_b, link_id)
      select sa.person_id, sb.person_id, l.id
      from record_link l
      join source_record sa on sa.id = l.record_a
      join source_record sb on sb.id = l.record_b
      where l.agreement_id = ${agreementId} and l.status in ('candidate', 'confirmed')
        and sa.dataset_id = ${datasetId} and sb.dataset_id = ${datasetId}
        and sa.person_id <> sb.person_id`.execute(trx);
    await sql`insert into ${pending} (person_a, person_b, link_id)
      select person_b, person_a, link_id from ${pending}`.execute(trx);
    for (;;) {
      const reached = await sql`insert into ${kept} (person_id)
        select distinct p.person_b from ${pending} p
        where exists (select 1 from ${kept} k where k.person_id = p.person_a)
          and not exists (select 1 from ${kept} k where k.person_id = p.person_b)`.execute(trx);
      if (Number(reached.numAffectedRows ?? 0n) === 0) return;
    }
  }

  /**
   * Leaves the records whose people the deletion may change for the next linking pass, as an
   * import leaves the records of a snapshot it loads: each holds its person id as a carried one
   * (`carried_person_id`, which lookups still find it by), so the five-minute timer
   * (pending-links.ts) runs an incremental pass, and the retention rule waits for it. Before the
   * links and records go, in the deletion's transaction: should the pass that follows fail, or
   * never run, the records still wait. Two kinds:
   *
   * - every record kept of a source (party) that loses records: a pair of sources is linked as a
   *   whole (a key held by two records of a source links neither, deterministic.ts; the tier's
   *   weights are learnt from both), so the pairs of that source are linked again, as if it had
   *   sent its extract without the records deleted (found by the linkage property test: social
   *   care's record of someone, apart while a namesake of social care held their date of birth
   *   and names, stayed apart once retention had deleted the namesake);
   * - every record, of any dataset of the agreement, linked to one that goes and not going
   *   itself: its person was formed with that link, which may have held it apart (a record whose
   *   links reach two people joins neither, cluster.ts), also where the source lost every record.
   *
   * People are not formed here: a linking pass forms them under its own lock, carrying consents
   * and opt-outs as it merges (link-people.ts); this pass holds the lock only to judge and delete.
   */
  async leaveAffectedForRelinking(agreementId: string, datasetId: string): Promise<void> {
    const { trx, records, kept } = this;
    const notKept = (record: string) =>
      sql`not exists (select 1 from ${kept} k where k.person_id = ${sql.raw(record)}.person_id)`;
    const goes = (record: string) =>
      sql`${sql.raw(record)}.dataset_id = ${datasetId} ${this.ofParty(record)} and ${notKept(record)}`;
    await sql`update source_record set carried_person_id = person_id
      where dataset_id = ${datasetId} and carried_person_id is null
        and exists (select 1 from ${kept} k where k.person_id = source_record.person_id)
        and party_id in (select sr.party_id from ${records} t join source_record sr on sr.id = t.id
          where ${notKept('t')})`.execute(trx);
    // Each link's records found by primary key, as deleteLinksOfOutOfScope finds them.
    const linkedToGoing = (from: 'record_a' | 'record_b', to: 'record_a' | 'record_b') =>
      sql`select l.${sql.raw(to)} from record_link l
        where l.agreement_id = ${agreementId} and exists (select 1 from source_record sr
          where sr.id = l.${sql.raw(from)} and ${goes('sr')})`;
    await sql`update source_record set carried_person_id = person_id
      where carried_person_id is null and person_id is not null
        and (id in (${linkedToGoing('record_a', 'record_b')}) or id in (${linkedToGoing('record_b', 'record_a')}))
        and not (${goes('source_record')})`.execute(trx);
  }

  /**
   * Deletes the agreement's links of every record of a person not kept, in one statement that
   * finds each link's records by primary key: the store keeps no index on a link's records,
   * which every linking pass would have to keep up. Before the records themselves go.
   */
  async deleteLinksOfOutOfScope(agreementId: string, datasetId: string): Promise<void> {
    const goes = (column: 'record_a' | 'record_b') => sql`exists (select 1 from source_record sr
      where sr.id = record_link.${sql.raw(column)} and sr.dataset_id = ${datasetId} ${this.ofParty('sr')}
        and not exists (select 1 from ${this.kept} k where k.person_id = sr.person_id))`;
    await sql`delete from record_link
      where agreement_id = ${agreementId} and (${goes('record_a')} or ${goes('record_b')})`.execute(this.trx);
  }

  /**
   * Keeps the keys of the records of the people not kept who have an opt-out in force, as a load
   * keeps them when it drops an opted-out person's records (keepKeysOfDeparted, by the same
   * notes): normalised date of birth, names, first three letters and postcode, and the
   * identifiers' keyed hashes with their key version, under the opt-out's person id, for the
   * dataset — from every party, as the pass deletes from every party. A later load or linking
   * pass gives whoever resembles them a copy of the opt-out (opt-out-kept-keys.ts). Once who is
   * kept is settled, before the records go, in the deletion's transaction. Returns how many
   * people's keys it kept; most passes find none, and create nothing.
   */
  async keepKeysOfOptedOut(datasetId: string): Promise<number> {
    const { trx, engine, records, kept } = this;
    // Driven from the opt-outs, which are few, each person's records found by the table's key.
    const optedOut = consentRecordsInForce(trx).where('r.kind', '=', 'opt-out').select('r.subject_key').distinct();
    const notKept = sql`not exists (select 1 from ${kept} k where k.person_id = o.subject_key)`;
    const counted = await sql<{ people: number }>`
      select count(*) as people from ${optedOut} o
      where ${notKept} and exists (select 1 from ${records} t where t.person_id = o.subject_key)`.execute(trx);
    const people = Number(counted.rows[0]?.people ?? 0);
    if (people === 0) return 0;
    const noted = {
      records: snapshotTempTable(engine, this.runId, 'retention_optout_records'),
      identifiers: snapshotTempTable(engine, this.runId, 'retention_optout_ids'),
    };
    await createNotedTables(trx, engine, noted);
    await noteRecords(
      trx,
      noted,
      sql`from ${optedOut} o cross join ${records} t cross join source_record sr
        where t.person_id = o.subject_key and sr.id = t.id and ${notKept}`,
    );
    await noteIdentifiersOfNotedRecords(trx, noted);
    await keepKeysOfDeparted(trx, noted, datasetId);
    for (const table of [noted.records, noted.identifiers]) await sql`drop table ${sql.raw(table)}`.execute(trx);
    return people;
  }

  /** The records of people not kept, a page at a time, in person order. */
  async *outOfScope(): AsyncGenerator<OutOfScopePage> {
    let lastPerson: string | undefined;
    let cursor: Cursor | undefined;
    const { top, limit } = dialectFor(this.engine).firstRowsClauses(DELETION_PAGE);
    for (;;) {
      const page = await sql<{ person_id: string; id: string }>`
        select ${top} t.person_id, t.id from ${this.records} t
        where not exists (select 1 from ${this.kept} k where k.person_id = t.person_id) ${after(cursor)}
        order by t.person_id, t.id ${limit}`.execute(this.trx);
      const people: string[] = [];
      for (const { person_id: person } of page.rows) {
        if (person === lastPerson) continue;
        people.push(person);
        lastPerson = person;
      }
      if (page.rows.length > 0) yield { people, records: page.rows.map((r) => r.id) };
      const last = page.rows.at(-1);
      if (last === undefined || page.rows.length < DELETION_PAGE) return;
      cursor = { personId: last.person_id, id: last.id };
    }
  }

  /** Drops the temporary tables; call once the pass is done with them, before its commit. */
  async drop(): Promise<void> {
    for (const table of [this.records, this.kept, this.pending]) await sql`drop table ${table}`.execute(this.trx);
  }

  /** `and <record>.party_id = …` where the pass is a source's purge; nothing otherwise. */
  private ofParty(record: string): RawBuilder<unknown> {
    return this.partyId === undefined ? sql`` : sql`and ${sql.raw(record)}.party_id = ${this.partyId}`;
  }

  /** Notes these people as kept (each not yet noted). */
  private async keep(people: readonly string[]): Promise<void> {
    const insert = new BatchedInsert(this.engine, this.keptTable, ['person_id']);
    for (const person of people) {
      insert.push([person]);
      if (insert.full) await insert.flush(this.trx, false);
    }
    await insert.flush(this.trx, true);
  }
}

/** The last record of a page read in `(person_id, id)` order. */
interface Cursor {
  readonly personId: string;
  readonly id: string;
}

/**
 * The records after the cursor in `(person_id, id)` order, as a range of the key's first column
 * that an index seek can use (a row-value comparison, which SQLite takes, SQL Server does not).
 */
function after(cursor: Cursor | undefined): RawBuilder<unknown> {
  if (cursor === undefined) return sql``;
  return sql`and t.person_id >= ${cursor.personId} and (t.person_id > ${cursor.personId} or t.id > ${cursor.id})`;
}
