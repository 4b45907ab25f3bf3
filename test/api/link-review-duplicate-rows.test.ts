import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decideAsHousingReviewer,
  jonathanIn,
  linkBetween,
  linkForReview,
  peopleNamedByRequest,
  personOfRecord as personOfRecordIn,
  requestReasonsForPerson,
} from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';

/**
 * Social care holds Jonathan Smith twice, two rows alike in every value a decision is keyed on
 * (pair-key.ts), and two people until linked; Housing holds Jonathan Smyth, a client in temporary
 * accommodation. The tier proposes Housing's record with each of social care's: two candidates
 * under one pair key. An officer decides one, and the decision is applied to the other too
 * (review-queue.ts recordDecision): the other row's person's link state changes as much as the
 * two the officer saw, so a subject access request for that person must show the decision.
 */
describe("a decision on a candidate whose values a source's duplicate row repeats", () => {
  let t: TestHost;
  let records: { housing: string; care: string; careAgain: string };

  beforeEach(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    const housing = await insertRecord(s, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }));
    const care = await insertRecord(s, jonathanIn('la-childrens-social-care', 'Smith'));
    const careAgain = await insertRecord(s, jonathanIn('la-childrens-social-care', 'Smith'));
    records = { housing: housing.recordId, care: care.recordId, careAgain: careAgain.recordId };
    await linkForReview(t, AGREEMENT);
  });
  afterEach(async () => {
    await t?.stop();
  });

  const db = () => t.host.services.store.db;
  const personOfRecord = (recordId: string) => personOfRecordIn(t, recordId);
  /** The open candidate pairing Housing's record with this one of social care's. */
  const candidateWith = (careRecord: string) => linkBetween(t, records.housing, careRecord, { status: 'candidate' });

  for (const verdict of ['reject', 'confirm'] as const) {
    it(`names, once an officer's ${verdict} is applied to the other row's candidate too, that row's person in the entry`, async () => {
      const shown = await candidateWith(records.care);
      const other = await candidateWith(records.careAgain);
      expect(other.pair_key).toBe(shown.pair_key);
      const [housingPerson, carePerson, otherPerson] = await Promise.all(
        [records.housing, records.care, records.careAgain].map(personOfRecord),
      );
      expect(new Set([housingPerson, carePerson, otherPerson]).size).toBe(3);

      const requestId = await decideAsHousingReviewer(t, shown.id, verdict);
      const otherNow = await db()
        .selectFrom('record_link')
        .select('status')
        .where('id', '=', other.id)
        .executeTakeFirst();
      expect(otherNow?.status ?? 'replaced by the review pass').not.toBe('candidate');

      // The other row's person's subject access answer, under the id the row holds now.
      expect(await requestReasonsForPerson(t, AGREEMENT, await personOfRecord(records.careAgain), requestId)).toEqual([
        verdict === 'confirm' ? 'link-confirmed' : 'link-rejected',
      ]);
      // One entry, naming the three people as they were when decided.
      expect(await peopleNamedByRequest(t, requestId)).toEqual([housingPerson, carePerson, otherPerson].sort());
    }, 60_000);
  }
});
