import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { purgeDroppedSource } from '../../../shared/retention/dropped-sources.js';
import { SourcePurgeRefused } from '../../../shared/retention/purge-refusals.js';
import { createServices, type Services } from '../../../shared/services.js';
import type { Settings } from '../../../shared/config.js';
import { loggedWhile } from '../../support/logged-lines.js';
import { insertRecord } from '../../support/records.js';
import { markedRegisterApplicant, REGISTER_APPLICANT_NI } from '../../support/register-applicants.js';
import { testSettings } from '../../support/settings.js';
import { agreementsFolderWith, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH } from '../agreements/agreement-files.js';

/**
 * The Keyways DSA re-signed with Wellingborough no longer supplying the housing register. Its
 * records stayed in the store: no lookup shows them, and the register has no retention condition,
 * so nothing deleted them and nothing said they were there — held on the joint system for good
 * without the agreement providing for it (found by a defect hunt: storage limitation, UK GDPR
 * Art. 5(1)(e), as for a dataset a re-signing dropped, dropped-dataset.test.ts).
 */
const AGREEMENT = 'keyways-housing-allocation';
const DATASET = 'keyways-housing-register';
const WELLINGBOROUGH = 'wellingborough-borough-council';
/** Two current sources' records of one applicant, joined by their NI number: their link must stay. */
const LEE_NI = 'QQ765432';

describe('a party a re-signing dropped as a source of a dataset', () => {
  let settings: Settings;
  let services: Services;
  const records = { wellingborough: '', corbyLee: '', ketteringLee: '' };

  const resigned = () => ({
    ...settings,
    AGREEMENTS_DIR: agreementsFolderWith([KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH]),
    LOG_LEVEL: 'warn' as const,
  });
  const held = async (recordIds: readonly string[]) =>
    (await services.store.db.selectFrom('source_record').select('id').where('id', 'in', recordIds).execute()).length;
  const linksOf = async (recordId: string) =>
    (
      await services.store.db
        .selectFrom('record_link')
        .select('id')
        .where((eb) => eb.or([eb('record_a', '=', recordId), eb('record_b', '=', recordId)]))
        .execute()
    ).length;

  beforeEach(async () => {
    settings = testSettings();
    const before = await createServices(settings);
    records.wellingborough = (
      await insertRecord(
        before,
        markedRegisterApplicant(
          WELLINGBOROUGH,
          'Katherine',
          'Whitfield',
          'WELLINGBOROUGH-PHONE',
          REGISTER_APPLICANT_NI,
        ),
      )
    ).recordId;
    records.corbyLee = (
      await insertRecord(
        before,
        markedRegisterApplicant('corby-borough-council', 'Lee', 'Stone', 'CORBY-PHONE', LEE_NI),
      )
    ).recordId;
    records.ketteringLee = (
      await insertRecord(
        before,
        markedRegisterApplicant('kettering-borough-council', 'Lee', 'Stone', 'KETTERING-PHONE', LEE_NI),
      )
    ).recordId;
    await linkPeople(before, AGREEMENT, 'full');
    await before.close();
    services = (await loggedWhile(() => createServices(resigned()))).result;
  });
  afterEach(async () => services?.close());

  it('is named at every start while its records are held, by ids and a count', async () => {
    const { lines } = await loggedWhile(async () => (await createServices(resigned())).close());

    const warnings = lines.filter((line) => line.event === 'agreements.source-dropped');
    expect(warnings).toEqual([
      expect.objectContaining({ datasetId: DATASET, partyId: WELLINGBOROUGH, agreementId: AGREEMENT, records: 1 }),
    ]);
    for (const value of ['KATHERINE', 'WHITFIELD', 'WELLINGBOROUGH-PHONE', REGISTER_APPLICANT_NI])
      expect(JSON.stringify(warnings)).not.toContain(value);
  });

  it("is purged on request, one entry a person, leaving the current sources' records and links", async () => {
    await linkPeople(services, AGREEMENT, 'incremental');
    const linksOfLee = await linksOf(records.corbyLee);
    expect(linksOfLee, "Corby's and Kettering's Lee are linked").toBeGreaterThan(0);
    const person = (
      await services.store.db
        .selectFrom('source_record')
        .select('person_id')
        .where('id', '=', records.wellingborough)
        .executeTakeFirstOrThrow()
    ).person_id!;

    const summary = await purgeDroppedSource(services, DATASET, WELLINGBOROUGH);

    expect(summary).toEqual({
      datasetId: DATASET,
      partyId: WELLINGBOROUGH,
      agreementId: AGREEMENT,
      peopleDeleted: 1,
      recordsDeleted: 1,
      optedOutKeysKept: 0,
    });
    expect(await held([records.wellingborough])).toBe(0);
    const identifiers = await services.store.db
      .selectFrom('record_identifier')
      .select('kind')
      .where('record_id', '=', records.wellingborough)
      .execute();
    expect(identifiers).toEqual([]);
    expect(await held([records.corbyLee, records.ketteringLee])).toBe(2);
    expect(await linksOf(records.corbyLee)).toBe(linksOfLee);
    const entries = await services.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'datasets', 'reason_code'])
      .where('action', '=', RETENTION_ACTION)
      .execute();
    expect(entries).toEqual([
      { subject_ref: person, datasets: JSON.stringify([DATASET]), reason_code: 'source-dropped' },
    ]);
    // The NI number's keyed hash stays, for a subject access request to find them by.
    const retired = await services.store.db.selectFrom('retired_identifier').select(['person_id', 'kind']).execute();
    expect(retired).toEqual([{ person_id: person, kind: 'ni' }]);
    const { lines } = await loggedWhile(async () => (await createServices(resigned())).close());
    expect(lines.filter((line) => line.event === 'agreements.source-dropped')).toEqual([]);
  });

  it('is refused, deleting nothing, before the agreement is linked under the re-signed files', async () => {
    const purge = purgeDroppedSource(services, DATASET, WELLINGBOROUGH);

    await expect(purge).rejects.toThrow(SourcePurgeRefused);
    await expect(purge).rejects.toMatchObject({ reason: 'not-yet-linked' });
    expect(await held([records.wellingborough, records.corbyLee, records.ketteringLee])).toBe(3);
  });

  // A mistyped --party (one letter off Wellingborough's id) was purged as a dropped source: once
  // the agreement was linked, "0 records of 0 people deleted", exit 0, and before, told to wait
  // for a linking pass; the operator took the party's records for gone while every start went on
  // naming them.
  it('is refused, deleting nothing, for a party that never sent the dataset (a mistyped --party)', async () => {
    await linkPeople(services, AGREEMENT, 'incremental');
    const mistyped = 'wellingborough-borough-counci';

    const purge = purgeDroppedSource(services, DATASET, mistyped);

    await expect(purge).rejects.toMatchObject({
      reason: 'unknown',
      message: `party ${mistyped} has sent no records of dataset ${DATASET}: only a source a re-signing dropped can be purged`,
    });
    expect(await held([records.wellingborough, records.corbyLee, records.ketteringLee])).toBe(3);
  });

  it('is refused, deleting nothing, for a party still a source of the dataset', async () => {
    await linkPeople(services, AGREEMENT, 'incremental');

    await expect(purgeDroppedSource(services, DATASET, 'kettering-borough-council')).rejects.toMatchObject({
      reason: 'still-source',
    });
    expect(await held([records.wellingborough, records.corbyLee, records.ketteringLee])).toBe(3);
  });
});
