import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs } from '../../support/linked-people.js';

const D = 'multiple-disadvantage-indicators';
const H = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';
// Postcode + names (tier 4) link W–X, X–Y, Y–Z only: the other pairs' dates differ in two digits,
// and W and Z hold different NHS numbers.
const files: Record<string, (v: number) => string> = {
  'la-housing': (v) => `${H}\nSam,Khan,2010-05-11,ME1 1AA,${nhs(100)}\nPad,Ding,1970-01-0${v},ME9 9ZZ,`,
  'la-childrens-social-care': (v) => `${H}\nSam,Khan,2010-05-12,ME1 1AA,\nPad,Ding,1971-01-0${v},ME9 9ZZ,`,
  'la-education': (v) =>
    `firstName,lastName,dateOfBirth,homePostcode\nSam,Khan,2010-05-22,ME1 1AA\nPad,Ding,1972-01-0${v},ME9 9ZZ`,
  'la-adult-social-care': (v) => `${H}\nSam,Khan,2010-05-23,ME1 1AA,${nhs(200)}\nPad,Ding,1973-01-0${v},ME9 9ZZ,`,
};
const PARTIES = Object.keys(files);

/**
 * Four sources' records chained by tier-4 links (W–X, X–Y, Y–Z) where W and Z hold different NHS
 * numbers: the chain cannot be one person, and which link gives way is arbitrary — but it must
 * not change when the same extracts are sent again, or people's ids (and their consents) would
 * move back and forth with every delivery.
 */
describe('a tier-4 chain between two NHS numbers', () => {
  let h: ImportHarness;
  let n = 0;
  const groups = async () => {
    const rows = await h.store.db
      .selectFrom('source_record')
      .select(['party_id', 'person_id'])
      .where('given_name', '=', 'SAM')
      .execute();
    const by = new Map<string, string[]>();
    for (const r of rows) by.set(r.person_id!, [...(by.get(r.person_id!) ?? []), 'WXYZ'[PARTIES.indexOf(r.party_id)]!]);
    return [...by.values()]
      .map((g) => g.sort().join(''))
      .sort()
      .join(' ');
  };
  beforeAll(async () => {
    h = await createImportHarness();
    for (const p of PARTIES) expect((await h.importFile(`${p}/${D}/a.csv`, files[p]!(1))).outcome).toBe('loaded');
    await linkPeople(h.linkDeps(), 'social-care-education-housing', 'full');
  });
  afterAll(async () => h.close());

  it('groups the same four records the same way however often the sources re-send them', async () => {
    const seen = new Set([await groups()]);
    for (let round = 0; round < 2; round++) {
      for (const p of PARTIES) {
        n++;
        const outcome = await h.importFile(`${p}/${D}/r${n}.csv`, files[p]!(2 + (n % 7)));
        expect(outcome.outcome).toBe('loaded');
        await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
        seen.add(await groups());
      }
    }
    // Identical records: the same people, whichever source sent last.
    expect([...seen]).toHaveLength(1);
  });
});
