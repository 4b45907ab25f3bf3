import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople, type LinkDependencies } from '../../../shared/linkage/link-people.js';
import { PairKeys, personRefKeyOf } from '../../../shared/linkage/pair-key.js';
import { recordDecision } from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { recordedQueries } from '../../support/recorded-queries.js';
import { JONATHANS, openCandidateNamed, personOf, reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/**
 * The reads of `record_link` a review pass makes. It reads each pair of sources' links to decide
 * their tier links again (redecideSourcePair), and then formed people from the agreement's links,
 * read once more: the same rows, in the same transaction, with only the pass's own changes
 * between. The people are formed from the links as the pass left them, without the second read.
 */
describe("a review pass's reads of the links", () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, JONATHANS.housing)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, JONATHANS.socialCare)).outcome).toBe(
      'loaded',
    );
    await linkPeople(reviewLinkDeps(h), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  /** `deps` whose store counts the statements that read `record_link`, and the count. */
  function countingLinkReads(deps: LinkDependencies): { deps: LinkDependencies; reads: () => number } {
    const { db, sent } = recordedQueries(deps.store.db);
    // The walk of the agreements holding links (nextLinkedAgreementQuery) reads an id a
    // statement, no link.
    const reads = () =>
      sent.filter(
        ({ sql }) =>
          /^select\b[^]*\bfrom "record_link"/.test(sql) && !/^select "agreement_id" from "record_link"/.test(sql),
      ).length;
    return { deps: { ...deps, store: { ...deps.store, db } }, reads };
  }

  it("reads the pair of sources' links once, and joins the two Jonathans an officer confirmed", async () => {
    const candidate = (await openCandidateNamed(h, 'Jonathan'))!;
    expect(candidate).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    const identity = PairKeys.identity(await personRefKeyOf(h.secrets));
    const decided = await h.store.db
      .transaction()
      .execute((trx) => recordDecision(trx, candidate, { decision: 'confirmed', by, at: new Date() }, identity));
    expect(decided.outcome).toBe('decided');

    const counted = countingLinkReads(reviewLinkDeps(h));
    await linkPeople(counted.deps, AGREEMENT, 'review');
    expect(await personOf(h, 'la-housing', 'JONATHAN')).toBe(await personOf(h, 'la-childrens-social-care', 'JONATHAN'));
    expect(counted.reads()).toBe(1);
  });
});
