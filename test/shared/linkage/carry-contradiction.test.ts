import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, recordOf } from '../../support/linked-people.js';

/**
 * A new record is not carried a previous person's id when one of its identifiers contradicts
 * that person (shared/imports/snapshot-writer.ts, CarriedPersonIds): Quinn, who took over Pat's
 * old system id but has another NHS number, is not Pat.
 */

const DATASET = 'multiple-disadvantage-indicators';
const PARTY = 'la-childrens-social-care';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

async function importFile(h: ImportHarness, name: string, lines: readonly string[]): Promise<string> {
  const outcome = await h.importFile(`${PARTY}/${DATASET}/${name}`, [HEADER, ...lines].join('\n'));
  expect(outcome.outcome).toBe('loaded');
  return (outcome as { runId: string }).runId;
}

describe('no carry onto a record that contradicts the previous person', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N1 = nhs(710);
  const N9 = nhs(790);

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it("gives Quinn (another NHS number, Pat's old system id) nothing, and Pat keeps Pat's id", async () => {
    await linkAfterImport(
      h.linkDeps(),
      await importFile(h, 'extract-2026-03-01.csv', [`Pat,Ash,2012-01-01,ME1 1AA,${N1},SC-1,N`]),
    );
    const pat = (await recordOf(h, PARTY, 'PAT')).person_id!;
    expect(pat).toBeTruthy();
    await consents.record({ subjectKey: pat, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });

    const second = await importFile(h, 'extract-2026-04-01.csv', [
      `Pat,Ash,2012-01-01,ME1 1AA,${N1},SC-5,N`,
      `Quinn,Roe,2016-05-05,ME9 9ZZ,${N9},SC-1,N`,
    ]);
    expect(await recordOf(h, PARTY, 'QUINN')).toEqual({ person_id: null, carried_person_id: null });
    expect(await recordOf(h, PARTY, 'PAT')).toEqual({ person_id: pat, carried_person_id: pat });

    await linkAfterImport(h.linkDeps(), second);
    expect((await recordOf(h, PARTY, 'PAT')).person_id).toBe(pat);
    const quinn = (await recordOf(h, PARTY, 'QUINN')).person_id!;
    expect(quinn).toBeTruthy();
    expect(quinn).not.toBe(pat);
    expect(await consents.isOptedOut(pat, T)).toBe(true);
    expect(await consents.isOptedOut(quinn, T)).toBe(false);
  });
});
