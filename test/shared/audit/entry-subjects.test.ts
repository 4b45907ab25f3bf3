import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { personIdsOf, SUBJECT_REF_MAX_LENGTH, subjectRefWithin } from '../../../shared/audit/entry-subjects.js';

describe("an entry's subject within the column", () => {
  it('names as many people as the column holds, the first always, and counts the rest', () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    expect(subjectRefWithin([])).toEqual({ subjectRef: null, leftOff: 0 });
    expect(subjectRefWithin([a, a])).toEqual({ subjectRef: a, leftOff: 0 });
    const two = subjectRefWithin([a, b]);
    expect(personIdsOf(two.subjectRef)).toEqual([a, b]);
    const three = subjectRefWithin([a, b, c]);
    expect({ named: personIdsOf(three.subjectRef), leftOff: three.leftOff }).toEqual({ named: [a, b], leftOff: 1 });
    expect(three.subjectRef!.length).toBeLessThanOrEqual(SUBJECT_REF_MAX_LENGTH);
  });
});
