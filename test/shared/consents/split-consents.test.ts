import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkAfterImport, linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { decide } from '../../../shared/policy/decide.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import {
  aliceAsTwoPeople,
  carolThroughSocialCare,
  importEach,
  nhs,
  personOf,
  sendAdultSocialCareJoiningAlice,
  sendAdultSocialCareWithoutAlice,
  sendSocialCareWithoutCarol,
} from '../../support/linked-people.js';

/**
 * On a split every part inherits the person's opt-outs (an opt-out must never be lost) and none
 * keeps its consents, not even the part that keeps the id (a consent must never be applied to
 * someone who may be another person, and the part with most records need not be the giver):
 * carry-consents fails closed.
 */

const AGREEMENT = 'social-care-education-housing';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

describe('a split copies opt-outs to every part and consents to none', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N = nhs(630);

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
    await importEach(h, carolThroughSocialCare(N));
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  it('keeps the consent on no part, the opt-out on both', async () => {
    const p = await personOf(h, 'la-housing', 'CAROL');
    expect(await personOf(h, 'la-education', 'CAROL')).toBe(p);
    const granted = { subjectKey: p, purposeId: 'research-evaluation', evidenceRef: 'form-carol', by: dpo, at: T };
    await consents.record({ ...granted, kind: 'consent' });
    await consents.record({ subjectKey: p, kind: 'opt-out', purposeId: null, evidenceRef: 'nddo', by: dpo, at: T });
    expect(await consents.currentConsent(p, 'research-evaluation', T)).toBe(true);

    // Social care's next snapshot no longer has Carol: housing's and education's records fall apart.
    await sendSocialCareWithoutCarol(h);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    const parts = [await personOf(h, 'la-housing', 'CAROL'), await personOf(h, 'la-education', 'CAROL')];
    expect(parts[0]).not.toBe(parts[1]);
    expect(parts).toContain(p);

    for (const part of parts) {
      expect(await consents.currentConsent(part, 'research-evaluation', T)).toBe(false);
      expect(await consents.isOptedOut(part, T)).toBe(true);
    }
  });

  it("records the split-off part's own opt-out anew, so withdrawing it leaves the original's", async () => {
    const original = await personOf(h, 'la-housing', 'CAROL');
    const splitOff = await personOf(h, 'la-education', 'CAROL');
    // Both parts hold the original's opt-out under one id: it is not the split-off part's own.
    const own = await consents.record({
      subjectKey: splitOff,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-q',
      by: dpo,
      at: T,
    });
    expect(own.alreadyInForce).toBe(false);
    await consents.withdraw(own.consentId, dpo, T);
    expect(await consents.isOptedOut(original, T)).toBe(true);
  });
});

describe("a split's opt-out withdrawn after each part's own was recorded anew", () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N = nhs(650);

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
    await importEach(h, carolThroughSocialCare(N));
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  it("leaves each part's own opt-out in force: the DPO recorded them to stand whatever became of the first", async () => {
    const p = await personOf(h, 'la-housing', 'CAROL');
    const optOut = (subjectKey: string, evidenceRef: string) =>
      consents.record({ subjectKey, kind: 'opt-out', purposeId: null, evidenceRef, by: dpo, at: T });
    const original = await optOut(p, 'nddo');

    await sendSocialCareWithoutCarol(h);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    const parts = [await personOf(h, 'la-housing', 'CAROL'), await personOf(h, 'la-education', 'CAROL')];
    expect(parts[0]).not.toBe(parts[1]);

    // The DPO records each part's own opt-out, then withdraws the one both hold by the split
    // (one of the two parts may be someone else, who did not object).
    for (const [n, part] of parts.entries()) expect((await optOut(part, `nddo-${n}`)).alreadyInForce).toBe(false);
    await consents.withdraw(original.consentId, dpo, T);

    for (const part of parts)
      expect(await consents.isOptedOut(part, T), part === p ? 'kept id' : 'split off').toBe(true);
  });
});

describe('a split takes a consent a wrong merge carried in away from the part that keeps the id', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N = nhs(640);
  const officer = { partyId: 'dudley-housing-options', clientId: 'officer-client' };

  /** ICF's lookup of the person for the evaluation: it needs the person's own consent. */
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
  const heldBy = async (personId: string) =>
    (await h.store.db.selectFrom('source_record').select('id').where('person_id', '=', personId).execute()).length;

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
    await importEach(h, aliceAsTwoPeople(N));
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(async () => h.close());

  it("does not leave Alice Smith's consent with Alice Jones once the merge of the two is undone", async () => {
    const smith = await personOf(h, 'la-housing', 'ALICE');
    const jones = await personOf(h, 'la-education', 'ALICE');
    expect(smith).not.toBe(jones);
    // Alice Smith consents to the evaluation; Alice Jones gives a consent of her own for another purpose.
    const smiths = await consents.record({
      subjectKey: smith,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-smith',
      by: officer,
      at: T,
    });
    await consents.record({
      subjectKey: jones,
      kind: 'consent',
      purposeId: 'tenancy-sustainment',
      evidenceRef: 'form-jones',
      by: dpo,
      at: T,
    });
    expect((await researchLookup(jones)).allow).toBe(false);

    // Adult social care wrongly joins them: Jones's id (two records to one) survives, and while
    // they are one person Smith's consent is theirs.
    await linkAfterImport(h.linkDeps(), await sendAdultSocialCareJoiningAlice(h, N));
    expect(await personOf(h, 'la-housing', 'ALICE')).toBe(jones);
    expect(await heldBy(smith)).toBe(0);
    expect(await consents.currentConsent(jones, 'research-evaluation', T)).toBe(true);

    // Its next snapshot no longer has Alice: the two fall apart, Jones's records keep her id and
    // Smith's record gets a new one (her old id is held by no record, so no pass gives it back).
    await sendAdultSocialCareWithoutAlice(h);
    const split = await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    // Both consents under the id Jones's part keeps: Smith's carried in, and Jones's own.
    expect(split.consentsDetached).toBe(2);
    expect(await personOf(h, 'la-education', 'ALICE')).toBe(jones);
    expect(await personOf(h, 'la-childrens-social-care', 'ALICE')).toBe(jones);
    const smithNow = await personOf(h, 'la-housing', 'ALICE');
    expect([smith, jones]).not.toContain(smithNow);

    // Jones never consented to the evaluation: ICF is not shown her, whoever's records keep the id.
    expect(await consents.currentConsent(jones, 'research-evaluation', T)).toBe(false);
    expect(await researchLookup(jones)).toMatchObject({ allow: false, reason: 'consent-required' });
    expect(await consents.subjectsWith('consent', 'research-evaluation')).not.toContain(jones);
    // Nor is Smith under her new id: nothing shows the linker that part is the person who consented.
    expect(await consents.currentConsent(smithNow, 'research-evaluation', T)).toBe(false);
    // Nor does Jones's own, recorded against her id: the split cannot tell her part is its giver.
    expect(await consents.currentConsent(jones, 'tenancy-sustainment', T)).toBe(false);
    // Smith's consent itself is not withdrawn: it stands under the id she gave it against.
    // No record holds that id, so no lookup finds it there: read back, it says it was detached,
    // for Dudley to record it again against Smith as now found.
    expect(await consents.find(smiths.consentId)).toMatchObject({
      subjectKey: smith,
      withdrawnAt: null,
      detachedAt: expect.any(String),
    });
    expect(await consents.currentConsent(smith, 'research-evaluation', T)).toBe(true);

    // A later pass that changes nothing writes nothing more.
    const again = await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(again).toMatchObject({ personIdsChanged: 0, consentEventsCarried: 0, consentsDetached: 0 });
  });

  it("lets Jones be recorded as consenting herself, and Smith's withdrawal leaves that alone", async () => {
    const jones = await personOf(h, 'la-education', 'ALICE');
    const own = await consents.record({
      subjectKey: jones,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-jones-2',
      by: officer,
      at: T,
    });
    expect(own.alreadyInForce).toBe(false);
    expect((await researchLookup(jones)).allow).toBe(true);

    const smiths = (
      await h.store.db
        .selectFrom('consent_event')
        .select('consent_id')
        .where('evidence_ref', '=', 'form-smith')
        .executeTakeFirstOrThrow()
    ).consent_id;
    await consents.withdraw(smiths, officer, T);
    expect(await consents.currentConsent(jones, 'research-evaluation', T)).toBe(true);
    expect(await consents.find(own.consentId)).toMatchObject({ subjectKey: jones, withdrawnAt: null });
  });
});
