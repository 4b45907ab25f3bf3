import { sql, type Kysely } from 'kysely';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Dialect, Engine } from '../store/dialect.js';
import { isUniqueViolation } from '../store/unique-violation.js';
import { indexedSubjectIds, SUBJECT_SEPARATOR } from './entry-subjects.js';

/** Entries read at a time. */
const ENTRIES_PER_BATCH = 1000;
/** A batch filled by another verify at the same time is read again this many times. */
const CONCURRENT_FILL_RETRIES = 5;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration's database has no schema type
type AnySchema = Kysely<any>;

interface SubjectIdRow {
  person_id: string;
  seq: number;
}

/**
 * Gives every access-log entry about several people the rows of `access_log_subject_id` its
 * subject calls for (entry-subjects.ts, indexedSubjectIds), where they are missing, and answers
 * how many rows it wrote. Migration 0050 fills the new table with it; verification fills what an
 * instance still running the code before 0050 left out, its entries appended without rows, so
 * that a subject access request finds them (dpo-views.ts): the checkpointer those appended since
 * it last filled (checkpointer.ts), every five minutes, and verify the whole log, behind it.
 *
 * Only entries whose subject holds the separator are read, a batch at a time; a batch's existing
 * rows are found by seeks of the table's key (person id, then seq within the batch's range), and
 * only the rows missing are inserted, each batch's in one transaction: nothing is ever updated or
 * deleted, the table being append-only, and a second run writes nothing. An insert that meets a
 * row another run wrote meanwhile rolls its batch back, and the batch is read again.
 *
 * `table` is the table as the caller names it (the migration in the audit file's schema, where it
 * creates it); `inTransaction` says the caller's transaction already holds the writes (a migration);
 * `after` is the seq past which entries are read (0, the whole log), `through` the last read (the
 * checkpointer's, the size it checked); `passOver` names entries not to fill from (found altered).
 */
export async function fillSubjectIdIndex(
  db: AnySchema,
  d: Dialect,
  {
    table,
    inTransaction = false,
    after = 0,
    through,
    passOver = new Set(),
  }: { table: string; inTransaction?: boolean; after?: number; through?: number; passOver?: ReadonlySet<number> },
): Promise<number> {
  const { top, limit } = d.firstRowsClauses(ENTRIES_PER_BATCH);
  const aboutSeveral = `%${SUBJECT_SEPARATOR}%`;
  let filled = 0;
  for (let readPast = after; ;) {
    const batch = await sql<{ seq: number | string; subject_ref: string }>`
      select ${top} seq, subject_ref from access_log
      where seq > ${readPast} ${through === undefined ? sql`` : sql`and seq <= ${through}`}
      and subject_ref like ${aboutSeveral} order by seq ${limit}`.execute(db);
    if (batch.rows.length === 0) return filled;
    const due = batch.rows.flatMap((r) =>
      passOver.has(Number(r.seq))
        ? []
        : indexedSubjectIds(r.subject_ref).map((id) => ({ person_id: id, seq: Number(r.seq) })),
    );
    for (let attempt = 1; ; attempt++) {
      const missing = await rowsMissing(db, d.engine, table, due);
      if (missing.length === 0) break;
      try {
        const write = async (trx: AnySchema) => {
          const insert = new BatchedInsert(d.engine, table, ['person_id', 'seq']);
          for (const r of missing) {
            insert.push([r.person_id, r.seq]);
            if (insert.full) await insert.flush(trx, false);
          }
          await insert.flush(trx, true);
        };
        await (inTransaction ? write(db) : db.transaction().execute(write));
        filled += missing.length;
        break;
      } catch (err) {
        if (inTransaction || attempt >= CONCURRENT_FILL_RETRIES || !isUniqueViolation(err)) throw err;
      }
    }
    if (batch.rows.length < ENTRIES_PER_BATCH) return filled;
    readPast = Number(batch.rows.at(-1)!.seq);
  }
}

/** Of `due` (in ascending seq), the rows the table does not hold. */
async function rowsMissing(
  db: AnySchema,
  engine: Engine,
  table: string,
  due: readonly SubjectIdRow[],
): Promise<SubjectIdRow[]> {
  if (due.length === 0) return [];
  const first = due[0]!.seq;
  const last = due.at(-1)!.seq;
  const ids = [...new Set(due.map((r) => r.person_id))];
  const rows = await inSlices(engine, ids, async (slice) => {
    const { rows: found } = await sql<SubjectIdRow>`
      select person_id, seq from ${sql.table(table)}
      where person_id in (${sql.join(slice)}) and seq >= ${first} and seq <= ${last}`.execute(db);
    return found;
  });
  const held = new Set(rows.map((r) => `${r.person_id}${SUBJECT_SEPARATOR}${Number(r.seq)}`));
  return due.filter((r) => !held.has(`${r.person_id}${SUBJECT_SEPARATOR}${r.seq}`));
}

/**
 * The sequence numbers of the rows of `access_log_subject_id` whose entry's subject does not name
 * their person, or that have no entry yet, in (person, seq) order, at most `max`. The table is
 * beside the chain, so no hash covers it, and a subject access request reads it as the subject
 * (dpo-views.ts): a row planted there files another person's entry, or the entry still to come
 * under its seq, under someone it was never about (found by a defect hunt: verify passed it).
 */
export async function strayIndexRows(db: AnySchema, d: Dialect, max: number): Promise<number[]> {
  const { top, limit } = d.firstRowsClauses(ENTRIES_PER_BATCH);
  const stray: number[] = [];
  for (let after: SubjectIdRow | undefined; ;) {
    const from = after;
    const batch = await sql<SubjectIdRow & { subject_ref: string | null }>`
      select ${top} i.person_id, i.seq, a.subject_ref
      from access_log_subject_id i left join access_log a on a.seq = i.seq
      ${from === undefined ? sql`` : sql`where i.person_id > ${from.person_id} or (i.person_id = ${from.person_id} and i.seq > ${from.seq})`}
      order by i.person_id, i.seq ${limit}`.execute(db);
    for (const row of batch.rows) {
      if (!indexedSubjectIds(row.subject_ref).includes(row.person_id)) stray.push(Number(row.seq));
      if (stray.length >= max) return stray;
    }
    if (batch.rows.length < ENTRIES_PER_BATCH) return stray;
    after = batch.rows.at(-1);
  }
}
