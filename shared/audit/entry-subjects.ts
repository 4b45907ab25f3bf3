import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
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
 */
export function subjectNames(eb: ExpressionBuilder<Database, 'access_log'>, personId: string): Expression<SqlBool> {
  return eb.or([
    eb('subject_ref', '=', personId),
    eb('seq', 'in', eb.selectFrom('access_log_subject_id').select('seq').where('person_id', '=', personId)),
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
