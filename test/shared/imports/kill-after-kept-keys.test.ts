import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import type { ImportPhase } from '../../../shared/imports/import-phases.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { nhs, personOf } from '../../support/linked-people.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

/**
 * A process killed while loading an extract that drops one opted-out person (her keys kept,
 * opt-out-kept-keys.ts) and brings another whose keys an earlier load kept (his record given a
 * copy of his opt-out), with a person carried over from the previous snapshot (person_since):
 * the store is before or after the file, and the next delivery finishes it exactly once.
 */
describe('a kill around the commit of a load that keeps opt-out keys and reaches an arrival', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeEach(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());

  const body = (lines: string[]) => [HEADER, ...lines].join('\n');
  async function send(party: string, name: string, lines: string[]): Promise<void> {
    await h.importAndLink(`${party}/${DATASET}/${name}`, body(lines));
  }
  const optOut = (subjectKey: string) =>
    consents.record({ subjectKey, kind: 'opt-out', purposeId: null, evidenceRef: 'evidence', by: dpo, at: new Date() });

  const susanSince = () =>
    h.store.db
      .selectFrom('source_record')
      .select('person_since')
      .where('party_id', '=', 'la-housing')
      .where('given_name', '=', 'SUSAN')
      .execute();
  const importEntries = (runId: string) =>
    h.store.db
      .selectFrom('access_log')
      .select('seq')
      .where('request_id', '=', runId)
      .where('action', '=', 'import')
      .execute();

  it.each<[string, ImportPhase, string, string]>([
    ['inside the transaction, once everything is written', 'report', 'loading', 'loaded'],
    ['just after the commit', 'commit', 'loaded', 'duplicate'],
  ])('killed %s: kept once, copied once, logged once', async (_, phase, leftAs, retryOutcome) => {
    // John left adult social care's dataset (his keys kept); Mary is Housing's, with Susan.
    await send('la-adult-social-care', 'a.csv', [`John,Black,1970-03-04,ME14 1AA,${nhs(7101)}`]);
    const johnId = await personOf(h, 'la-adult-social-care', 'JOHN');
    await optOut(johnId);
    await send('la-adult-social-care', 'b.csv', ['Peter,Brown,1975-07-08,ME17 4AA,']);
    await send('la-housing', 'a.csv', [
      `Mary,Green,1980-05-06,ME15 2YY,${nhs(7102)}`,
      'Susan,White,1960-09-10,ME18 5BB,',
    ]);
    const maryId = await personOf(h, 'la-housing', 'MARY');
    const susanId = await personOf(h, 'la-housing', 'SUSAN');
    await optOut(maryId);
    const keptBefore = await h.store.db.selectFrom('opt_out_kept_record').select('person_id').execute();
    expect(keptBefore.map((r) => r.person_id)).toEqual([johnId]);

    // Housing's next extract drops Mary and brings John.
    const name = `la-housing/${DATASET}/b.csv`;
    await h.drop(name, body(['Susan,White,1960-09-10,ME18 5BB,', `John,Black,1970-03-04,ME16 3AB,${nhs(7101)}`]));
    const sinceBefore = await susanSince();
    expect(sinceBefore).toHaveLength(1);
    await killImportAtPhase(h, phase, name);
    // Where the kill landed: before the commit nothing of the file is in the store; after it,
    // the run is loaded but its entry, report and move are still to do.
    const left = await h.store.db.selectFrom('import_run').selectAll().where('blob_name', '=', name).execute();
    expect(left).toMatchObject([{ status: leftAs }]);
    expect(await h.exists('incoming', name)).toBe(true);
    expect(await importEntries(left[0]!.id)).toEqual([]);
    const keptAfterKill = await h.store.db.selectFrom('opt_out_kept_record').select('person_id').execute();
    expect(keptAfterKill.map((r) => r.person_id).sort()).toEqual(
      (leftAs === 'loaded' ? [johnId, maryId] : [johnId]).sort(),
    );

    const retried = await h.run(name);
    expect(retried).toMatchObject({ outcome: retryOutcome });
    const runId = (retried as { runId: string }).runId;
    await linkAfterImport(h.linkDeps(), runId);

    const kept = await h.store.db.selectFrom('opt_out_kept_record').select('person_id').execute();
    expect(kept.map((r) => r.person_id).sort()).toEqual([johnId, maryId].sort());
    const keptIds = await h.store.db.selectFrom('opt_out_kept_identifier').select('person_id').execute();
    expect(keptIds.map((r) => r.person_id).sort()).toEqual([johnId, maryId].sort());
    // John's record in Housing's snapshot holds one copy of his opt-out, no more.
    const johnNow = await personOf(h, 'la-housing', 'JOHN');
    expect(await consents.isOptedOut(johnNow, new Date())).toBe(true);
    const copies = await h.store.db
      .selectFrom('consent_event')
      .select(['subject_key', 'action'])
      .where('subject_key', '=', johnNow)
      .execute();
    expect(copies).toEqual([{ subject_key: johnNow, action: 'record' }]);
    // Susan was carried over, with since when her records held the id.
    expect(await personOf(h, 'la-housing', 'SUSAN')).toBe(susanId);
    expect(await susanSince()).toEqual(sinceBefore);
    // One access-log entry for the load, its report published, the file moved on.
    expect(await importEntries(runId)).toHaveLength(1);
    expect(await h.report('processed', name)).toMatchObject({ runId, outcome: 'loaded' });
    expect(await h.exists('incoming', name)).toBe(false);
    expect(await h.exists('processed', name)).toBe(true);
  });
});
