import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import {
  carolThroughSocialCare,
  importEach,
  nhs,
  personOf,
  sendSocialCareWithoutCarol,
} from '../../support/linked-people.js';

/**
 * On a split the original person continues under their id; the parts split off inherit its
 * opt-outs (an opt-out must never be lost) but not its consents (a consent must never be
 * invented for someone who may be another person): carry-consents fails closed.
 */

const AGREEMENT = 'social-care-education-housing';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

describe('a split copies opt-outs to every part but consents to none split off', () => {
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

  it('keeps the consent only on the part that keeps the id, the opt-out on both', async () => {
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
    const splitOff = parts.find((part) => part !== p)!;

    expect(await consents.currentConsent(p, 'research-evaluation', T)).toBe(true);
    expect(await consents.currentConsent(splitOff, 'research-evaluation', T)).toBe(false);
    for (const part of parts) expect(await consents.isOptedOut(part, T)).toBe(true);
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
