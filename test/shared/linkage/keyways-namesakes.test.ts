import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

const DATASET = 'keyways-housing-register';
const HEADER = 'firstName,lastName,dateOfBirth,address,nationalInsuranceNumber';

/**
 * Keyways links on the NI number first and on date of birth + names second. Two councils'
 * applicants who share a name and a date of birth but not an NI number are two people: one
 * council's officer must not see the other's applicant (or their MAPPA flag) as theirs.
 */
describe('Keyways: namesakes with the same date of birth and different NI numbers', () => {
  let h: ImportHarness;
  const people = async () =>
    (
      await h.store.db
        .selectFrom('source_record')
        .select(['party_id', 'person_id'])
        .where('dataset_id', '=', DATASET)
        .execute()
    ).map((r) => r.person_id);

  beforeAll(async () => {
    h = await createImportHarness();
    for (const [party, line] of [
      ['kettering-borough-council', 'Mohammed,Ali,1990-01-01,1 High St Kettering,JG103759A'],
      ['corby-borough-council', 'Mohammed,Ali,1990-01-01,9 Low Rd Corby,AB123456C'],
    ] as const) {
      expect((await h.importFile(`${party}/${DATASET}/a.csv`, `${HEADER}\n${line}`)).outcome).toBe('loaded');
    }
  });
  afterAll(async () => h.close());

  it('are two people: date of birth + names does not link records whose NI numbers differ', async () => {
    const summary = await linkPeople(h.linkDeps(), 'keyways-housing-allocation', 'full');
    const ids = await people();
    expect(ids.every((id) => id !== null)).toBe(true);
    expect(new Set(ids).size).toBe(2);
    expect(summary.linksByTier).toEqual({});
  });
});
