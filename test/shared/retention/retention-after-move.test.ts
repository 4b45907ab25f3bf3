import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { enforceRetention } from '../../../shared/retention/enforce-retention.js';
import { importEach, JONATHANS, reviewLinkDeps } from '../../support/linked-people.js';
import { agreementsFolderWithIsaIndicatorsMoved, ISA_SUCCESSOR } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

const DATASET = 'multiple-disadvantage-indicators';

/**
 * A re-signing moves the ISA's indicators to another agreement. Housing's Jonathan Smyth is in
 * temporary accommodation; social care's Jonathan Smith (the surname misspelt) waits for an
 * officer's review against him, a link candidate the ISA's pass proposed and filed under the ISA.
 * Until the new agreement's first pass links the pair again under its own id, its retention rule
 * read no link of the dataset, judged social care's Jonathan alone, and deleted him: the review
 * and the record gone for good on links that were not current.
 */
describe('retention of an agreement whose dataset a re-signing has just moved in', () => {
  let h: ImportHarness;
  const moved = loadAgreements(agreementsFolderWithIsaIndicatorsMoved());
  const retentionDeps = () => ({ ...h.retentionDeps(), agreements: moved });
  const records = async () =>
    (
      await h.store.db
        .selectFrom('source_record')
        .select(['party_id', 'given_name', 'family_name'])
        .where('dataset_id', '=', DATASET)
        .orderBy('party_id')
        .orderBy('given_name')
        .execute()
    ).map((r) => `${r.party_id}:${r.given_name} ${r.family_name}`);

  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,inTemporaryAccommodation',
          'Jonathan,Smyth,2012-03-04,ME14 1XX,Y',
          'Mary,Green,1980-05-06,ME15 2YY,N',
        ],
      ],
      ['la-childrens-social-care', JONATHANS.socialCare.split('\n')],
    ]);
    await linkPeople(reviewLinkDeps(h), 'social-care-education-housing', 'full');
    const candidates = await h.store.db
      .selectFrom('record_link')
      .select('agreement_id')
      .where('status', '=', 'candidate')
      .execute();
    expect(candidates.map((c) => c.agreement_id)).toContain('social-care-education-housing');
  });
  afterAll(async () => h?.close());

  it("deletes nothing before the new agreement's first pass, and says why", async () => {
    const before = await records();
    const [summary] = await enforceRetention(retentionDeps(), ISA_SUCCESSOR);

    expect(summary).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
    expect(await records(), "social care's Jonathan, waiting for review, is still held").toEqual(before);
    expect(h.logLines.some((l) => l.includes('retention.skipped') && l.includes('links-not-current'))).toBe(true);
  });

  it("judges the rule by the new agreement's links once the timer's pass has run", async () => {
    // No record is unlinked: the five-minute timer runs the new agreement's first pass for the
    // links of its sources filed under the ISA, and no further one at its next tick.
    const timer = () => linkPendingRecords({ ...reviewLinkDeps(h), agreements: moved });
    expect((await timer()).map((s) => s.agreementId)).toContain(ISA_SUCCESSOR);
    expect((await timer()).map((s) => s.agreementId)).not.toContain(ISA_SUCCESSOR);

    const [summary] = await enforceRetention(retentionDeps(), ISA_SUCCESSOR);

    expect(summary).toMatchObject({ outcome: 'enforced' });
    expect(await records()).toContain('la-childrens-social-care:JONATHAN SMITH');
    expect(await records()).toContain('la-housing:JONATHAN SMYTH');
    expect(await records()).not.toContain('la-housing:MARY GREEN');
  });
});
