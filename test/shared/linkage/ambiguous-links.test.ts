import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs, personOf, type PartyExtract } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';

/**
 * Two children with the same names and date of birth: housing knows one (one NHS number),
 * social care the other (another). Education knows one of them without an NHS number, so its
 * record matches both by date of birth + names and cannot say which.
 */
const sams = (socialCareOther: string): PartyExtract[] => [
  [
    'la-housing',
    [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
      `Sam,Khan,2012-03-04,ME14 1XX,${nhs(100)},Y`,
    ],
  ],
  [
    'la-childrens-social-care',
    [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
      `Sam,Khan,2012-03-04,ME20 9AA,${nhs(200)},SC-1,Y`,
      `Zed,Other,2001-01-01,ME1 1AA,,${socialCareOther},N`,
    ],
  ],
  [
    'la-education',
    ['firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp', 'Sam,Khan,2012-03-04,ME3 3AB,ED-1,Y'],
  ],
];

describe('a record that matches two different people at one tier', () => {
  let h: ImportHarness;
  const sam = async () => ({
    housing: await personOf(h, 'la-housing', 'SAM'),
    socialCare: await personOf(h, 'la-childrens-social-care', 'SAM'),
    education: await personOf(h, 'la-education', 'SAM'),
  });

  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, sams('SC-2'));
  });
  afterAll(async () => h.close());

  it('joins neither of them, and says so', async () => {
    const summary = await linkPeople(h.linkDeps(), 'social-care-education-housing', 'full');
    const ids = await sam();
    expect(new Set([ids.housing, ids.socialCare, ids.education]).size).toBe(3);
    expect(summary.refusedMerges).toMatchObject({ ambiguous: 2 });
  });

  it('still joins neither when one source re-sends, whatever order the links are stored in', async () => {
    const before = await sam();
    const [, socialCare] = sams('SC-3');
    const outcome = await h.importFile(`la-childrens-social-care/${DATASET}/b.csv`, socialCare![1].join('\n'));
    expect(outcome.outcome).toBe('loaded');
    await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
    const after = await sam();
    expect(new Set([after.housing, after.socialCare, after.education]).size).toBe(3);
    expect(after.housing).toBe(before.housing);
    expect(after.education).toBe(before.education);
  });
});

describe('Keyways: an applicant without an NI number who matches two namesakes that have one', () => {
  let h: ImportHarness;
  const KEYWAYS = 'keyways-housing-register';
  const HEADER = 'firstName,lastName,dateOfBirth,address,nationalInsuranceNumber';

  beforeAll(async () => {
    h = await createImportHarness();
    for (const [party, line] of [
      ['kettering-borough-council', 'Mohammed,Ali,1990-01-01,1 High St Kettering,JG103759A'],
      ['corby-borough-council', 'Mohammed,Ali,1990-01-01,9 Low Rd Corby,AB123456C'],
      ['wellingborough-borough-council', 'Mohammed,Ali,1990-01-01,3 Mill Ln Wellingborough,'],
    ] as const) {
      expect((await h.importFile(`${party}/${KEYWAYS}/a.csv`, `${HEADER}\n${line}`)).outcome).toBe('loaded');
    }
  });
  afterAll(async () => h.close());

  it('is not the bridge that makes them one person, nor joined to either', async () => {
    await linkPeople(h.linkDeps(), 'keyways-housing-allocation', 'full');
    const ids = await h.store.db
      .selectFrom('source_record')
      .select('person_id')
      .where('dataset_id', '=', KEYWAYS)
      .execute();
    expect(new Set(ids.map((r) => r.person_id)).size).toBe(3);
  });
});
