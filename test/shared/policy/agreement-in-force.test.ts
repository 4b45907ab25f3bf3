/**
 * Review finding: the policy decision point grants under an agreement that is not yet in force.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { decide } from '../../../shared/policy/decide.js';
import type { PolicyAction } from '../../../shared/policy/decision.js';
import { AGREEMENT_FILES, changedAgreementText } from '../agreements/agreement-files.js';
import { InMemoryConsents } from './in-memory-consents.js';

/** A lookup by Kettering, granted under the Keyways agreement with the given effective date, at `now`. */
async function lookupUnder(effectiveDate: string, now: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-review-decide-'));
  try {
    writeFileSync(
      join(dir, AGREEMENT_FILES.keyways),
      changedAgreementText('keyways', (a) => {
        a.effectiveDate = effectiveDate;
      }),
    );
    return await decide(
      {
        caller: { partyId: 'kettering-borough-council', clientId: 'client-of-kettering', roles: ['senior-officer'] },
        purpose: 'housing-allocation',
        datasets: [],
        subject: null,
        action: 'lookup',
      },
      {
        agreements: loadAgreements(dir, { now: new Date('2026-03-01') }),
        consents: new InMemoryConsents(),
        now: () => new Date(now),
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('decide and agreement dates', () => {
  it('grants from the first minute of the effective date in the UK, British Summer Time or not', async () => {
    // The agreements are signed by English councils: 1 July is 1 July in the UK, which in
    // summer begins at 23:00 UTC on 30 June.
    const firstMinute = await lookupUnder('2026-07-01', '2026-06-30T23:00:30Z');
    expect(firstMinute.allow, 'a lookup at 00:00:30 BST on the effective date').toBe(true);
    const lastMinuteBefore = await lookupUnder('2026-07-01', '2026-06-30T22:59:30Z');
    expect(lastMinuteBefore.allow, 'a lookup at 23:59:30 BST the day before').toBe(false);
    // In winter the UK is on UTC.
    expect((await lookupUnder('2027-01-01', '2026-12-31T23:59:30Z')).allow, '23:59:30 GMT the day before').toBe(false);
    expect((await lookupUnder('2027-01-01', '2027-01-01T00:00:30Z')).allow, '00:00:30 GMT on the day').toBe(true);
  });

  it('does not grant under an agreement whose effective date is still to come', async () => {
    // agreements/README.md: `effectiveDate` is "when the agreement came into force". Before
    // that date there is no signed basis for the sharing, yet decide() never reads the date.
    const decision = await lookupUnder('2027-01-01', '2026-03-02T09:00:00Z');
    expect(decision.allow, 'a lookup on 2026-03-02 under an agreement effective from 2027-01-01').toBe(false);
  });
});

describe('decide and agreement dates, for a withdrawal', () => {
  /** Dudley's `roles` withdrawing a research consent under the agreement re-signed with a later date. */
  async function withdrawalUnderLaterDate(roles: string[], action: PolicyAction) {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-review-decide-'));
    try {
      writeFileSync(
        join(dir, AGREEMENT_FILES.housingFirst),
        changedAgreementText('housingFirst', (a) => {
          a.effectiveDate = '2027-01-01';
        }),
      );
      return await decide(
        {
          caller: { partyId: 'dudley-housing-options', clientId: 'client-of-dudley', roles },
          purpose: 'research-evaluation',
          datasets: [],
          subject: null,
          action,
        },
        {
          agreements: loadAgreements(dir, { now: new Date('2026-03-01') }),
          consents: new InMemoryConsents(),
          now: () => new Date('2026-03-02T09:00:00Z'),
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('lets a consent recorded under the last agreement be withdrawn before the re-signed one is in force', async () => {
    // Art. 7(3): stopping a disclosure needs no basis for making one; recording still does.
    expect((await withdrawalUnderLaterDate(['housing-officer'], 'consent-withdraw')).allow).toBe(true);
    expect((await withdrawalUnderLaterDate(['dpo'], 'consent-withdraw')).allow).toBe(true);
    expect(await withdrawalUnderLaterDate(['housing-officer'], 'consent-write')).toMatchObject({
      allow: false,
      reason: 'purpose-not-permitted',
    });
  });
});
