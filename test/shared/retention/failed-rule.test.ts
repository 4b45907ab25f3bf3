import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { enforceRetention } from '../../../shared/retention/enforce-retention.js';
import { nhs } from '../../support/linked-people.js';
import { agreementFile, agreementsFolderWith, changedAgreementText } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

const AGREEMENT = 'social-care-education-housing';
const INDICATORS = 'multiple-disadvantage-indicators';
/** A second dataset of the ISA, with the indicators' fields and the same joint-system rule, listed first. */
const ARREARS = 'rent-arrears-indicators';
const BOB = nhs(520);

/**
 * The ISA with a second dataset whose joint-system rule comes before the indicators' one: a
 * copy of the agreements folder.
 */
function agreementsWithSecondRule(): string {
  const dir = agreementsFolderWith([]);
  const text = changedAgreementText('isa', (isa) => {
    const indicators = isa.datasets.find((d: { id: string }) => d.id === INDICATORS);
    isa.datasets.push({ ...structuredClone(indicators), id: ARREARS });
    const rule = isa.retention.find(
      (r: { dataset: string; keepWhile?: unknown }) => r.dataset === INDICATORS && r.keepWhile,
    );
    isa.retention.unshift({ ...structuredClone(rule), dataset: ARREARS });
  });
  writeFileSync(join(dir, agreementFile('isa')), text);
  return dir;
}

/**
 * Bob has left temporary accommodation, and both datasets hold him. The store refuses the
 * deletion of the first rule's records (as a full disk or a broken constraint would): that rule
 * fails, and the indicators' rule, after it, did not run at all, so Bob's special-category
 * indicators stayed on the joint system past the one condition the agreement holds them on.
 */
describe("an agreement's retention when one of its rules fails", () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness({ agreementsDir: agreementsWithSecondRule() });
    const housing = [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
      `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
    ];
    for (const dataset of [ARREARS, INDICATORS])
      expect((await h.importFile(`la-housing/${dataset}/a.csv`, housing.join('\n'))).outcome).toBe('loaded');
    await linkPendingRecords(h.linkDeps());
    await sql`create trigger arrears_deletion_fails before delete on source_record
      when old.dataset_id = ${sql.lit(ARREARS)}
      begin select raise(abort, 'deletion refused'); end`.execute(h.store.db);
  });
  afterAll(async () => h?.close());

  it('still applies the other rules, and fails the run with the failure logged', async () => {
    await expect(
      enforceRetention(h.retentionDeps(), AGREEMENT),
      'the run must fail for the timer and the CLI to report it',
    ).rejects.toThrow('Retention enforcement failed');

    const left = await h.store.db.selectFrom('source_record').select('dataset_id').execute();
    expect(left, "the indicators' rule did not run after the failed one").toEqual([{ dataset_id: ARREARS }]);
    const logged = h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      logged.filter((l) => l.event === 'retention.failed').map(({ datasetId, kind }) => ({ datasetId, kind })),
    ).toEqual([{ datasetId: ARREARS, kind: 'SqliteError:SQLITE_CONSTRAINT_TRIGGER' }]);
    expect(logged.filter((l) => l.event === 'retention.enforced').map((l) => l.datasetId)).toEqual([INDICATORS]);
  });
});
