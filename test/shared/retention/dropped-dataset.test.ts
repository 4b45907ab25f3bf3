import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { rememberAgreements } from '../../../shared/agreements/remembered-agreements.js';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { purgeDroppedDataset, warnOfDroppedDatasetsHeld } from '../../../shared/retention/dropped-datasets.js';
import { DatasetPurgeRefused } from '../../../shared/retention/purge-refusals.js';
import { enforceAllRetention, RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { AGREEMENTS_DIR, KNOWN_AGREEMENT_FILES } from '../agreements/agreement-files.js';
import { createImportHarness, orphanIdentifiers, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs, personOf } from '../../support/linked-people.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE } from '../../support/records.js';
import { loggedWhile } from '../../support/logged-lines.js';
import { testSettings } from '../../support/settings.js';
import { createServices } from '../../../shared/services.js';

/**
 * A dataset a re-signed agreement drops: the ISA re-signed with its one dataset under a new id, so
 * the records sent as `multiple-disadvantage-indicators` are of a dataset no agreement provides
 * for. No lookup shows them (grants are per dataset) and no retention rule reaches them (rules
 * are per dataset): without the warning and the purge they stayed, unseen, in the store for good (found
 * by a DPO's review: storage limitation, UK GDPR Art. 5(1)(e), and the agreements'
 * return-or-destroy clauses).
 */
const AGREEMENT = 'social-care-education-housing';
const DROPPED = 'multiple-disadvantage-indicators';

const ALICE = nhs(510);
const BOB = nhs(520);

const HOUSING = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
  `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`,
  `Bob,Jones,2010-01-01,ME15 2YY,${BOB},Y`,
];
const SOCIAL_CARE = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
  `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},SC-1,Y`,
  `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,N`,
];

/** The agreement files as re-signed: the ISA's dataset renamed, every other file as it is. */
function resignedFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-resigned-'));
  cpSync(AGREEMENTS_DIR, dir, { recursive: true });
  const file = join(dir, KNOWN_AGREEMENT_FILES.isa);
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll(DROPPED, 'multiple-disadvantage-indicators-2027'));
  return dir;
}

/** What a host started on the re-signed files serves with, the store having seen the signed ones. */
async function afterResigning(h: ImportHarness): Promise<AgreementSet> {
  await rememberAgreements(h.store, loadAgreements(AGREEMENTS_DIR));
  const resigned = loadAgreements(resignedFolder());
  return resigned.withFormerAgreements(await rememberAgreements(h.store, resigned));
}

async function recordsOfDropped(h: ImportHarness): Promise<number> {
  const rows = await h.store.db.selectFrom('source_record').select('id').where('dataset_id', '=', DROPPED).execute();
  return rows.length;
}

describe('a dataset a re-signed agreement dropped', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE],
    ]);
    await linkPendingRecords(h.linkDeps());
  });
  afterEach(async () => h.close());

  it('is reached by no retention pass: its records stay till an operator deletes them', async () => {
    const agreements = await afterResigning(h);

    const summaries = await enforceAllRetention({ ...h.retentionDeps(), agreements });

    // The re-signed agreement's rule is its new dataset's.
    expect(summaries.map((s) => s.datasetId)).not.toContain(DROPPED);
    expect(await recordsOfDropped(h)).toBe(4);
  });

  it('is named at start-up, with its former agreement and how many records it still holds', async () => {
    const agreements = await afterResigning(h);
    const logger = h.retentionDeps().logger;

    await warnOfDroppedDatasetsHeld({ store: h.store, agreements, logger });

    const warnings = h.logLines.filter((l) => l.includes('agreements.dataset-dropped'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 'warn',
      datasetId: DROPPED,
      formerAgreementId: AGREEMENT,
      records: 4,
    });
    // Ids and a count only.
    for (const value of [ALICE, BOB, 'ALICE', 'SMITH', '2012-03-04']) expect(warnings[0]).not.toContain(value);
  });

  it('is named by a host starting on the re-signed files, every start', async () => {
    const settings = testSettings();
    const before = await createServices(settings);
    await insertRecord(before, ROBIN_IN_SOCIAL_CARE);
    await before.close();
    const resigned = { ...settings, AGREEMENTS_DIR: resignedFolder(), LOG_LEVEL: 'warn' as const };
    const { lines } = await loggedWhile(async () => {
      for (let start = 0; start < 2; start++) await (await createServices(resigned)).close();
    });
    const warnings = lines.filter((line) => line.event === 'agreements.dataset-dropped');
    expect(warnings).toEqual(
      [1, 2].map(() => expect.objectContaining({ datasetId: DROPPED, formerAgreementId: AGREEMENT, records: 1 })),
    );
  });

  it('is not named once it holds no records', async () => {
    const agreements = await afterResigning(h);
    await purgeDroppedDataset({ ...h.retentionDeps(), agreements }, DROPPED);
    h.logLines.length = 0;

    await warnOfDroppedDatasetsHeld({ store: h.store, agreements, logger: h.retentionDeps().logger });

    expect(h.logLines.filter((l) => l.includes('agreements.dataset-dropped'))).toEqual([]);
  });

  it('is deleted on request, one access-log entry a person, their identifier hashes kept for subject access', async () => {
    const alice = await personOf(h, 'la-housing', 'ALICE');
    const bob = await personOf(h, 'la-housing', 'BOB');
    await new StoreConsentRegister(h.store).record({
      subjectKey: bob,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: null,
      by: { partyId: 'la-housing', clientId: 'test' },
      at: new Date(),
    });
    const agreements = await afterResigning(h);

    const summary = await purgeDroppedDataset({ ...h.retentionDeps(), agreements }, DROPPED);

    expect(summary).toEqual({
      datasetId: DROPPED,
      formerAgreementId: AGREEMENT,
      peopleDeleted: 2,
      recordsDeleted: 4,
      // Bob's opt-out is in force, but no load dropped him: nothing was kept of him to delete.
      optedOutKeysDeleted: 0,
    });
    expect(await recordsOfDropped(h)).toBe(0);
    expect(await orphanIdentifiers(h.store)).toEqual([]);
    const entries = await h.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'datasets', 'purpose', 'decision', 'reason_code'])
      .where('action', '=', RETENTION_ACTION)
      .orderBy('subject_ref')
      .execute();
    expect(entries).toEqual(
      [alice, bob].sort().map((person) => ({
        subject_ref: person,
        datasets: JSON.stringify([DROPPED]),
        purpose: AGREEMENT,
        decision: 'allow',
        reason_code: 'dataset-dropped',
      })),
    );
    // Their identifiers' keyed hashes stay for a subject access request to find them by.
    const retired = await h.store.db
      .selectFrom('retired_identifier')
      .select(['person_id', 'dataset_id', 'kind'])
      .where('kind', '=', 'nhs')
      .orderBy('person_id')
      .execute();
    expect(retired).toEqual(
      [alice, bob].sort().map((person) => ({ person_id: person, dataset_id: DROPPED, kind: 'nhs' })),
    );
    expect(h.logLines.some((l) => l.includes('retention.dataset-purged') && l.includes('"recordsDeleted":4'))).toBe(
      true,
    );
  });

  it("keeps no opted-out person's matching keys: none of the dataset's records can arrive again", async () => {
    const bob = await personOf(h, 'la-housing', 'BOB');
    await new StoreConsentRegister(h.store).record({
      subjectKey: bob,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: null,
      by: { partyId: 'la-housing', clientId: 'test' },
      at: new Date(),
    });
    const agreements = await afterResigning(h);

    await purgeDroppedDataset({ ...h.retentionDeps(), agreements }, DROPPED);

    // Kept keys only ever reach later records of their own dataset, and no record of a dataset no
    // agreement defines arrives: kept, they held Bob's names, date of birth and postcode for
    // nothing for as long as the opt-out lasts (data minimisation, UK GDPR Art. 5(1)(c)).
    const keptOf = async (table: 'opt_out_kept_record' | 'opt_out_kept_identifier') =>
      (await h.store.db.selectFrom(table).select('person_id').where('dataset_id', '=', DROPPED).execute()).length;
    expect({
      records: await keptOf('opt_out_kept_record'),
      identifiers: await keptOf('opt_out_kept_identifier'),
    }).toEqual({ records: 0, identifiers: 0 });
    // The opt-out itself stays in force, as the history of what Bob decided.
    expect(await new StoreConsentRegister(h.store).isOptedOut(bob, new Date())).toBe(true);
    expect(await recordsOfDropped(h)).toBe(0);
  });

  it('deletes the keys earlier loads kept of its opted-out people, the opt-out still in force', async () => {
    const bob = await personOf(h, 'la-housing', 'BOB');
    await new StoreConsentRegister(h.store).record({
      subjectKey: bob,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: null,
      by: { partyId: 'la-housing', clientId: 'test' },
      at: new Date(),
    });
    // Housing's next extract no longer holds Bob: the load keeps his keys for the dataset
    // (opt-out-kept-keys.ts), for the objection to reach him should any party send him again.
    await h.importAndLink(`la-housing/${DROPPED}/b.csv`, [HOUSING[0], HOUSING[1]].join('\n'));
    // Keys kept for another dataset are that dataset's business, and stay.
    const other = 'another-dataset';
    await h.store.db
      .insertInto('opt_out_kept_identifier')
      .values({ person_id: bob, dataset_id: other, kind: 'nhs', hash: 'ab'.repeat(32), key_version: 'v1' })
      .execute();
    const keptOf = async (table: 'opt_out_kept_record' | 'opt_out_kept_identifier', datasetId: string) =>
      (await h.store.db.selectFrom(table).select('person_id').where('dataset_id', '=', datasetId).execute()).map(
        (row) => row.person_id,
      );
    expect(await keptOf('opt_out_kept_record', DROPPED)).toEqual([bob]);
    const agreements = await afterResigning(h);

    const summary = await purgeDroppedDataset({ ...h.retentionDeps(), agreements }, DROPPED);

    // Kept keys only ever reach later records of their own dataset, and none can arrive for a
    // dataset no agreement defines: left, they held Bob's names, date of birth, postcode and
    // NHS number's hash for nothing for as long as the opt-out lasts (storage limitation).
    expect({
      records: await keptOf('opt_out_kept_record', DROPPED),
      identifiers: await keptOf('opt_out_kept_identifier', DROPPED),
    }).toEqual({ records: [], identifiers: [] });
    expect(await keptOf('opt_out_kept_identifier', other)).toEqual([bob]);
    expect(summary).toMatchObject({ recordsDeleted: 3, optedOutKeysDeleted: 1 });
    expect(
      h.logLines.some((l) => l.includes('retention.dataset-purged') && l.includes('"optedOutKeysDeleted":1')),
    ).toBe(true);
    // The opt-out itself stays in force, as the history of what Bob decided.
    expect(await new StoreConsentRegister(h.store).isOptedOut(bob, new Date())).toBe(true);
    expect(await recordsOfDropped(h)).toBe(0);
  });

  it('names the carried person of a record no pass placed, as the linking pass reads it, in the entries and hashes', async () => {
    const alice = await personOf(h, 'la-housing', 'ALICE');
    const bob = await personOf(h, 'la-housing', 'BOB');
    // As a store loaded before 05833f2 can hold them: Bob's records re-sent and carried his id
    // at load, in carried_person_id alone, and no pass placed them before the re-signing.
    await h.store.db
      .updateTable('source_record')
      .set({ person_id: null, carried_person_id: bob })
      .where('person_id', '=', bob)
      .execute();
    const agreements = await afterResigning(h);

    const summary = await purgeDroppedDataset({ ...h.retentionDeps(), agreements }, DROPPED);

    expect(summary).toMatchObject({ peopleDeleted: 2, recordsDeleted: 4 });
    expect(await recordsOfDropped(h)).toBe(0);
    expect(await orphanIdentifiers(h.store)).toEqual([]);
    const entries = await h.store.db
      .selectFrom('access_log')
      .select('subject_ref')
      .where('action', '=', RETENTION_ACTION)
      .orderBy('subject_ref')
      .execute();
    expect(entries.map((e) => e.subject_ref)).toEqual([alice, bob].sort());
    // Bob's NHS number's keyed hash stays too, for a subject access request to find him by.
    const retired = await h.store.db
      .selectFrom('retired_identifier')
      .select('person_id')
      .where('kind', '=', 'nhs')
      .orderBy('person_id')
      .execute();
    expect(retired.map((r) => r.person_id)).toEqual([alice, bob].sort());
  });

  it('is refused while any agreement still defines it, and deletes nothing', async () => {
    const signed = loadAgreements(AGREEMENTS_DIR);
    signed.withFormerAgreements(await rememberAgreements(h.store, signed));

    await expect(purgeDroppedDataset({ ...h.retentionDeps(), agreements: signed }, DROPPED)).rejects.toThrow(
      DatasetPurgeRefused,
    );
    await expect(
      purgeDroppedDataset({ ...h.retentionDeps(), agreements: signed }, DROPPED).catch((err: unknown) => err),
    ).resolves.toMatchObject({ reason: 'still-defined' });
    expect(await recordsOfDropped(h)).toBe(4);
  });

  it('is refused for a dataset the store never knew', async () => {
    const agreements = await afterResigning(h);
    await expect(
      purgeDroppedDataset({ ...h.retentionDeps(), agreements }, 'no-such-dataset').catch((err: unknown) => err),
    ).resolves.toMatchObject({ reason: 'unknown' });
    expect(await recordsOfDropped(h)).toBe(4);
  });
});
