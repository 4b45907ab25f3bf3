import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseName } from '../../../shared/domain/normalise.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { insertRecord, type TestRecord } from '../../support/records.js';
import { restartTestHost, startTestHost, type TestHost } from '../../support/test-host.js';
import { agreementsFolderWithKeywaysRegisterMoved, KEYWAYS_SUCCESSOR } from '../agreements/agreement-files.js';

/**
 * A person is one person across a re-signing that moves their dataset to another agreement. Here
 * Kettering's and Wellingborough's registers hold one applicant under one NI number, linked at the
 * Keyways DSA's tier 1; the register then moves to another agreement (re-signed files, a second
 * host on the same store), and Corby sends a new extract, whose records the new agreement's pass
 * links (an incremental pass, as after every import). That pass linked only the pairs of sources
 * with records never linked, and formed people from the links filed under its own agreement: the
 * Kettering–Wellingborough links were the DSA's, so the applicant was split in two — two people
 * for one NI number, until someone ran a full relink (found by reading, while checking what an
 * officer's decision does when its datasets move: link-review-dataset-moved.test.ts). A pair of
 * sources whose links are filed under another agreement is linked again, under this one.
 */
describe("the new agreement's first pass after its datasets moved", () => {
  let t: TestHost;
  const REGISTER = 'keyways-housing-register';
  const applicant = (partyId: string, givenName: string, ni?: string): TestRecord => ({
    partyId,
    datasetId: REGISTER,
    givenName,
    familyName: 'Ashworth',
    dateOfBirth: '1970-06-01',
    postcode: 'NN8 1AA',
    identifiers: ni === undefined ? {} : { ni },
    attributes: { firstName: givenName, lastName: 'Ashworth', dateOfBirth: '1970-06-01', address: '1 Mill Lane' },
  });
  const people = async () =>
    Object.fromEntries(
      (
        await t.host.services.store.db
          .selectFrom('source_record')
          .select(['party_id', 'given_name', 'person_id'])
          .where('family_name', '=', normaliseName('Ashworth'))
          .execute()
      ).map((r) => [`${r.party_id} ${r.given_name}`, r.person_id]),
    );

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    await insertRecord(s, applicant('kettering-borough-council', 'Anne', 'QQ123456C'));
    await insertRecord(s, applicant('wellingborough-borough-council', 'Anne', 'QQ123456C'));
    await linkPeople(s, 'keyways-housing-allocation', 'full');
    const before = await people();
    expect(before['kettering-borough-council ANNE']).toBe(before['wellingborough-borough-council ANNE']);

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWithKeywaysRegisterMoved(),
    });
    const moved = t.host.services;
    // Corby's new extract: a record no pass has linked yet.
    const { recordId } = await insertRecord(moved, applicant('corby-borough-council', 'Zoe'));
    await moved.store.db.updateTable('source_record').set({ person_id: null }).where('id', '=', recordId).execute();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('keeps two records of one NI number one person, in sources whose links the old agreement made', async () => {
    const summaries = await linkPendingRecords(t.host.services);
    // The Keyways DSA's too: the re-signing moved its register out (pending-links.ts).
    expect(summaries.map((s) => s.agreementId)).toEqual(['keyways-housing-allocation', KEYWAYS_SUCCESSOR]);
    const summary = summaries[1];
    const after = await people();
    expect(after['kettering-borough-council ANNE'], 'one person for one NI number').toBe(
      after['wellingborough-borough-council ANNE'],
    );
    expect(summary?.personIdsChanged).toBe(1);
  });

  it("leaves no link of the new agreement's sources filed under the old agreement", async () => {
    const filed = await t.host.services.store.db.selectFrom('record_link').select('agreement_id').distinct().execute();
    expect(filed.map((r) => r.agreement_id)).toEqual([KEYWAYS_SUCCESSOR]);
  });
});
