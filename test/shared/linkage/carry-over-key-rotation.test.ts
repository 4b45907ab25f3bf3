import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import {
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretSource,
} from '../../../shared/secrets/secret-source.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, recordOf } from '../../support/linked-people.js';

/**
 * Rotating the pseudonymisation key does not cost anyone known to one source their person id,
 * nor the consents and opt-outs kept under it: the first snapshot after the rotation also hashes
 * its identifiers under the previous snapshot's key, compares those with the previous snapshot,
 * and stores only the new key's hashes (shared/imports/snapshot-writer.ts, CarriedPersonIds).
 * Run on the import's own thread and on the row worker, which prepare rows apart.
 */

const DATASET = 'multiple-disadvantage-indicators';
const PARTY = 'la-childrens-social-care';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

describe.each([
  ['on the import thread', undefined],
  ['on the row worker', 0],
])('a key rotation keeps person ids (%s)', (_where, rowWorkerMinBytes) => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N1 = nhs(810);
  const N2 = nhs(820);
  const N9 = nhs(890);
  let erin = '';
  let unlinked = '';

  async function importFile(name: string, lines: readonly string[], secrets?: SecretSource): Promise<string> {
    const outcome = await h.importFile(
      `${PARTY}/${DATASET}/${name}`,
      [HEADER, ...lines].join('\n'),
      undefined,
      secrets === undefined ? undefined : { secrets },
    );
    expect(outcome.outcome).toBe('loaded');
    return (outcome as { runId: string }).runId;
  }

  const keyVersions = async () =>
    (await h.store.db.selectFrom('record_identifier').select('key_version').distinct().execute()).map(
      (row) => row.key_version,
    );
  const loadedLine = (runId: string) =>
    JSON.parse(h.logLines.find((line) => line.includes('"import.loaded"') && line.includes(runId))!) as Record<
      string,
      unknown
    >;

  beforeAll(async () => {
    h = await createImportHarness({ rowWorkerMinBytes });
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it('carries Erin her id and opt-out into the first snapshot under the new key', async () => {
    const first = await importFile('extract-2026-03-01.csv', [
      `Erin,Hale,2012-02-03,ME14 1XX,${N1},SC-1,Y`,
      `Finn,Moss,2013-04-05,ME15 2YY,${N2},SC-2,N`,
    ]);
    await linkAfterImport(h.linkDeps(), first);
    erin = (await recordOf(h, PARTY, 'ERIN')).person_id!;
    expect(erin).toBeTruthy();
    await consents.record({ subjectKey: erin, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });
    const [before] = await keyVersions();

    const rotated = h.secrets.rotate('pseudonymisation-key');
    const second = await importFile('extract-2026-04-01.csv', [
      `Erin,Hale,2012-02-03,ME20 9AA,${N1},SC-1,N`,
      // Finn's old system id with another NHS number: a contradiction, refused.
      `Quinn,Roe,2016-05-05,ME9 9ZZ,${nhs(830)},SC-2,N`,
      `Gail,Reed,2014-06-07,ME16 3ZZ,${N9},SC-3,N`,
    ]);
    expect(loadedLine(second).personIdsCarried).toBe('previous-key');
    expect(await recordOf(h, PARTY, 'ERIN')).toEqual({ person_id: erin, carried_person_id: erin });
    expect(await recordOf(h, PARTY, 'QUINN')).toEqual({ person_id: null, carried_person_id: null });
    expect(await recordOf(h, PARTY, 'GAIL')).toEqual({ person_id: null, carried_person_id: null });
    // Only the new key's pseudonyms are kept; the comparison's hashes went with its table.
    expect(await keyVersions()).toEqual([rotated]);
    expect(rotated).not.toBe(before);
    const temporary = h.store.sqlite!.prepare(`select name from temp.sqlite_master where name like 'snapshot_carry%'`);
    expect(temporary.all()).toEqual([]);

    await linkAfterImport(h.linkDeps(), second);
    expect((await recordOf(h, PARTY, 'ERIN')).person_id).toBe(erin);
    expect(await consents.isOptedOut(erin, T)).toBe(true);
    expect(h.logLines.join('\n')).not.toContain(N1);
  });

  it('fails the import, for the queue to retry, when the previous key cannot be read this time', async () => {
    const current = (await keyVersions())[0]!;
    const rotated = h.secrets.rotate('pseudonymisation-key');
    // Key Vault throttles, faults or cannot be reached once; the version itself is still there.
    let failures = 1;
    const flaky: SecretSource = {
      get: async (name, version) => {
        if (version === current && failures-- > 0) throw new SecretUnavailableError(name);
        return h.secrets.get(name, version);
      },
    };
    const name = `${PARTY}/${DATASET}/extract-2026-04-15.csv`;
    await h.drop(name, [HEADER, `Erin,Hale,2012-02-03,ME20 9AB,${N1},SC-1,N`].join('\n'));
    await expect(h.run(name, { secrets: flaky })).rejects.toMatchObject({ name: 'ImportFailed' });
    // Nothing committed: the previous snapshot, and Erin's id with it, are as they were.
    expect(await recordOf(h, PARTY, 'ERIN')).toEqual({ person_id: erin, carried_person_id: null });
    expect(await keyVersions()).toEqual([current]);
    expect(h.logLines.some((line) => line.includes('"import.previous-key-unreadable"') && line.includes(current))).toBe(
      true,
    );

    const retried = await h.run(name, { secrets: flaky });
    expect(retried.outcome).toBe('loaded');
    const runId = (retried as { runId: string }).runId;
    expect(loadedLine(runId).personIdsCarried).toBe('previous-key');
    expect(await recordOf(h, PARTY, 'ERIN')).toEqual({ person_id: erin, carried_person_id: erin });
    expect(await keyVersions()).toEqual([rotated]);
    await linkAfterImport(h.linkDeps(), runId);
    expect(await consents.isOptedOut(erin, T)).toBe(true);
  });

  it('says so, and carries no id, only the opt-out, when the previous key is gone (deleted or disabled)', async () => {
    const current = (await keyVersions())[0]!;
    h.secrets.rotate('pseudonymisation-key');
    const withoutOldKeys: SecretSource = {
      get: async (name, version) => {
        if (version === current) throw new SecretVersionGoneError(name);
        return h.secrets.get(name, version);
      },
    };
    const third = await importFile(
      'extract-2026-05-01.csv',
      [`Erin,Hale,2012-02-03,ME20 9AA,${N1},SC-1,N`],
      withoutOldKeys,
    );
    expect(loadedLine(third).personIdsCarried).toBe('previous-key-unavailable');
    expect(h.logLines.some((line) => line.includes('"import.person-ids-not-carried"') && line.includes(third))).toBe(
      true,
    );
    // Not her id: but she may be the Erin who opted out, so her record gets a new id holding a
    // copy of the opt-out (opt-out-successors.ts), never her consents.
    const record = await recordOf(h, PARTY, 'ERIN');
    expect(record.person_id).not.toBe(erin);
    expect(record.carried_person_id).toBe(record.person_id);
    expect(await consents.isOptedOut(record.person_id!, T)).toBe(true);
    expect(loadedLine(third).optOutSuccessors).toBe(1);
    unlinked = third;
  });

  it('goes on carrying under one key after the rotation', async () => {
    await linkAfterImport(h.linkDeps(), unlinked);
    const relinked = (await recordOf(h, PARTY, 'ERIN')).person_id!;
    const fourth = await importFile('extract-2026-06-01.csv', [`Erin,Hale,2012-02-03,ME20 9AA,${N1},SC-1,Y`]);
    expect(loadedLine(fourth).personIdsCarried).toBe('same-key');
    expect(await recordOf(h, PARTY, 'ERIN')).toEqual({ person_id: relinked, carried_person_id: relinked });
  });
});

describe('a key rotation, where the previous snapshot opens with records without identifiers', () => {
  let h: ImportHarness;
  beforeAll(async () => (h = await createImportHarness()));
  afterAll(async () => h.close());

  it("still finds that snapshot's key version, and carries Erin her id and opt-out", async () => {
    const consents = new StoreConsentRegister(h.store);
    const N1 = nhs(810);
    // Children the service knows by name and date of birth only, more than any sample of the
    // snapshot's first records would look at, then Erin with her NHS number.
    const noIds = Array.from({ length: 1500 }, (_, i) => {
      const born = new Date(Date.UTC(2005, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
      const letters = String.fromCharCode(65 + (i % 26)) + String.fromCharCode(65 + (Math.floor(i / 26) % 26));
      return `Child${letters},Smith${i},${born},ME14 1XX,,,N`;
    });
    const importFile = async (name: string, erinsPostcode: string) => {
      const lines = [HEADER, ...noIds, `Erin,Hale,2012-02-03,${erinsPostcode},${N1},SC-1,Y`];
      const outcome = await h.importFile(`${PARTY}/${DATASET}/${name}`, lines.join('\n'));
      expect(outcome.outcome).toBe('loaded');
      return (outcome as { runId: string }).runId;
    };
    const first = await importFile('extract-2026-03-01.csv', 'ME14 1XX');
    await linkAfterImport(h.linkDeps(), first);
    const erin = (await recordOf(h, PARTY, 'ERIN')).person_id!;
    expect(erin).toBeTruthy();
    await consents.record({ subjectKey: erin, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });

    h.secrets.rotate('pseudonymisation-key'); // the old version stays readable
    const second = await importFile('extract-2026-04-01.csv', 'ME20 9AA');
    const loaded = h.logLines.find((line) => line.includes('"import.loaded"') && line.includes(second))!;
    expect((JSON.parse(loaded) as Record<string, unknown>).personIdsCarried).toBe('previous-key');
    expect(h.logLines.some((line) => line.includes('"import.person-ids-not-carried"'))).toBe(false);
    expect(await recordOf(h, PARTY, 'ERIN')).toEqual({ person_id: erin, carried_person_id: erin });
    await linkAfterImport(h.linkDeps(), second);
    expect((await recordOf(h, PARTY, 'ERIN')).person_id).toBe(erin);
    expect(await consents.isOptedOut(erin, T)).toBe(true);
  });
});
