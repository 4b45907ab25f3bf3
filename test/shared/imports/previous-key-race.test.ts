import { BlobClient } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { nhs, recordOf } from '../../support/linked-people.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

/**
 * Which key the previous snapshot was hashed under is what the load compares with, so it is read
 * in the load's transaction, with the snapshot it describes. Here two extracts of one party's
 * dataset are picked up together across a rotation of `pseudonymisation-key`: the later one (A)
 * reads the key before the rotation, the earlier one (B) after it, and B commits first. A must
 * then compare with B's snapshot under B's key version, and so carry Erin, known to children's
 * social care alone, her person id (her opt-outs, consents and the references issued for her
 * are kept under it). Judged from a reading taken before B committed, A found the snapshot
 * under a version it had no hashes for, carried nobody by identifier, and logged that the
 * previous key was gone, which it was not.
 */

const DATASET = 'multiple-disadvantage-indicators';
const PARTY = 'la-childrens-social-care';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
const file = (date: string) => `${PARTY}/${DATASET}/extract-${date}.csv`;

describe.each([
  ['on the import thread', undefined],
  ['on the row worker', 0],
])('an extract racing another across a key rotation (%s)', (_where, rowWorkerMinBytes) => {
  let h: ImportHarness;
  const ERIN = nhs(910);
  const FINN = nhs(920);
  const rows = [`Erin,Hale,2012-02-03,ME14 1XX,${ERIN},SC-1,Y`, `Finn,Moss,2013-04-05,ME15 2YY,${FINN},SC-2,N`];

  beforeAll(async () => {
    h = await createImportHarness({ rowWorkerMinBytes });
  });
  afterAll(async () => h.close());
  afterEach(() => vi.restoreAllMocks());

  it('carries person ids from the snapshot the other extract committed meanwhile', async () => {
    const first = await h.importFile(file('2026-03-01'), [HEADER, ...rows].join('\n'));
    expect(first.outcome).toBe('loaded');
    await linkAfterImport(h.linkDeps(), (first as { runId: string }).runId);
    const erin = (await recordOf(h, PARTY, 'ERIN')).person_id!;
    expect(erin).toBeTruthy();
    // The snapshot stands under the key before this one: A will read a previous key too.
    h.secrets.rotate('pseudonymisation-key');

    const later = file('2026-04-02');
    const earlier = file('2026-04-01');
    // Each extract its own bytes (the same bytes again would be a duplicate of the first run).
    await h.drop(later, [HEADER, ...rows, `Gail,Reed,2014-06-07,ME16 3ZZ,${nhs(930)},SC-3,N`].join('\n'));
    await h.drop(earlier, [HEADER, ...rows, `Hugo,Lane,2015-07-08,ME17 4AA,${nhs(940)},SC-4,N`].join('\n'));
    // A has read its key (and, before the fix, the previous snapshot's version) and opens its
    // file for the load: now the key rotates and B, read under the new key, loads first.
    let downloads = 0;
    let earlierOutcome: unknown;
    const download = BlobClient.prototype.download;
    vi.spyOn(BlobClient.prototype, 'download').mockImplementation(async function (
      this: BlobClient,
      ...args: Parameters<BlobClient['download']>
    ) {
      if (this.name === later && ++downloads === 2) {
        h.secrets.rotate('pseudonymisation-key');
        earlierOutcome = await h.run(earlier);
      }
      return download.apply(this, args);
    });
    const outcome = await h.run(later);
    vi.restoreAllMocks();
    expect(earlierOutcome).toMatchObject({ outcome: 'loaded' });
    expect(outcome).toMatchObject({ outcome: 'loaded' });
    const runId = (outcome as { runId: string }).runId;
    const loaded = JSON.parse(
      h.logLines.find((line) => line.includes('"import.loaded"') && line.includes(runId))!,
    ) as Record<string, unknown>;
    expect(loaded.personIdsCarried).toBe('previous-key');
    expect(h.logLines.some((line) => line.includes('"import.person-ids-not-carried"'))).toBe(false);
    expect(await recordOf(h, PARTY, 'ERIN')).toEqual({ person_id: erin, carried_person_id: erin });
  });
});
