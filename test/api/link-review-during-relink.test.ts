import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asHousingReviewer, jonathanIn, linkForReview, listedCandidateIds } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';
import { raceAtFirstWrite } from '../support/pass-at-consent-check.js';

/**
 * An officer's confirm or reject that reaches its write after a new snapshot replaced one of the
 * candidate's records and the agreement's pass proposed the pair again, under a new id: the
 * candidate the officer read is gone. The snapshot and the pass commit, deterministically, as the
 * write's transaction begins (after the handler read the candidate), as they can on the store's
 * one connection.
 */
describe('a review decision straddling a new snapshot and its linking pass', () => {
  let t: TestHost;
  const AGREEMENT = 'social-care-education-housing';
  const CARE = jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true });
  let careRecord: string;

  const pass = () => linkForReview(t, AGREEMENT);

  /** The care record replaced as a new snapshot of the same values replaces it (a new record id), then a pass. */
  const replaceCareRecordAndRelink = async () => {
    const s = t.host.services;
    const person = await s.store.db
      .selectFrom('source_record')
      .select('person_id')
      .where('id', '=', careRecord)
      .executeTakeFirstOrThrow();
    await s.store.db.deleteFrom('source_record').where('id', '=', careRecord).execute();
    careRecord = (await insertRecord(s, { ...CARE, personId: person.person_id ?? undefined })).recordId;
    await pass();
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    await insertRecord(s, jonathanIn('la-housing', 'Smyth', { inRentArrears: true, inTemporaryAccommodation: true }));
    careRecord = (await insertRecord(s, CARE)).recordId;
    await pass();
  });
  afterAll(async () => {
    await t?.stop();
  });

  for (const verdict of ['confirm', 'reject'] as const) {
    it(`${verdict}: tells the officer the candidate is gone, not that someone decided it; decides nothing`, async () => {
      const [id] = await listedCandidateIds(t);
      expect(id).toBeDefined();
      const s = t.host.services;
      const requestId = randomUUID();
      // The first transaction the request opens is its write: snapshot and pass commit just before it.
      const answer = await raceAtFirstWrite(s, replaceCareRecordAndRelink, () =>
        asHousingReviewer(t, `/v1/link-candidates/${id}/${verdict}`, {
          method: 'POST',
          headers: { 'x-request-id': requestId },
        }),
      );

      const entries = await s.store.db
        .selectFrom('access_log')
        .select(['action', 'decision', 'reason_code'])
        .where('request_id', '=', requestId)
        .execute();
      const decisions = await s.store.db.selectFrom('link_decision').select('decision').execute();
      const open = await listedCandidateIds(t);
      expect({ status: answer.status, type: answer.body.type, entries, decisions }).toEqual({
        status: 404,
        type: 'urn:lintel:problem:candidate-unknown',
        entries: [{ action: `link.${verdict}`, decision: 'deny', reason_code: 'candidate-unknown' }],
        decisions: [],
      });
      // The pair is proposed again under its new id, for the officer to decide.
      expect(open).toHaveLength(1);
      expect(open[0]).not.toBe(id);
    }, 60_000);
  }
});
