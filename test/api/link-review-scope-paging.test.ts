import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asHousingReviewer, isaRecord, linkForReview } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A reviewer pages through the candidates it may decide. Where most open candidates are outside
 * the joint system's scope (pairs of people known only to social care and education), each page
 * must still hold up to `limit` candidates the reviewer may decide, and `next` must be null
 * exactly when none remain: an empty page that says "more to come", or a last page that says it
 * is not, sends the officer clicking through blank screens or leaves candidates unreviewed.
 */
describe('link review pages, with candidates outside the joint system scope', () => {
  let t: TestHost;
  const AGREEMENT = 'social-care-education-housing';
  const inScope: string[] = [];
  const outOfScope: string[] = [];

  const child = (partyId: string, givenName: string, familyName: string, attributes: Record<string, unknown> = {}) =>
    isaRecord(
      partyId,
      { givenName, familyName, dateOfBirth: givenName === 'Ada' ? '2011-07-08' : '2012-03-04', postcode: 'ME14 1XX' },
      attributes,
    );

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const services = t.host.services;
    // Out of scope: a child known to social care and to a school, no Housing record.
    const sc = await insertRecord(
      services,
      child('la-childrens-social-care', 'Jonathan', 'Smith', { childProtection: true }),
    );
    const ed = await insertRecord(services, child('la-education', 'Jonathan', 'Smyth', { currentSchool: 'St Mary' }));
    // In scope: a Housing client in temporary accommodation and a social care record like them.
    const housing = await insertRecord(
      services,
      child('la-housing', 'Ada', 'Lovelace', { inTemporaryAccommodation: true }),
    );
    const asc = await insertRecord(services, child('la-adult-social-care', 'Ada', 'Lovelase'));
    await linkForReview(t, AGREEMENT);
    const { store } = services;
    const links = await store.db
      .selectFrom('record_link')
      .selectAll()
      .where('agreement_id', '=', AGREEMENT)
      .where('status', '=', 'candidate')
      .execute();
    const pair = (a: string, b: string) =>
      links.find((l) => [l.record_a, l.record_b].sort().join() === [a, b].sort().join());
    const outside = pair(sc.recordId, ed.recordId);
    const within = pair(housing.recordId, asc.recordId);
    expect(outside, 'the out-of-scope pair is proposed').toBeDefined();
    expect(within, 'the in-scope pair is proposed').toBeDefined();
    await store.db.deleteFrom('record_link').where('agreement_id', '=', AGREEMENT).execute();
    // Many out-of-scope candidates rank above and between the three the reviewer may decide.
    const scores: [number, boolean][] = [
      [0.99, false],
      [0.98, false],
      [0.97, false],
      [0.96, false],
      [0.9, true],
      [0.8, false],
      [0.7, false],
      [0.6, false],
      [0.5, true],
      [0.4, false],
      [0.3, false],
      [0.2, true],
      [0.1, false],
    ];
    for (const [score, reviewable] of scores) {
      const id = randomUUID();
      const template = reviewable ? within! : outside!;
      await store.db
        .insertInto('record_link')
        .values({ ...template, id, score, pair_key: randomUUID(), identity_key: null })
        .execute();
      (reviewable ? inScope : outOfScope).push(id);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('fills each page with candidates the reviewer may decide, and says there are no more only at the end', async () => {
    const before = await t.accessLogSize();
    const first = await asHousingReviewer(t, '/v1/link-candidates?limit=2');
    expect(first.status).toBe(200);
    const firstIds = (first.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
    expect(firstIds).toEqual(inScope.slice(0, 2));
    expect(first.body.next).not.toBeNull();

    const second = await asHousingReviewer(t, `/v1/link-candidates?limit=2&after=${String(first.body.next)}`);
    expect(second.status).toBe(200);
    expect((second.body.candidates as { candidateId: string }[]).map((c) => c.candidateId)).toEqual(inScope.slice(2));
    expect(second.body.next).toBeNull();

    // Exactly the three, once each: none out of scope, none missed.
    const all = await asHousingReviewer(t, '/v1/link-candidates?limit=3');
    expect((all.body.candidates as { candidateId: string }[]).map((c) => c.candidateId)).toEqual(inScope);
    expect(all.body.next).toBeNull();
    expect(JSON.stringify([first.body, second.body, all.body])).not.toContain(outOfScope[0]);
    // One access-log entry per call, however many rows a page read.
    expect((await t.accessLogSize()) - before).toBe(3);
  });

  // A page that passes over 5,000 candidates the reviewer may not decide stops short, with a
  // `next` from the last of them: that `next` had been its score and id in the clear, a candidate
  // the reviewer may neither see nor decide (found by a review).
  it('gives a page that stops after 5,000 hidden candidates a next that names none of them, and goes on from it', async () => {
    const { store } = t.host.services;
    const template = await store.db
      .selectFrom('record_link')
      .selectAll()
      .where('id', '=', outOfScope[0]!)
      .executeTakeFirstOrThrow();
    const hidden = Array.from({ length: 5_000 }, () => randomUUID());
    for (let i = 0; i < hidden.length; i += 200)
      await store.db
        .insertInto('record_link')
        .values(hidden.slice(i, i + 200).map((id) => ({ ...template, id, score: 0.995, pair_key: randomUUID() })))
        .execute();

    const first = await asHousingReviewer(t, '/v1/link-candidates?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.candidates).toEqual([]);
    expect(first.body.next).not.toBeNull();
    const pages = [first.body];
    let next = first.body.next as string | null;
    while (next !== null && pages.length < 5) {
      const page = await asHousingReviewer(t, `/v1/link-candidates?limit=2&after=${encodeURIComponent(next)}`);
      expect(page.status).toBe(200);
      pages.push(page.body);
      next = page.body.next as string | null;
    }
    expect(pages.flatMap((p) => (p.candidates as { candidateId: string }[]).map((c) => c.candidateId))).toEqual(
      inScope,
    );
    expect(next).toBeNull();
    const answered = JSON.stringify(pages);
    expect([...hidden, ...outOfScope].filter((id) => answered.includes(id))).toEqual([]);
    expect(answered).not.toContain('0.995');
  });
});
