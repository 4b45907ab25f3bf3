import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
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
 * between two others): how a reader finds entries about a person in the store. A person id holds
 * no LIKE wildcard.
 */
export function subjectNames(eb: ExpressionBuilder<Database, 'access_log'>, personId: string): Expression<SqlBool> {
  return eb.or([
    eb('subject_ref', '=', personId),
    eb('subject_ref', 'like', `${personId}${SUBJECT_SEPARATOR}%`),
    eb('subject_ref', 'like', `%${SUBJECT_SEPARATOR}${personId}`),
    eb('subject_ref', 'like', `%${SUBJECT_SEPARATOR}${personId}${SUBJECT_SEPARATOR}%`),
  ]);
}

/** The character after {@link SUBJECT_SEPARATOR}: a subject naming an id before others sorts below it. */
const AFTER_SEPARATOR = String.fromCharCode(SUBJECT_SEPARATOR.charCodeAt(0) + 1);

/**
 * That an access-log entry's subject names the person id first: alone, or before others. For a
 * reader that knows every id an entry it looks for can name first: unlike {@link subjectNames},
 * whose other places need a LIKE with a leading wildcard and so a read of the whole log, the
 * index on `subject_ref` (access_log_subject) answers it by seeks. SQLite's LIKE ignores case,
 * so that index (in binary order) cannot serve it: the same prefix there is a range, from the id
 * and the separator to before the id and the character after it. SQL Server seeks a LIKE with no
 * leading wildcard itself, in its column's collation, where the range's bounds might not sort so.
 */
export function subjectNamesFirst(
  eb: ExpressionBuilder<Database, 'access_log'>,
  engine: Dialect['engine'],
  personId: string,
): Expression<SqlBool> {
  const beforeOthers = `${personId}${SUBJECT_SEPARATOR}`;
  return eb.or([
    eb('subject_ref', '=', personId),
    engine === 'sqlite'
      ? eb.and([eb('subject_ref', '>=', beforeOthers), eb('subject_ref', '<', `${personId}${AFTER_SEPARATOR}`)])
      : eb('subject_ref', 'like', `${beforeOthers}%`),
  ]);
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
