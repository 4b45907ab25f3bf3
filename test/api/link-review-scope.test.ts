import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asHousingReviewer, jonathanIn, linkForReview, listedCandidateIds } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The ISA keeps data on the joint system "only whilst clients of Housing are in temporary
 * accommodation", and "where no link is found, data will not be displayed from any of the
 * systems". A tier-5 candidate between two people neither of whom is a Housing client in
 * temporary accommodation is outside that scope: a reviewer may not list it, open it (names,
 * date of birth, address of a child known to social care and to a school) or decide it, just as
 * a housing officer's lookup may not show either person. Once one of them is such a client the
 * pair is the reviewer's to decide.
 */
describe('link review within the joint system scope', () => {
  let t: TestHost;
  const NHS = '9434765919';

  const openCandidates = async () =>
    (
      await t.host.services.store.db
        .selectFrom('record_link')
        .select('id')
        .where('agreement_id', '=', 'social-care-education-housing')
        .where('status', '=', 'candidate')
        .execute()
    ).map((r) => r.id);
  const relink = () => linkForReview(t, 'social-care-education-housing');

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const services = t.host.services;
    await insertRecord(
      services,
      jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }, { identifiers: { nhs: NHS } }),
    );
    await insertRecord(services, jonathanIn('la-education', 'Smyth', { currentSchool: 'St Mary' }));
    await relink();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('hides a pair of people no Housing record in temporary accommodation holds, as it does their lookups', async () => {
    const [id, ...others] = await openCandidates();
    expect(id, 'the pair is proposed').toBeDefined();
    expect(others).toEqual([]);

    const before = await t.accessLogSize();
    expect(await listedCandidateIds(t, 'limit=100')).toEqual([]);
    const view = await asHousingReviewer(t, `/v1/link-candidates/${id}`);
    expect(view.status).toBe(404);
    expect(view.text).not.toMatch(/Jonathan|Smyth|Smith|2012-03-04|ME14/);
    const confirm = await asHousingReviewer(t, `/v1/link-candidates/${id}/confirm`, { method: 'POST' });
    expect(confirm.status).toBe(404);
    const reject = await asHousingReviewer(t, `/v1/link-candidates/${id}/reject`, { method: 'POST' });
    expect(reject.status).toBe(404);
    // Each call leaves exactly one entry, and nothing was decided.
    expect((await t.accessLogSize()) - before).toBe(4);
    expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
    expect(await openCandidates()).toEqual([id]);
  });

  it('shows the pair once one of the two is a Housing client in temporary accommodation', async () => {
    // Housing holds no address for him: the NHS number alone joins him to social care's record.
    await insertRecord(
      t.host.services,
      jonathanIn(
        'la-housing',
        'Smith',
        { homePostcode: undefined, inTemporaryAccommodation: true },
        { identifiers: { nhs: NHS }, postcode: undefined },
      ),
    );
    await relink();
    const ids = await listedCandidateIds(t, 'limit=100');
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      const view = await asHousingReviewer(t, `/v1/link-candidates/${id}`);
      expect(view.status).toBe(200);
    }
  });
});
