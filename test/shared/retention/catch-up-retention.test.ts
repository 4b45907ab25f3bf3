import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catchUpRetention } from '../../../shared/retention/enforce-retention.js';
import { SecretUnavailableError, type SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

/** The events of the harness's log lines named `event`. */
function logged(h: ImportHarness, event: string): Record<string, unknown>[] {
  return h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event);
}

describe('the half-hourly retention catch-up', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h.close());

  it('logs an agreement whose pending records it could not link once, not once a pass', async () => {
    // Loaded, not linked (the import's own pass failed after its commit), and Key Vault does not
    // answer the catch-up either.
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
          `Alice,Smith,2012-03-04,ME14 1XX,${nhs(410)},Y`,
        ],
      ],
    ]);
    const secrets: SecretSource = { get: (name) => Promise.reject(new SecretUnavailableError(name)) };
    await expect(catchUpRetention({ ...h.retentionDeps(), ...h.linkDeps(), secrets })).rejects.toThrow(
      SecretUnavailableError,
    );
    expect(logged(h, 'linkage.pending-failed').map((line) => line.agreementId)).toEqual([
      'social-care-education-housing',
    ]);
  });
});
