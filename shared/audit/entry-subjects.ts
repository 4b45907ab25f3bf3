import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Dialect } from '../store/dialect.js';
import type { Database } from '../store/schema.js';

/**
 * An access-log entry's subject (`subject_ref`): the person id it was about, or — for an entry
 * about several people, a link review of two records — each of their ids, space-separated (a
 * person id is a UUID: it holds no space). One column keeps the log's entry format, and so its
 * hashes, as they are; readers split it with {@link personIdsOf}.
 */
export const SUBJECT_SEPARATOR = ' ';

/** The subject of an entry about these people; null when about no one. */
export function subjectRefOf(personIds: readonly string[]): string | null {
  const ids = [...new Set(personIds)];
  return ids.length === 0 ? null : ids.join(SUBJECT_SEPARATOR);
}

/**
 * That an access-log entry's subject names the person id, alone or among several (first, last or
 * between two others): how a reader finds entries about a person in the store. Both ways are index
 * seeks: an entry about the person alone by its subject (access_log_subject), one about several
 * by the index of their ids (access_log_subject_id, {@link indexedSubjectIds}). A LIKE with a
 * leading wildcard, for the id last or between others, read the whole log for every request.
 *
 * A row of the index counts only where its entry's own subject names the person, the id between
 * separators: the index sits beside the hash chain, and a row planted there filed another
 * person's entry under this one for every request answered before verify reported it
 * (subject-id-fill.ts, strayIndexRows; found by a review). The check is made on the entries
 * the index's seek found, in the subquery, so the read stays a seek and a page is still filled by
 * the query's own limit; it compares the index row's own id, so adds no parameter, and by
 * {@link Dialect.holds}, not LIKE, whose wildcards an id would otherwise have to be kept from.
 */
export function subjectNames(
  eb: ExpressionBuilder<Database, 'access_log'>,
  dialect: Dialect,
  personId: string,
): Expression<SqlBool> {
  // The separator a literal, not a parameter: the opt-out lookup packs ids by their parameters.
  const separator = sql.lit(SUBJECT_SEPARATOR);
  const between = (ref: string) => sql<string>`concat(${separator}, ${sql.ref(ref)}, ${separator})`;
  return eb.or([
    eb('subject_ref', '=', personId),
    eb(
      'seq',
      'in',
      eb
        .selectFrom('access_log_subject_id')
        .innerJoin('access_log as entry', 'entry.seq', 'access_log_subject_id.seq')
        .select('access_log_subject_id.seq')
        .where('access_log_subject_id.person_id', '=', personId)
        .where(dialect.holds(between('entry.subject_ref'), between('access_log_subject_id.person_id'))),
    ),
  ]);
}

/**
 * The person ids of an entry's subject that `access_log_subject_id` holds a row for, each once:
 * every id of a subject holding the separator, an entry about several people; none for one about
 * a single person (its subject is the id, which access_log_subject seeks) or about no one. The
 * table is derived from the subject (migration 0050), written in the entry's own transaction,
 * and no part of its hash.
 */
export function indexedSubjectIds(subjectRef: string | null): string[] {
  return subjectRef?.includes(SUBJECT_SEPARATOR) ? [...new Set(personIdsOf(subjectRef))] : [];
}

/** The person ids an entry's subject names, in the order written; none for no subject. */
export function personIdsOf(subjectRef: string | null): string[] {
  return subjectRef === null ? [] : subjectRef.split(SUBJECT_SEPARATOR).filter((id) => id !== '');
}

/**
 * The longest subject the access log holds: `subject_ref` is 400 characters on SQL Server
 * (migration 0037; 100, two person ids, before it), ten person ids and their separators. A
 * review took back an entry that named every person a DPO's answer gave a reference to, for it
 * could not hold past two; ten covers a link review's decision applied to a source's duplicate
 * rows (link-review-api.ts) and an opt-out a split left with several people, and bounds what a
 * call may put in an indexed column.
 */
export const SUBJECT_REF_MAX_LENGTH = 400;

/**
 * The subject of an entry about these people, as many of them as the column holds, in the order
 * given (so the first is always named), and how many were left off.
 */
export function subjectRefWithin(personIds: readonly string[]): { subjectRef: string | null; leftOff: number } {
  const ids = [...new Set(personIds)];
  const named: string[] = [];
  for (const id of ids) {
    if (named.length > 0 && [...named, id].join(SUBJECT_SEPARATOR).length > SUBJECT_REF_MAX_LENGTH) break;
    named.push(id);
  }
  return { subjectRef: subjectRefOf(named), leftOff: ids.length - named.length };
}
