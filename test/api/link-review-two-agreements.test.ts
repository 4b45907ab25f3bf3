import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, keywaysAlsoSignedBy } from '../shared/agreements/agreement-files.js';
import { jonathanIn, linkForReview } from '../support/linked-people.js';
import { insertRecord, type TestRecord } from '../support/records.js';
import { callApi, clientActivity, startTestHost, type ApiCall, type TestHost } from '../support/test-host.js';

/**
 * A reviewer's authority comes from the agreement that grants their role `review` on a dataset:
 * a decision is about pairs of that agreement's datasets alone, and its entry is that agreement's
 * DPOs' business. Here the ISA's Housing team also signs the Keyways DSA as a senior officer, so
 * one party reviews under two agreements; each purpose shows and decides its own agreement's
 * pairs only. Found safe on review, and held so here: a candidate is filed under the agreement
 * whose pass proposed it, over that agreement's datasets alone (dataset ids are unique across
 * agreements); the API answers only for one of the decision's agreement with both datasets in
 * its `review` grant (link-review-api.ts reviewableCandidate and pairDecisions, review-queue.ts
 * reviewable) — without that dataset check the Keyways reviewer below is shown and may decide
 * the ISA's pair, while the ISA's joint-system scope alone keeps the Keyways pair from the ISA's
 * reviewer; and a pass reads only its own agreement's decisions (link-decisions.ts read), each
 * kept under keys made of each record's party and dataset (pair-key.ts). Where a re-signing
 * moves the datasets to another agreement, see link-review-dataset-moved.test.ts.
 */
describe('link review when a reviewer signs two agreements', () => {
  let t: TestHost;
  const ISA = 'social-care-education-housing';
  const KEYWAYS = 'keyways-housing-allocation';
  const NHS = '9434765919';
  const startedAt = new Date(Date.now() - 60_000).toISOString();

  /** La-housing's officer under the ISA's purpose, holding its Keyways role as well. */
  const asIsaReviewer = (path: string, init: Omit<ApiCall, 'party' | 'roles' | 'purpose'> = {}) =>
    callApi(t, path, {
      ...init,
      party: 'la-housing',
      roles: ['reviewer', 'senior-officer'],
      purpose: 'homelessness-prevention',
    });
  /** The same officer under the Keyways DSA's purpose. */
  const asKeywaysReviewer = (path: string, init: Omit<ApiCall, 'party' | 'roles' | 'purpose'> = {}) =>
    callApi(t, path, { ...init, party: 'la-housing', roles: ['senior-officer'], purpose: 'housing-allocation' });

  const links = (agreementId: string) =>
    t.host.services.store.db
      .selectFrom('record_link')
      .select(['id', 'status', 'record_a', 'record_b'])
      .where('agreement_id', '=', agreementId)
      .orderBy('id')
      .execute();
  const openCandidateOf = async (agreementId: string) => {
    const open = (await links(agreementId)).filter((l) => l.status === 'candidate');
    expect(open.length, `${agreementId} proposes a candidate`).toBeGreaterThan(0);
    return open[0]!.id;
  };
  const listed = async (as: typeof asIsaReviewer) => {
    const res = await as('/v1/link-candidates?limit=100');
    expect(res.status, res.text).toBe(200);
    return (res.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
  };
  const keywaysPeople = () =>
    t.host.services.store.db
      .selectFrom('source_record')
      .select(['id', 'person_id'])
      .where('dataset_id', '=', 'keyways-housing-register')
      .orderBy('id')
      .execute();

  const keywaysApplicant = (partyId: string, dateOfBirth: string): TestRecord => ({
    partyId,
    datasetId: 'keyways-housing-register',
    givenName: 'Katherine',
    familyName: 'Whitfield',
    dateOfBirth,
    postcode: 'NN16 8AB',
    attributes: {
      firstName: 'Katherine',
      lastName: 'Whitfield',
      dateOfBirth,
      address: '12 Elm Road, Kettering NN16 8AB',
      multiAgencyPublicProtectionArrangements: 'highly confidential',
    },
  });

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([keywaysAlsoSignedBy('la-housing', ['senior-officer'])]),
    });
    const s = t.host.services;
    // The ISA: a child known to social care and education, a Housing client in temporary
    // accommodation (in scope), the surname spelt two ways, so tier 5 proposes the pair.
    await insertRecord(
      s,
      jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }, { identifiers: { nhs: NHS } }),
    );
    await insertRecord(s, jonathanIn('la-education', 'Smyth', { currentSchool: 'St Mary' }));
    await insertRecord(
      s,
      jonathanIn(
        'la-housing',
        'Smith',
        { homePostcode: undefined, inTemporaryAccommodation: true },
        { identifiers: { nhs: NHS }, postcode: undefined },
      ),
    );
    // Keyways: one applicant in two councils' registers, a day apart in the date of birth, so
    // tier 3 proposes the pair.
    await insertRecord(s, keywaysApplicant('kettering-borough-council', '1985-03-14'));
    await insertRecord(s, keywaysApplicant('corby-borough-council', '1985-03-15'));
    await linkForReview(t, ISA);
    await linkForReview(t, KEYWAYS);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("shows the ISA's reviewer no candidate of the Keyways register, and decides none", async () => {
    const keywaysCandidate = await openCandidateOf(KEYWAYS);
    const isaCandidate = await openCandidateOf(ISA);
    // Each purpose lists its own agreement's candidates: the officer holds both grants.
    expect(await listed(asKeywaysReviewer)).toContain(keywaysCandidate);
    const underIsa = await listed(asIsaReviewer);
    expect(underIsa).toContain(isaCandidate);
    expect(underIsa).not.toContain(keywaysCandidate);

    const keywaysBefore = await links(KEYWAYS);
    const view = await asIsaReviewer(`/v1/link-candidates/${keywaysCandidate}`);
    expect(view.status).toBe(404);
    expect(view.text).not.toMatch(/Katherine|Whitfield|1985|Elm Road|NN16/i);
    for (const verdict of ['confirm', 'reject']) {
      const res = await asIsaReviewer(`/v1/link-candidates/${keywaysCandidate}/${verdict}`, { method: 'POST' });
      expect(res.status, verdict).toBe(404);
    }
    expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
    expect(await links(KEYWAYS)).toEqual(keywaysBefore);
  });

  /**
   * A candidate filed under one agreement whose two records are in a dataset only the other
   * covers, as a dataset moved from one agreement to the other at a re-signing would leave the
   * first's pass's candidates: `from`'s open candidate re-filed under `to` for the test's length.
   */
  async function refiled(from: string, to: string, check: (candidateId: string) => Promise<void>) {
    const moved = await openCandidateOf(from);
    const refile = (agreementId: string) =>
      t.host.services.store.db
        .updateTable('record_link')
        .set({ agreement_id: agreementId })
        .where('id', '=', moved)
        .execute();
    await refile(to);
    try {
      await check(moved);
    } finally {
      await refile(from);
    }
  }

  /** `as` neither lists, opens nor decides the candidate; nothing is decided. */
  const unseenAndUndecided = async (as: typeof asIsaReviewer, candidateId: string, shown: RegExp) => {
    expect(await listed(as)).not.toContain(candidateId);
    const view = await as(`/v1/link-candidates/${candidateId}`);
    expect(view.status).toBe(404);
    expect(view.text).not.toMatch(shown);
    for (const verdict of ['confirm', 'reject']) {
      const res = await as(`/v1/link-candidates/${candidateId}/${verdict}`, { method: 'POST' });
      expect(res.status, verdict).toBe(404);
    }
    expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
    const row = await t.host.services.store.db
      .selectFrom('record_link')
      .select('status')
      .where('id', '=', candidateId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('candidate');
  };

  it("shows a Keyways reviewer no candidate filed under Keyways over the ISA's dataset, and decides none", async () => {
    await refiled(ISA, KEYWAYS, (id) => unseenAndUndecided(asKeywaysReviewer, id, /Jonathan|Smith|Smyth|2012|ME14/i));
  });

  it("shows the ISA's reviewer no candidate filed under the ISA over the Keyways register, and decides none", async () => {
    await refiled(KEYWAYS, ISA, (id) =>
      unseenAndUndecided(asIsaReviewer, id, /Katherine|Whitfield|1985|Elm Road|NN16/i),
    );
  });

  it("applies an ISA decision to the ISA's pairs alone, and files it for the ISA's DPOs, not Keyways'", async () => {
    const isaCandidate = await openCandidateOf(ISA);
    const keywaysLinks = await links(KEYWAYS);
    const keywaysBefore = await keywaysPeople();

    const res = await asIsaReviewer(`/v1/link-candidates/${isaCandidate}/confirm`, { method: 'POST' });
    expect(res.status, res.text).toBe(200);
    const decisions = await t.host.services.store.db
      .selectFrom('link_decision')
      .select(['agreement_id', 'party_id'])
      .execute();
    expect(decisions.length).toBeGreaterThan(0);
    expect(new Set(decisions.map((d) => d.agreement_id))).toEqual(new Set([ISA]));

    // Keyways' links and people as they were, after the decision's pass and a Keyways pass.
    expect(await links(KEYWAYS)).toEqual(keywaysLinks);
    await linkForReview(t, KEYWAYS);
    expect((await links(KEYWAYS)).map((l) => [l.record_a, l.record_b, l.status])).toEqual(
      keywaysLinks.map((l) => [l.record_a, l.record_b, l.status]),
    );
    expect(await keywaysPeople()).toEqual(keywaysBefore);

    // The ISA's DPO reads the decision; Kettering's (Keyways) DPO does not, though the reviewer's
    // party signs Keyways too.
    const confirmed = (entries: { action: string; reasonCode: string }[]) =>
      entries.filter((e) => e.action === 'link.confirm' && e.reasonCode === 'link-confirmed');
    expect(confirmed(await clientActivity(t, 'la-housing', 'la-housing', startedAt))).toHaveLength(1);
    expect(confirmed(await clientActivity(t, 'la-housing', 'kettering-borough-council', startedAt))).toEqual([]);
  });
});
