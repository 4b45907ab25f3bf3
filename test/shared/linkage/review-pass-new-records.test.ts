import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { decideCandidate, findCandidate, listCandidates } from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { JONATHANS, personOf, reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

const { housing, socialCare } = JONATHANS;
// Education's Mary: the same date of birth and names as housing's, so tier 3 links them.
const education = [
  'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
  'Mary,Green,1980-05-06,ME15 2YY,ED-1,N',
].join('\n');

describe('a review pass run while a new snapshot waits to be linked', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);

  beforeAll(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  it('still links the new records by the next incremental pass (or the pending-records timer)', async () => {
    // Education's snapshot is committed; its own linking pass has not run yet (or failed).
    expect((await h.importFile(`la-education/${DATASET}/a.csv`, education)).outcome).toBe('loaded');

    // Meanwhile an officer confirms the Jonathans: the review pass forms people again.
    let jonathans;
    for (const c of (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates) {
      const full = await findCandidate(h.store, c.candidateId);
      if (full?.recordsInFull.every((r) => r.attributes.firstName === 'Jonathan')) jonathans = full;
    }
    expect(jonathans).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    expect((await decideCandidate(deps(), jonathans!, { decision: 'confirmed', by, at: new Date() })).outcome).toBe(
      'decided',
    );

    // The timer's pass for records no pass has linked, then the import's own incremental pass.
    await linkPendingRecords(deps());
    await linkPeople(deps(), AGREEMENT, 'incremental');

    // Mary is one person across housing and education (tier 3: date of birth + names).
    expect(await personOf(h, 'la-education', 'MARY')).toBe(await personOf(h, 'la-housing', 'MARY'));
  });
});
