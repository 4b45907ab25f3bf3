/**
 * Review finding: the policy decision point grants under an agreement that is not yet in force.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { decide } from '../../../shared/policy/decide.js';
import { AGREEMENT_FILES, changedAgreementText } from '../agreements/agreement-files.js';
import { InMemoryConsents } from './in-memory-consents.js';

describe('decide and agreement dates', () => {
  it('does not grant under an agreement whose effective date is still to come', async () => {
    // agreements/README.md: `effectiveDate` is "when the agreement came into force". Before
    // that date there is no signed basis for the sharing, yet decide() never reads the date.
    const dir = mkdtempSync(join(tmpdir(), 'lintel-review-decide-'));
    try {
      writeFileSync(
        join(dir, AGREEMENT_FILES.keyways),
        changedAgreementText('keyways', (a) => {
          a.effectiveDate = '2027-01-01';
        }),
      );
      const deps = {
        agreements: loadAgreements(dir, { now: new Date('2026-03-01') }),
        consents: new InMemoryConsents(),
        now: () => new Date('2026-03-02T09:00:00Z'),
      };
      const decision = await decide(
        {
          caller: { partyId: 'kettering-borough-council', clientId: 'client-of-kettering', roles: ['senior-officer'] },
          purpose: 'housing-allocation',
          datasets: [],
          subject: null,
          action: 'lookup',
        },
        deps,
      );
      expect(decision.allow, 'a lookup on 2026-03-02 under an agreement effective from 2027-01-01').toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
