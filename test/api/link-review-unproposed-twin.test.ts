import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SecretUnavailableError } from '../../shared/secrets/secret-source.js';
import {
  decideAsHousingReviewer,
  isaRecord,
  linkForReview,
  nhs,
  peopleNamedByRequest,
  personOfRecord as personOfRecordIn,
  requestReasonsForPerson,
} from '../support/linked-people.js';
import { insertRecord, type TestRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';

function person(
  partyId: string,
  givenName: string,
  familyName: string,
  dateOfBirth: string,
  postcode: string,
  more: { nhsNumber?: string; inTemporaryAccommodation?: boolean } = {},
): TestRecord {
  return isaRecord(
    partyId,
    { givenName, familyName, dateOfBirth, postcode },
    more.inTemporaryAccommodation === undefined ? {} : { inTemporaryAccommodation: more.inTemporaryAccommodation },
    more.nhsNumber === undefined ? undefined : { nhs: more.nhsNumber },
  );
}

/**
 * Housing holds Mary Green twice, alike in every value a decision is keyed on (pair-key.ts) but
 * for her NHS number on one row, which links that row to social care's Mary (tier 1). The tier
 * puts social care's Peter Green to the officer with the other row only, a client in temporary
 * accommodation. The officer's decision is kept under the pair's key, which the NHS row's pair
 * with Peter shares, and the review pass applies it there too though the tier does not propose
 * it (link-people.ts, twin-rows-decision.test.ts): a confirmation joins Peter to the person of
 * the NHS row and social care's Mary as well. That person is not one the officer was shown, nor
 * one of an open candidate's; a subject access request for them must show the decision all the
 * same.
 */
describe('a decision on a candidate whose values a twin repeats in a pair the tier does not propose', () => {
  let t: TestHost;
  let records: { maryWithNhs: string; mary: string; peter: string; careMary: string };

  beforeEach(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    const nhsNumber = nhs(914);
    const at = (r: TestRecord) => insertRecord(s, r).then((x) => x.recordId);
    records = {
      maryWithNhs: await at(person('la-housing', 'Mary', 'Green', '1980-05-06', 'ME15 2YY', { nhsNumber })),
      mary: await at(
        person('la-housing', 'Mary', 'Green', '1980-05-06', 'ME15 2YY', { inTemporaryAccommodation: true }),
      ),
      peter: await at(person('la-childrens-social-care', 'Peter', 'Green', '1979-07-08', 'ME15 2YY')),
      careMary: await at(person('la-childrens-social-care', 'Mary', 'Green', '1980-05-06', 'ME15 2YY', { nhsNumber })),
    };
    await at(person('la-housing', 'Jonathan', 'Smith', '2012-03-04', 'ME14 1XX'));
    await linkForReview(t, AGREEMENT);
  });
  afterEach(async () => {
    await t?.stop();
  });

  const db = () => t.host.services.store.db;
  const personOfRecord = (recordId: string) => personOfRecordIn(t, recordId);

  /** The one open candidate: Peter with the row without an NHS number; and the people as they are. */
  const theCandidate = async () => {
    const open = await db()
      .selectFrom('record_link')
      .select(['id', 'record_a', 'record_b'])
      .where('agreement_id', '=', AGREEMENT)
      .where('status', '=', 'candidate')
      .execute();
    expect(open.map((c) => [c.record_a, c.record_b].sort())).toEqual([[records.mary, records.peter].sort()]);
    const [mary, peter, withNhs] = (await Promise.all(
      [records.mary, records.peter, records.maryWithNhs].map(personOfRecord),
    )) as [string, string, string];
    expect(await personOfRecord(records.careMary)).toBe(withNhs);
    expect(new Set([mary, peter, withNhs]).size).toBe(3);
    return { id: open[0]!.id, people: { mary, peter, withNhs } };
  };
  const decide = (id: string, verdict: 'confirm' | 'reject') => decideAsHousingReviewer(t, id, verdict);
  /** The reason codes of the request's entries in this person's subject access answer. */
  const answeredFor = (personId: string, requestId: string) =>
    requestReasonsForPerson(t, AGREEMENT, personId, requestId);
  const subjectOf = (requestId: string) => peopleNamedByRequest(t, requestId);

  it("names, once the officer confirms, the person the review pass joins through the twin's pair", async () => {
    const { id, people } = await theCandidate();
    const requestId = await decide(id, 'confirm');
    // The review pass has joined all four.
    expect(new Set(await Promise.all(Object.values(records).map(personOfRecord))).size).toBe(1);
    expect(await answeredFor(people.withNhs, requestId)).toEqual(['link-confirmed']);
    expect(await subjectOf(requestId)).toEqual(Object.values(people).sort());
  }, 60_000);

  // The decision stands, and the officer is told 200, should the review pass fail
  // (link-review-api.ts): until the agreement's next pass, no merge leads a subject access
  // request from the NHS row's person to the decision that will join them to Peter.
  it('names that person when the review pass fails, before any pass has joined them', async () => {
    const { id, people } = await theCandidate();
    const secrets = t.host.services.secrets;
    const get = secrets.get.bind(secrets);
    const spy = vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (name === 'pseudonymisation-key') throw new SecretUnavailableError(name);
      return get(name, version);
    });
    let requestId: string;
    try {
      requestId = await decide(id, 'confirm');
    } finally {
      spy.mockRestore();
    }
    expect(await personOfRecord(records.maryWithNhs)).toBe(people.withNhs);
    expect(await personOfRecord(records.peter)).not.toBe(people.withNhs);
    expect(await answeredFor(people.withNhs, requestId)).toEqual(['link-confirmed']);
    // What the decision does for them: the next pass joins them.
    await linkForReview(t, AGREEMENT);
    expect(await personOfRecord(records.peter)).toBe(await personOfRecord(records.maryWithNhs));
  }, 60_000);
});
