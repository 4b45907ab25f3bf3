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
 * Housing's Jonathan Smyth, a client in temporary accommodation, and social care's Jonathan
 * Smith: an officer confirms they are one child, while each is alone in his source with those
 * names and that date of birth, so the confirmation is kept under the pair's identity key too
 * (review-queue.ts) and would follow Housing's record wherever he lives. He then moves while
 * Housing also holds a namesake: both Housing Jonathans are put to the officer with social
 * care's. The officer rejects the namesake. That rejection ends the earlier confirmation
 * (link-decisions.ts): once the namesake has gone, the first Jonathan is no longer joined to
 * social care's on the officer's earlier word, but asked about again. His link state is changed
 * by the rejection as much as the two people the officer saw, so a subject access request for
 * him must show it.
 */
describe('a rejection that ends an earlier confirmation of the same names and date of birth', () => {
  let t: TestHost;
  let records: { housing: string; care: string };

  beforeEach(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    const housing = await insertRecord(s, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }));
    const care = await insertRecord(s, jonathanIn('la-childrens-social-care', 'Smith'));
    records = { housing: housing.recordId, care: care.recordId };
    await linkForReview(t, AGREEMENT);
  });
  afterEach(async () => {
    await t?.stop();
  });

  const db = () => t.host.services.store.db;
  const personOfRecord = (recordId: string) => personOfRecordIn(t, recordId);
  /** The link pairing this Housing record with social care's, whatever its status. */
  const linkWith = (housingRecord: string) => linkBetween(t, housingRecord, records.care, { agreementId: AGREEMENT });

  it("names the person whose confirmation the rejection ended in the rejection's entry", async () => {
    const first = await linkWith(records.housing);
    expect(first.status).toBe('candidate');
    await decideAsHousingReviewer(t, first.id, 'confirm');
    expect(await personOfRecord(records.housing)).toBe(await personOfRecord(records.care));

    // He moves; Housing now holds a namesake too, also in temporary accommodation.
    const moved = { homePostcode: 'ME17 7AA', inTemporaryAccommodation: true };
    await db()
      .updateTable('source_record')
      .set({ postcode: 'ME17 7AA', attributes: JSON.stringify(jonathanIn('la-housing', 'Smyth', moved).attributes) })
      .where('id', '=', records.housing)
      .execute();
    const namesake = await insertRecord(
      t.host.services,
      jonathanIn(
        'la-housing',
        'Smyth',
        { homePostcode: 'ME16 8ZZ', inTemporaryAccommodation: true },
        { postcode: 'ME16 8ZZ' },
      ),
    );
    await linkForReview(t, AGREEMENT);
    expect((await linkWith(records.housing)).status).toBe('candidate');
    const rejected = await linkWith(namesake.recordId);
    expect(rejected.status).toBe('candidate');
    const [movedPerson, namesakePerson, carePerson] = await Promise.all(
      [records.housing, namesake.recordId, records.care].map(personOfRecord),
    );
    expect(new Set([movedPerson, namesakePerson, carePerson]).size).toBe(3);

    const requestId = await decideAsHousingReviewer(t, rejected.id, 'reject');

    // The moved Jonathan's subject access answer, under the id his record holds now.
    expect(await requestReasonsForPerson(t, AGREEMENT, await personOfRecord(records.housing), requestId)).toEqual([
      'link-rejected',
    ]);
    expect(await peopleNamedByRequest(t, requestId)).toEqual([movedPerson, namesakePerson, carePerson].sort());

    // What the rejection changed for him: with the namesake gone, the earlier confirmation no
    // longer joins him to social care's Jonathan; he is asked about again.
    await db().deleteFrom('source_record').where('id', '=', namesake.recordId).execute();
    await linkForReview(t, AGREEMENT);
    expect((await linkWith(records.housing)).status).toBe('candidate');
    expect(await personOfRecord(records.housing)).not.toBe(await personOfRecord(records.care));
  }, 60_000);
});
