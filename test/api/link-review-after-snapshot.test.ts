import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { asHousingReviewer, linkForReview, listedCandidateIds } from '../support/linked-people.js';
import { raceAtFirstWrite } from '../support/pass-at-consent-check.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An officer's decision on a candidate one of whose records the party's next snapshot has
 * replaced (new record rows), before the linking pass that follows the import has run: whether
 * the snapshot landed before the officer's request, or between its read of the candidate and
 * its write. The officer's word must hold for the records it was about, or be refused so that
 * they review the pair again: never a 200 after which nothing holds.
 */
describe('a review decision after a snapshot replaced one of the candidate records, before any pass', () => {
  let t: TestHost;
  let extracts: HostExtracts;
  const AGREEMENT = 'social-care-education-housing';
  const DATASET = 'multiple-disadvantage-indicators';
  const HOUSING_HEAD = 'firstName,lastName,dateOfBirth,homePostcode,inRentArrears,inTemporaryAccommodation';
  const CARE_HEAD = 'firstName,lastName,dateOfBirth,homePostcode,childProtection';

  let file = 0;
  const load = (party: string, lines: readonly string[]) =>
    extracts.load(party, DATASET, `extract-${String(++file).padStart(3, '0')}.csv`, lines);
  const entriesOf = (requestId: string) =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['action', 'decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .execute();
  const decisions = () => t.host.services.store.db.selectFrom('link_decision').select('decision').execute();
  /** The person ids of the records of this given name (one in each party's extract). */
  const peopleNamed = async (firstName: string) =>
    (
      await t.host.services.store.db
        .selectFrom('source_record')
        .select('person_id')
        .where('given_name', '=', firstName.toUpperCase())
        .execute()
    ).map((r) => r.person_id);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  /**
   * Housing's and social care's records of someone whose surname one system misspells (tier 5
   * only), a full pass, and the one open candidate, read by the reviewer.
   */
  const proposePair = async (first: string, housingLast: string, careLast: string) => {
    await load('la-housing', [HOUSING_HEAD, `${first},${housingLast},2012-03-04,ME14 1XX,Y,Y`]);
    await load('la-childrens-social-care', [CARE_HEAD, `${first},${careLast},2012-03-04,ME14 1XX,Y`]);
    await linkForReview(t, AGREEMENT);
    const ids = await listedCandidateIds(t);
    expect(ids).toHaveLength(1);
    expect((await asHousingReviewer(t, `/v1/link-candidates/${ids[0]}`)).status).toBe(200);
    return ids[0]!;
  };

  const cases = [
    { when: 'before the request', verdict: 'confirm', first: 'Jonathan', housing: 'Smyth', care: 'Smith' },
    { when: 'before the request', verdict: 'reject', first: 'Amira', housing: 'Khan', care: 'Kahn' },
    {
      when: 'between its read and its write',
      verdict: 'confirm',
      first: 'Stephen',
      housing: 'Philips',
      care: 'Phillips',
    },
    { when: 'between its read and its write', verdict: 'reject', first: 'Niamh', housing: 'Reilly', care: 'Riley' },
  ] as const;

  for (const c of cases) {
    it(`${c.verdict}, the snapshot landing ${c.when}: 404 candidate-unknown, nothing decided; the next pass proposes the pair again`, async () => {
      const id = await proposePair(c.first, c.housing, c.care);
      // Housing's next snapshot: the same person, moved (a new record row, of other values).
      const snapshot = () => load('la-housing', [HOUSING_HEAD, `${c.first},${c.housing},2012-03-04,ME15 2YY,Y,Y`]);
      const requestId = randomUUID();
      const decide = () =>
        asHousingReviewer(t, `/v1/link-candidates/${id}/${c.verdict}`, {
          method: 'POST',
          headers: { 'x-request-id': requestId },
        });
      let answer;
      if (c.when === 'before the request') {
        await snapshot();
        answer = await decide();
      } else {
        answer = await raceAtFirstWrite(t.host.services, snapshot, decide);
      }
      expect({
        status: answer.status,
        body: answer.body,
        entries: await entriesOf(requestId),
        decisions: await decisions(),
      }).toEqual({
        status: 404,
        body: expect.objectContaining({ type: 'urn:lintel:problem:candidate-unknown' }),
        entries: [{ action: `link.${c.verdict}`, decision: 'deny', reason_code: 'candidate-unknown' }],
        decisions: [],
      });
      expect(answer.text).not.toContain(c.first);
      expect(answer.text).not.toContain(c.housing);

      // The next pass asks about the pair again, as its records now are, under a new id.
      await linkForReview(t, AGREEMENT);
      const open = await listedCandidateIds(t);
      expect(open).toHaveLength(1);
      expect(open[0]).not.toBe(id);
      expect(new Set(await peopleNamed(c.first)).size, 'two people until an officer decides').toBe(2);
    }, 60_000);
  }
});
