import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  indexedSubjectIds,
  personIdsOf,
  SUBJECT_REF_MAX_LENGTH,
  subjectRefWithin,
} from '../../../shared/audit/entry-subjects.js';

describe("an entry's subject within the column", () => {
  it('names as many people as the column holds, the first always, and counts the rest', () => {
    const ids = Array.from({ length: 12 }, () => randomUUID());
    const [a, b] = ids as [string, string];
    expect(subjectRefWithin([])).toEqual({ subjectRef: null, leftOff: 0 });
    expect(subjectRefWithin([a, a])).toEqual({ subjectRef: a, leftOff: 0 });
    const two = subjectRefWithin([a, b]);
    expect(personIdsOf(two.subjectRef)).toEqual([a, b]);
    // Ten person ids fit (migration 0037): the eleventh and twelfth are left off.
    const twelve = subjectRefWithin(ids);
    expect({ named: personIdsOf(twelve.subjectRef), leftOff: twelve.leftOff }).toEqual({
      named: ids.slice(0, 10),
      leftOff: 2,
    });
    expect(twelve.subjectRef!.length).toBeLessThanOrEqual(SUBJECT_REF_MAX_LENGTH);
  });
});

describe('the ids of an entry the index of subjects holds (migration 0050)', () => {
  it('holds each person an entry about several names, and none of an entry about one person or none', () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    expect(indexedSubjectIds(`${a} ${b} ${c}`)).toEqual([a, b, c]);
    // Found by its subject alone (access_log_subject).
    expect(indexedSubjectIds(a)).toEqual([]);
    expect(indexedSubjectIds(null)).toEqual([]);
    // A subject holding the separator is never found by an equal id: each id it names is held, once.
    expect(indexedSubjectIds(`${a} ${a}`)).toEqual([a]);
  });
});
