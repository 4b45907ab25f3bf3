import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { PairKeys, personRefKeyOf } from '../../../shared/linkage/pair-key.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import {
  decideCandidate,
  findCandidate,
  listCandidates,
  recordDecision,
} from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { withAttributes } from '../../../shared/store/record-attributes.js';
import { nhs, reviewLinkDeps } from '../../support/linked-people.js';

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };

/** Which records share a person, by the tag each row carries in `gender`. */
async function people(h: ImportHarness): Promise<string[]> {
  const rows = await withAttributes(
    await h.store.db.selectFrom('source_record').select(['person_id', 'attributes']).execute(),
    h.store.db,
  );
  const groups = new Map<string, string[]>();
  for (const row of rows) {
    const tag = String(row.attributes.gender);
    groups.set(row.person_id!, [...(groups.get(row.person_id!) ?? []), tag]);
  }
  return [...groups.values()].map((g) => g.sort().join(',')).sort();
}

// Found by the linkage property test (linkage-properties.test.ts): education holds two rows alike
// in every value a decision is keyed on; housing holds Mary Green at another postcode. The
// officer's decision on one education row's candidate is kept under the pair's key, which the
// other row's pair shares, so the next pass applies it to both: the review pass must form the
// same people, or a full relink right after it regroups them.
describe('a decision on a candidate whose values another row of the source repeats', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);

  beforeEach(async () => {
    h = await createImportHarness();
    const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender';
    const education = [header, 'Mary,Green,1980-05-06,ME15 2YY,,t0', 'Mary,Green,1980-05-06,ME15 2YY,,t1'];
    const housing = [header, 'Jonathan,Smith,2012-03-04,ME14 1XX,,t2', 'Mary,Green,1980-05-06,ME14 1XX,,t3'];
    expect((await h.importFile(`la-education/${DATASET}/a.csv`, education.join('\n'))).outcome).toBe('loaded');
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing.join('\n'))).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
  });
  afterEach(async () => h.close());

  for (const decision of ['confirmed', 'rejected'] as const) {
    it(`forms, once ${decision}, the people a full relink forms`, async () => {
      const open = (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates;
      let candidate;
      for (const c of open) {
        const full = await findCandidate(h.store, c.candidateId);
        const tags = full?.recordsInFull.map((r) => String(r.attributes.gender)).sort();
        if (tags?.join(',') === 't1,t3') candidate = full;
      }
      expect(candidate).toBeDefined();
      expect((await decideCandidate(deps(), candidate!, { decision, by, at: new Date() })).outcome).toBe('decided');
      const afterReview = await people(h);
      await linkPeople(deps(), AGREEMENT, 'full');
      expect(await people(h)).toEqual(afterReview);
    });
  }
});

// Found by the linkage property test too (seed 1309265214): housing holds Mary Green twice, alike
// in every value a decision is keyed on but for her NHS number on one row, which links that row
// to social care's Mary by the NHS number. The tier proposes social care's Peter Green only with
// the other row, and the officer confirms it. The next pass finds the confirmation for the NHS
// row's pair too (the pair's key leaves identifiers out), though the tier does not propose it, and
// links it as confirmed: the review pass must form those people as well.
describe('a confirmation whose values a twin repeats in a pair the tier does not propose', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);

  beforeEach(async () => {
    h = await createImportHarness();
    const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender';
    const nhsNumber = nhs(914);
    const housing = [
      header,
      `Mary,Green,1980-05-06,ME15 2YY,${nhsNumber},t0`,
      'Mary,Green,1980-05-06,ME15 2YY,,t2',
      'Jonathan,Smith,2012-03-04,ME14 1XX,,t4',
    ];
    const socialCare = [
      header,
      'Peter,Green,1979-07-08,ME15 2YY,,t1',
      `Mary,Green,1980-05-06,ME15 2YY,${nhsNumber},t3`,
    ];
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing.join('\n'))).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare.join('\n'))).outcome).toBe(
      'loaded',
    );
    await linkPeople(deps(), AGREEMENT, 'full');
  });
  afterEach(async () => h.close());

  /** The one open candidate: the tier proposes Peter with the row without an NHS number only. */
  const theCandidate = async () => {
    const open = (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates;
    const tagsOf = async (candidateId: string) =>
      (await findCandidate(h.store, candidateId))?.recordsInFull.map((r) => String(r.attributes.gender)).sort();
    const pairs = await Promise.all(open.map(async (c) => (await tagsOf(c.candidateId))?.join(',')));
    expect(pairs).toEqual(['t1,t2']);
    return (await findCandidate(h.store, open[0]!.candidateId))!;
  };

  it('forms, once confirmed, the people a full relink forms', async () => {
    const outcome = await decideCandidate(deps(), await theCandidate(), { decision: 'confirmed', by, at: new Date() });
    expect(outcome.outcome).toBe('decided');
    const afterReview = await people(h);
    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(await people(h)).toEqual(afterReview);
    expect(summary.personIdsChanged).toBe(0);
  });

  // The API records the decision, then runs the review pass, and answers 200 should that fail
  // (link-review-api.ts): the agreement's next pass, here the one after education's import, forms
  // the people.
  it('forms them at the next incremental pass when the review pass did not run', async () => {
    const identity = PairKeys.identity(await personRefKeyOf(h.secrets));
    const review = { decision: 'confirmed' as const, by, at: new Date() };
    const candidate = await theCandidate();
    const recorded = await h.store.db.transaction().execute((trx) => recordDecision(trx, candidate, review, identity));
    expect(recorded.outcome).toBe('decided');
    const education =
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender\nJonathan,Smith,2012-03-04,ME14 1XX,,t5';
    const loaded = await h.importFile(`la-education/${DATASET}/a.csv`, education);
    expect(loaded.outcome).toBe('loaded');
    await linkAfterImport(deps(), (loaded as { runId: string }).runId);
    const afterNextPass = await people(h);
    await linkPeople(deps(), AGREEMENT, 'full');
    expect(await people(h)).toEqual(afterNextPass);
    expect(afterNextPass).toContain('t0,t1,t2,t3');
  });
});
