import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { linkForReview } from '../support/linked-people.js';
import { insertRecord, keywaysApplicant } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * agreements/README.md, "Grants": `subjects: with-caller-record` answers only about people the
 * calling party's own extract holds a record of. On a review grant an agreement author means the
 * same: a council's officer lists, opens and decides only candidate pairs one of whose two people
 * is its own applicant — not a pair of two other councils' applicants, whose names, date of birth
 * and address the review would otherwise show it.
 */
describe("link review under a review grant for the caller's own subjects", () => {
  let t: TestHost;
  const AGREEMENT = 'keyways-housing-allocation';
  const PURPOSE = 'housing-allocation';
  let othersPair: string;
  let ownPair: string;

  const officer = (party: string, path: string, method = 'GET') =>
    callApi(t, path, { party, roles: ['senior-officer'], purpose: PURPOSE, method });
  const listed = async (party: string) =>
    ((await officer(party, '/v1/link-candidates?limit=100')).body.candidates as { candidateId: string }[]).map(
      (c) => c.candidateId,
    );
  const applicant = (...record: Parameters<typeof keywaysApplicant>) =>
    insertRecord(t.host.services, keywaysApplicant(...record));

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'keyways',
          from: '    actions: [review]\n',
          to: '    actions: [review]\n    subjects: with-caller-record\n',
        },
      ]),
    });
    // Applicants of Corby and of Wellingborough only; and a Kettering applicant Corby holds too.
    const corby = await applicant('corby-borough-council', 'Katherine', 'Whitfield', '1985-03-14');
    const wellingborough = await applicant('wellingborough-borough-council', 'Katherine', 'Whitfeld', '1985-03-14');
    const kettering = await applicant('kettering-borough-council', 'Jonathan', 'Smith', '1979-11-02');
    const corbyToo = await applicant('corby-borough-council', 'Jonathan', 'Smyth', '1979-11-02');
    await linkForReview(t, AGREEMENT);
    const links = await t.host.services.store.db
      .selectFrom('record_link')
      .select(['id', 'record_a', 'record_b'])
      .where('agreement_id', '=', AGREEMENT)
      .where('status', '=', 'candidate')
      .execute();
    const pair = (a: string, b: string) =>
      links.find((l) => [l.record_a, l.record_b].sort().join() === [a, b].sort().join())?.id;
    othersPair = pair(corby.recordId, wellingborough.recordId)!;
    ownPair = pair(kettering.recordId, corbyToo.recordId)!;
    expect(othersPair, 'the Corby–Wellingborough pair is proposed').toBeDefined();
    expect(ownPair, 'the Kettering–Corby pair is proposed').toBeDefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("keeps a pair of two other councils' applicants from the officer: not listed, opened or decided", async () => {
    const before = await t.accessLogSize();
    expect(await listed('kettering-borough-council')).not.toContain(othersPair);
    const view = await officer('kettering-borough-council', `/v1/link-candidates/${othersPair}`);
    expect(view.status).toBe(404);
    expect(view.text).not.toMatch(/Katherine|Whitf|1985-03-14|Elm Road/);
    for (const verdict of ['confirm', 'reject'])
      expect(
        (await officer('kettering-borough-council', `/v1/link-candidates/${othersPair}/${verdict}`, 'POST')).status,
      ).toBe(404);
    expect((await t.accessLogSize()) - before).toBe(4);
    expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
  });

  it('shows the officer a pair with one of its own applicants, and each council the pairs with its own', async () => {
    expect(await listed('kettering-borough-council')).toContain(ownPair);
    const view = await officer('kettering-borough-council', `/v1/link-candidates/${ownPair}`);
    expect(view.status).toBe(200);
    expect(JSON.stringify(view.body)).toContain('Smyth');
    expect(await listed('corby-borough-council')).toEqual(expect.arrayContaining([othersPair, ownPair]));
    expect(await listed('wellingborough-borough-council')).toContain(othersPair);
    expect(await listed('wellingborough-borough-council')).not.toContain(ownPair);
  });
});
