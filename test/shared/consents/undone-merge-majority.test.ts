import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { decide } from '../../../shared/policy/decide.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs } from '../../support/linked-people.js';

/**
 * Alice Smith (housing + children's social care, one NHS number) consents to the evaluation.
 * Alice Jones (education) is someone else. Adult social care keys Jones with Smith's NHS number:
 * the pass wrongly merges them and Smith's id (two records to one) survives. Housing then sends
 * a row of Jones too, which joins the merged person under Smith's id. Adult social care corrects
 * its row (no NHS number): the wrong merge is undone. Jones's part now holds more records of
 * Smith's id than Smith's part does, so it keeps the id. Smith's consent, recorded against that
 * id, must not go with it: ICF would be shown Jones under Smith's consent (found by a review).
 */
const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const T = new Date('2026-03-02T09:00:00.000Z');
const officer = { partyId: 'dudley-housing-options', clientId: 'officer-client' };

describe('a wrong merge undone, the larger part the other person', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N = nhs(771);

  const send = async (party: string, file: string, lines: string[]) => {
    const outcome = await h.importFile(`${party}/${DATASET}/${file}`, lines.join('\n'));
    expect(outcome.outcome).toBe('loaded');
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
  };
  const personOfRow = async (party: string, family: string) =>
    (
      await h.store.db
        .selectFrom('source_record')
        .select('person_id')
        .where('party_id', '=', party)
        .where('family_name', '=', family)
        .executeTakeFirstOrThrow()
    ).person_id!;
  const researchLookup = (subjectKey: string) =>
    decide(
      {
        caller: { partyId: 'icf-research', clientId: 'c', roles: ['researcher'] },
        purpose: 'research-evaluation',
        datasets: [],
        subject: { subjectKey },
        action: 'lookup',
      },
      { agreements: h.deps().agreements, consents, now: () => T },
    );

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it("does not let Alice Jones keep Alice Smith's consent when Jones's part keeps the id", async () => {
    await send('la-housing', 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      `Alice,Smith,2012-03-04,ME14 1XX,${N},Y`,
    ]);
    await send('la-childrens-social-care', 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
      `Alice,Smith,2012-03-04,ME14 1XX,${N},SC-1,Y`,
    ]);
    const smith = await personOfRow('la-housing', 'SMITH');
    expect(await personOfRow('la-childrens-social-care', 'SMITH')).toBe(smith);
    await consents.record({
      subjectKey: smith,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-smith',
      by: officer,
      at: T,
    });

    await send('la-education', 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
      'Alice,Jones,2012-03-04,ME20 9AA,ED-1,N',
    ]);
    const jonesBefore = await personOfRow('la-education', 'JONES');
    expect(jonesBefore).not.toBe(smith);
    expect((await researchLookup(jonesBefore)).allow).toBe(false);

    // The wrong merge: adult social care keys Jones with Smith's NHS number.
    await send('la-adult-social-care', 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,isDisabled',
      `Alice,Jones,2012-03-04,ME20 9AA,${N},N`,
    ]);
    expect(await personOfRow('la-education', 'JONES')).toBe(smith);

    // Housing now sends Jones as well (no NHS number): she joins the merged person.
    await send('la-housing', 'b.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      `Alice,Smith,2012-03-04,ME14 1XX,${N},Y`,
      'Alice,Jones,2012-03-04,ME20 9AA,,N',
    ]);
    expect(await personOfRow('la-housing', 'JONES')).toBe(smith);

    // Adult social care corrects its row: the wrong NHS number is gone, the merge is undone.
    await send('la-adult-social-care', 'b.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,isDisabled',
      'Alice,Jones,2012-03-04,ME20 9AA,,N',
    ]);
    const smithNow = await personOfRow('la-housing', 'SMITH');
    // Jones's part (three records holding Smith's id, against Smith's two) keeps the id.
    expect(await personOfRow('la-education', 'JONES')).toBe(smith);
    const jonesNow = await personOfRow('la-education', 'JONES');
    expect(smithNow).not.toBe(jonesNow);
    expect(await personOfRow('la-childrens-social-care', 'SMITH')).toBe(smithNow);
    expect(await personOfRow('la-housing', 'JONES')).toBe(jonesNow);
    expect(await personOfRow('la-adult-social-care', 'JONES')).toBe(jonesNow);

    // Jones never consented to the evaluation: she must not hold Smith's consent.
    expect(await consents.currentConsent(jonesNow, 'research-evaluation', T)).toBe(false);
    expect((await researchLookup(jonesNow)).allow).toBe(false);
  });
});
