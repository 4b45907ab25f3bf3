import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople, type LinkRunKind } from '../../../shared/linkage/link-people.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { linkPendingTick } from '../../support/link-pending-tick.js';
import { insertRecord } from '../../support/records.js';
import {
  corbySearchForItsApplicant,
  keywaysPasses,
  markedRegisterApplicant,
  REGISTER_APPLICANT_NI,
} from '../../support/register-applicants.js';
import { restartTestHost, startTestHost, type TestHost } from '../../support/test-host.js';
import { agreementsFolderWith, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH } from '../agreements/agreement-files.js';

/**
 * The Keyways DSA re-signed with Wellingborough no longer supplying the housing register. Before,
 * its record joined Corby's applicant (no NI number; names and date of birth) and Kettering's
 * (another name; the NI number) into one person. Its old records stay in the store, and lookups
 * pass over them (AgreementSet.isSource), but a linking pass read them as before: the bridge held,
 * and Corby's housing officer searching for its own applicant was shown Kettering's record too.
 * Whatever the pass's kind, the first one after the re-signing links only the register's current
 * sources, and the person the old record joined is split, with the trace a split leaves.
 *
 * `timer`: no import and no manual pass, only the five-minute timer. It linked only agreements
 * holding unlinked records, so the bridge held until the register's next import or a relink.
 */
describe.each<LinkRunKind | 'timer'>(['incremental', 'full', 'timer'])(
  'the first %s pass after a re-signing dropped a party as a source',
  (kind) => {
    let t: TestHost;
    const AGREEMENT = 'keyways-housing-allocation';
    const records = { corby: '', wellingborough: '', kettering: '' };
    let joined: string;
    const personOf = async (recordId: string) =>
      (
        await t.host.services.store.db
          .selectFrom('source_record')
          .select('person_id')
          .where('id', '=', recordId)
          .executeTakeFirstOrThrow()
      ).person_id;

    beforeAll(async () => {
      t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
      const s = t.host.services;
      records.corby = (
        await insertRecord(s, markedRegisterApplicant('corby-borough-council', 'Katherine', 'Whitfield', 'CORBY-PHONE'))
      ).recordId;
      records.wellingborough = (
        await insertRecord(
          s,
          markedRegisterApplicant(
            'wellingborough-borough-council',
            'Katherine',
            'Whitfield',
            'WELLINGBOROUGH-PHONE',
            REGISTER_APPLICANT_NI,
          ),
        )
      ).recordId;
      records.kettering = (
        await insertRecord(
          s,
          markedRegisterApplicant(
            'kettering-borough-council',
            'Kate',
            'Marsh',
            'KETTERING-PHONE',
            REGISTER_APPLICANT_NI,
          ),
        )
      ).recordId;
      await linkPeople(s, AGREEMENT, 'full');
      joined = (await personOf(records.corby))!;
      expect(await personOf(records.kettering), "Wellingborough's record joins Corby's and Kettering's").toBe(joined);

      t = await restartTestHost(t, {
        LINTEL_DEMO_SEED: 'off',
        AGREEMENTS_DIR: agreementsFolderWith([KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH]),
      });
      const resigned = t.host.services;
      if (kind === 'full') await linkPeople(resigned, AGREEMENT, 'full');
      else if (kind === 'timer') await linkPendingTick();
      else {
        // Kettering's next extract brings someone new: the pass after its import.
        const { recordId } = await insertRecord(
          resigned,
          markedRegisterApplicant('kettering-borough-council', 'Noor', 'Castell', 'OTHER-PHONE'),
        );
        await resigned.store.db
          .updateTable('source_record')
          .set({ person_id: null })
          .where('id', '=', recordId)
          .execute();
        const [summary] = await linkPendingRecords(resigned);
        expect(summary?.kind).toBe('incremental');
      }
    });
    afterAll(async () => {
      await t?.stop();
    });

    it("shows Corby's officer its own applicant alone, not Kettering's record the former source's record bridged to", async () => {
      const found = await corbySearchForItsApplicant(t);
      expect(found.status, found.text).toBe(200);
      expect(found.text).toContain('CORBY-PHONE');
      expect(found.text).not.toContain('KETTERING-PHONE');
      expect(found.text).not.toContain('WELLINGBOROUGH-PHONE');
    });

    // Only for the timer's pass (not as it.runIf: a skip would read as a test that could not run here).
    if (kind === 'timer')
      it('runs no further pass at the next tick, the re-signing once linked', async () => {
        const passes = () => keywaysPasses(t);
        const before = await passes();
        expect(before, "the pass before the re-signing, and the timer's after it").toHaveLength(2);
        await linkPendingTick();
        expect(await passes()).toEqual(before);
      });

    it('splits the person, leaving the trace a split leaves', async () => {
      const corbyPerson = await personOf(records.corby);
      const ketteringPerson = await personOf(records.kettering);
      expect(corbyPerson).not.toBe(ketteringPerson);
      const moves = await t.host.services.store.db
        .selectFrom('person_id_move')
        .select('to_person_id')
        .where('from_person_id', '=', joined)
        .execute();
      const left = corbyPerson === joined ? ketteringPerson : corbyPerson;
      expect(moves.map((m) => m.to_person_id)).toContain(left);
    });

    it("gives the former source's record a person of its own, and keeps no link of it", async () => {
      const own = await personOf(records.wellingborough);
      expect(own).not.toBeNull();
      expect([await personOf(records.corby), await personOf(records.kettering)]).not.toContain(own);
      const links = await t.host.services.store.db
        .selectFrom('record_link')
        .select('id')
        .where('agreement_id', '=', AGREEMENT)
        .where((eb) =>
          eb.or([eb('record_a', '=', records.wellingborough), eb('record_b', '=', records.wellingborough)]),
        )
        .execute();
      expect(links).toEqual([]);
    });
  },
);
