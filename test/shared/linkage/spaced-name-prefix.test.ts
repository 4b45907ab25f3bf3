import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

const DATASET = 'multiple-disadvantage-indicators';

/**
 * Housing keys family names as the family writes them (O'Brien, McDonald, Vandyke); education's
 * system puts a space after the prefix (O Brien, Mc Donald) — and, for Pieter, a space that is
 * part of his name as education has it (Van Dyke). Same dates of birth and postcodes throughout.
 */
const housing = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
  "Aoife,O'Brien,2012-03-04,ME14 1XX,,Y",
  'Sean,McDonald,2011-02-03,ME16 3ZZ,,N',
  'Pieter,Vandyke,2010-05-06,ME17 4AA,,N',
].join('\n');
const education = [
  'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
  'Aoife,O Brien,2012-03-04,ME14 1XX,ED-1,Y',
  'Sean,Mc Donald,2011-02-03,ME16 3ZZ,ED-2,N',
  'Pieter,Van Dyke,2010-05-06,ME17 4AA,ED-3,N',
].join('\n');

describe('family names written with and without a space after O or Mc', () => {
  let h: ImportHarness;

  const ruleLinking = async (given: string) => {
    const records = await h.store.db
      .selectFrom('source_record')
      .select(['id', 'person_id'])
      .where('given_name', '=', given)
      .execute();
    expect(records).toHaveLength(2);
    const links = await h.store.db
      .selectFrom('record_link')
      .select(['record_a', 'record_b', 'rule', 'status'])
      .execute();
    const ids = new Set(records.map((r) => r.id));
    const link = links.find((l) => ids.has(l.record_a) && ids.has(l.record_b));
    return { samePerson: records[0]!.person_id === records[1]!.person_id, rule: link?.rule, status: link?.status };
  };

  beforeAll(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing)).outcome).toBe('loaded');
    expect((await h.importFile(`la-education/${DATASET}/a.csv`, education)).outcome).toBe('loaded');
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(async () => h.close());

  it("links O Brien to O'Brien and Mc Donald to McDonald by date of birth and names, as OBrien is", async () => {
    expect(await ruleLinking('AOIFE')).toEqual({ samePerson: true, rule: 'dob-name', status: 'auto' });
    expect(await ruleLinking('SEAN')).toEqual({ samePerson: true, rule: 'dob-name', status: 'auto' });
  });

  it('leaves Van Dyke and Vandyke to review: a first word that is a name of its own is not a prefix', async () => {
    const pieter = await ruleLinking('PIETER');
    expect(pieter.samePerson).toBe(false);
    expect(pieter.rule).not.toBe('dob-name');
  });
});
