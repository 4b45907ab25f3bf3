import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { carolThroughSocialCare, importEach, nhs, personOf } from '../../support/linked-people.js';

/**
 * Recording a consent the party already has in force answers with that one (one withdrawal then
 * ends it) — but not with one linkage carried from another person: after a split the part split
 * off holds its origin's opt-out under the same id, and a withdrawal meant for one must not end
 * the other's.
 */
const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

describe('recording an opt-out after linkage split a person', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
    await importEach(h, carolThroughSocialCare(nhs(631)));
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  it("records the split-off person's own opt-out anew, and its withdrawal leaves the other's in force", async () => {
    const original = await personOf(h, 'la-housing', 'CAROL');
    const first = await consents.record({
      subjectKey: original,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-p',
      by: dpo,
      at: T,
    });
    // The same opt-out again, for the same person: the one in force.
    const again = await consents.record({
      subjectKey: original,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-p',
      by: dpo,
      at: T,
    });
    expect(again).toMatchObject({ alreadyInForce: true, consentId: first.consentId });

    // Social care's bridging record goes: the person splits in two, each keeping the opt-out.
    const outcome = await h.importFile(
      `la-childrens-social-care/${DATASET}/b.csv`,
      [
        'firstName,lastName,dateOfBirth,homePostcode,socialCareSystemId,childProtection',
        'Dan,Grey,2009-05-06,ME3 3AB,SC-9,N',
      ].join('\n'),
    );
    expect(outcome.outcome).toBe('loaded');
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    const parts = [await personOf(h, 'la-housing', 'CAROL'), await personOf(h, 'la-education', 'CAROL')];
    const splitOff = parts.find((p) => p !== original)!;
    expect(splitOff).toBeDefined();
    expect(await consents.isOptedOut(splitOff, T)).toBe(true);

    const own = await consents.record({
      subjectKey: splitOff,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-q',
      by: dpo,
      at: T,
    });
    expect(own.alreadyInForce).toBe(false);
    expect(own.consentId).not.toBe(first.consentId);
    await consents.withdraw(own.consentId, dpo, T);
    expect(await consents.isOptedOut(original, T)).toBe(true);
  });
});
