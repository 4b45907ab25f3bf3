import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH } from '../shared/agreements/agreement-files.js';
import { linkForReview } from '../support/linked-people.js';
import { insertRecord, KEYWAYS_APPLICANT_ADDRESS, keywaysApplicant } from '../support/records.js';
import { callApi, reasonCodesOf, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'keyways-housing-allocation';

const asCorbySeniorOfficer = (t: TestHost, path: string, method: 'GET' | 'POST' = 'GET') =>
  callApi(t, path, {
    party: 'corby-borough-council',
    roles: ['senior-officer'],
    purpose: 'housing-allocation',
    method,
  });

const applicant = (t: TestHost, ...record: Parameters<typeof keywaysApplicant>) =>
  insertRecord(t.host.services, keywaysApplicant(...record));

/** The open candidate of the agreement one of whose records is `recordId`. */
async function candidateWith(t: TestHost, recordId: string): Promise<string> {
  const links = await t.host.services.store.db
    .selectFrom('record_link')
    .select(['id', 'record_a', 'record_b'])
    .where('agreement_id', '=', AGREEMENT)
    .where('status', '=', 'candidate')
    .execute();
  return links.find((l) => [l.record_a, l.record_b].includes(recordId))?.id ?? '';
}

/**
 * The Keyways DSA re-signed with Wellingborough no longer supplying the housing register (s.9:
 * any Party may terminate). The records its extract loaded before stay in the store, and so do
 * the candidates a pass paired them in before the re-signing, until the next pass drops them
 * (link-people.ts); they are no longer the agreement's to share, as a lookup already holds
 * (person-view.ts), so a reviewer at Corby does not see Wellingborough's record of a Corby
 * applicant through the review queue either.
 */
describe("link review of a pair one of whose records is a former source's", () => {
  let t: TestHost;
  let formerPair: string;
  let currentPair: string;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await applicant(t, 'corby-borough-council', 'Katherine', 'Whitfield', '1985-03-14');
    // Loaded, and linked, while Wellingborough supplied the register.
    const wellingborough = await applicant(t, 'wellingborough-borough-council', 'Katherine', 'Whitfeld', '1985-03-14');
    await applicant(t, 'corby-borough-council', 'Margaret', 'Pennington', '1972-11-02');
    const kettering = await applicant(t, 'kettering-borough-council', 'Margaret', 'Penington', '1972-11-02');
    await linkForReview(t, AGREEMENT);
    formerPair = await candidateWith(t, wellingborough.recordId);
    currentPair = await candidateWith(t, kettering.recordId);
    expect(formerPair, 'the pair with the former source is proposed').not.toBe('');
    expect(currentPair, 'the pair of two current sources is proposed').not.toBe('');
    // Re-signed; no pass has run since (the next import's would drop the pair: link-people.ts).
    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH]),
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("neither lists, shows nor lets anyone decide a pair with a former source's record: as an unknown candidate", async () => {
    const list = await asCorbySeniorOfficer(t, '/v1/link-candidates?limit=100');
    expect(list.status, list.text).toBe(200);
    const listed = (list.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
    expect(listed).toContain(currentPair);
    expect(listed).not.toContain(formerPair);

    const unknown = await asCorbySeniorOfficer(t, '/v1/link-candidates/00000000-0000-4000-8000-000000000000');
    const view = await asCorbySeniorOfficer(t, `/v1/link-candidates/${formerPair}`);
    expect(view.status, view.text).toBe(404);
    expect(view.text).not.toMatch(/Katherine|Whitfeld|Whitfield|1985-03-14|Elm Road|NN17/);
    expect(view.body).toEqual(unknown.body);

    for (const verdict of ['confirm', 'reject']) {
      const decided = await asCorbySeniorOfficer(t, `/v1/link-candidates/${formerPair}/${verdict}`, 'POST');
      expect(decided.status, decided.text).toBe(404);
      expect(decided.body).toEqual(unknown.body);
    }
    expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
    const still = await t.host.services.store.db
      .selectFrom('record_link')
      .select('status')
      .where('id', '=', formerPair)
      .executeTakeFirst();
    expect(still?.status).toBe('candidate');
    expect((await reasonCodesOf(t, 'corby-borough-council')).slice(-4)).toEqual([
      'candidate-unknown',
      'candidate-unknown',
      'candidate-unknown',
      'candidate-unknown',
    ]);

    // The pair of two current sources is still the officer's to open.
    const shown = await asCorbySeniorOfficer(t, `/v1/link-candidates/${currentPair}`);
    expect(shown.status, shown.text).toBe(200);
  });

  it("fills a page past more pairs with a former source's record than one page reads", async () => {
    // Until the next pass drops them, a former source's pairs may outnumber the 5,000 a page reads
    // (review-queue.ts): copies of the one pair, ranked above the current pair.
    const { db } = t.host.services.store;
    const template = await db
      .selectFrom('record_link')
      .selectAll()
      .where('id', '=', formerPair)
      .executeTakeFirstOrThrow();
    for (let batch = 0; batch < 51; batch++)
      await db
        .insertInto('record_link')
        .values(
          Array.from({ length: 100 }, () => ({
            ...template,
            id: randomUUID(),
            score: 0.9,
            pair_key: randomUUID(),
            identity_key: null,
          })),
        )
        .execute();
    await db.updateTable('record_link').set({ score: 0.5 }).where('id', '=', currentPair).execute();

    const list = await asCorbySeniorOfficer(t, '/v1/link-candidates?limit=1');

    expect(list.status, list.text).toBe(200);
    expect((list.body.candidates as { candidateId: string }[]).map((c) => c.candidateId)).toEqual([currentPair]);
    expect(list.body.next, 'the only pair the officer may review is on this page').toBeNull();
  });
});

/**
 * The Keyways DSA re-signed so that Wellingborough no longer supplies applicants' gender (the
 * field's `sources` name Kettering and Corby alone); it still supplies the rest of the register.
 * The gender its extract loaded before stays in the store, and is no longer the agreement's to
 * share, as a lookup already holds (suppliedNow).
 */
describe('link review of a pair whose record holds a field a re-signing took away from its party', () => {
  let t: TestHost;
  let pair: string;

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'keyways',
          from: "        description: Client's gender (s.4 identification details).\n",
          to: "        description: Client's gender (s.4 identification details).\n        sources: [kettering-borough-council, corby-borough-council]\n",
        },
      ]),
    });
    await applicant(t, 'corby-borough-council', 'Katherine', 'Whitfield', '1985-03-14', { gender: 'Female' });
    // Loaded while Wellingborough supplied the gender.
    const wellingborough = await applicant(t, 'wellingborough-borough-council', 'Katherine', 'Whitfeld', '1985-03-14', {
      gender: 'Woman',
    });
    await linkForReview(t, AGREEMENT);
    pair = await candidateWith(t, wellingborough.recordId);
    expect(pair, 'the pair is proposed').not.toBe('');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("does not show the party's old value of the field, and still shows what it supplies now", async () => {
    const view = await asCorbySeniorOfficer(t, `/v1/link-candidates/${pair}`);
    expect(view.status, view.text).toBe(200);
    const records = view.body.records as { source: string; fields: Record<string, unknown> }[];
    const wellingborough = records.find((r) => r.source === 'wellingborough-borough-council');
    const corby = records.find((r) => r.source === 'corby-borough-council');
    expect(wellingborough?.fields).toMatchObject({ lastName: 'Whitfeld', address: KEYWAYS_APPLICANT_ADDRESS });
    expect(wellingborough?.fields).not.toHaveProperty('gender');
    expect(corby?.fields).toMatchObject({ gender: 'Female' });
    expect(view.text).not.toContain('Woman');
  });
});
