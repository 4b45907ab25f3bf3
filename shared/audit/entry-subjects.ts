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

/** The person ids an entry's subject names, in the order written; none for no subject. */
export function personIdsOf(subjectRef: string | null): string[] {
  return subjectRef === null ? [] : subjectRef.split(SUBJECT_SEPARATOR).filter((id) => id !== '');
}
