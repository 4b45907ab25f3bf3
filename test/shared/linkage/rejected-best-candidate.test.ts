import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { decideCandidate, findCandidate, listCandidates } from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/**
 * The probabilistic tier proposes a pair only where it is the best-scoring candidate of one of
 * its two records (probabilistic.ts, `bestPerRecordOnly`). Two Jonathans and two Jonathons born
 * the same day at one postcode, each spelt one way by Housing and another by social care: the
 * tier proposes the two pairs whose given names agree, and the two crossed pairs are each
 * record's second best. Once an officer has rejected both pairs proposed, a record's best
 * candidate is one an officer has ruled out: its next best is the likeliest left, and must come
 * to the queue, where it had been kept out for good behind the rejected pair (found by a review).
 */
describe('a record whose best candidate an officer rejected', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);

  beforeAll(async () => {
    h = await createImportHarness();
    const housing = [
      'firstName,lastName,dateOfBirth,homePostcode,inRentArrears',
      'Jonathan,Smyth,2012-03-04,ME14 1XX,Y',
      'Jonathon,Smithe,2012-03-04,ME14 1XX,N',
    ];
    const socialCare = [
      'firstName,lastName,dateOfBirth,homePostcode,childProtection',
      'Jonathan,Smith,2012-03-04,ME14 1XX,Y',
      'Jonathon,Smythe,2012-03-04,ME14 1XX,N',
    ];
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing.join('\n'))).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare.join('\n'))).outcome).toBe(
      'loaded',
    );
    await linkPeople(deps(), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  /** The open candidates, each as its two records' surnames (Housing's first). */
  async function openPairs() {
    const page = await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 });
    const pairs = [];
    for (const summary of page.candidates) {
      const candidate = (await findCandidate(h.store, summary.candidateId))!;
      const surnameIn = (party: string) =>
        String(candidate.recordsInFull.find((r) => r.source === party)!.attributes.lastName);
      pairs.push({ candidate, names: `${surnameIn('la-housing')}~${surnameIn('la-childrens-social-care')}` });
    }
    return pairs;
  }

  it("puts each record's next best candidate to the officer, and not the rejected pairs again", async () => {
    const proposed = await openPairs();
    expect(proposed.map((p) => p.names).sort()).toEqual(['Smithe~Smythe', 'Smyth~Smith']);
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    for (const { candidate } of proposed)
      expect((await decideCandidate(deps(), candidate, { decision: 'rejected', by, at: new Date() })).outcome).toBe(
        'decided',
      );

    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesRejectedEarlier).toBe(2);
    expect((await openPairs()).map((p) => p.names).sort()).toEqual(['Smithe~Smith', 'Smyth~Smythe']);
  });
});
