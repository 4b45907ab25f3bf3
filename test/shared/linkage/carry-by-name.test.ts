import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { exportCurated } from '../../../shared/curated/curated-export.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { SecretVersionGoneError, type SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, personOf, recordOf } from '../../support/linked-people.js';

/**
 * A record without an identifier to go by is carried its predecessor's person id by its own
 * matching values — date of birth, family name, first three letters — within the party's
 * dataset (shared/imports/snapshot-writer.ts, CarriedPersonIds), where one previous record and
 * one new record hold them and no identifier of the new record says otherwise.
 */

const DATASET = 'multiple-disadvantage-indicators';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

async function importFile(h: ImportHarness, blobName: string, lines: readonly string[]): Promise<string> {
  const outcome = await h.importFile(blobName, lines.join('\n'));
  expect(outcome.outcome).toBe('loaded');
  return (outcome as { runId: string }).runId;
}

async function personIdsByFamily(h: ImportHarness, party: string): Promise<Map<string, string | null>> {
  const rows = await h.store.db
    .selectFrom('source_record')
    .select(['family_name', 'person_id'])
    .where('party_id', '=', party)
    .execute();
  return new Map(rows.map((r) => [r.family_name!, r.person_id]));
}

describe('a Housing-only person without identifiers keeps their id across snapshots', () => {
  let h: ImportHarness;
  let container: string;
  beforeEach(async () => {
    h = await createImportHarness();
    container = await h.exportContainer();
  });
  afterEach(() => h?.close());

  const family = (i: number) =>
    `Fam${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;
  // Housing's register: 30 people in temporary accommodation, no NHS or NI number (as most rows).
  const housing = (order: number[]) => [
    'firstName,lastName,dateOfBirth,homePostcode,inTemporaryAccommodation',
    ...order.map((i) => `Sam,${family(i)},2011-02-${String(1 + (i % 28)).padStart(2, '0')},ME14 1XX,Y`),
  ];
  const exportNow = async (consents: StoreConsentRegister, day: string) => {
    const [summary] = await exportCurated(
      h.exportDeps(container, { consents, now: () => new Date(`${day}T09:00:00.000Z`) }),
    );
    return summary!;
  };

  it('stays opted out, and out of the planning export, after Housing re-sends the same people', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => i);
    await linkAfterImport(
      h.linkDeps(),
      await importFile(h, `la-housing/${DATASET}/extract-2026-10-01.csv`, housing(ids)),
    );
    const before = await personIdsByFamily(h, 'la-housing');
    expect(new Set(before.values()).size).toBe(30);
    const consents = new StoreConsentRegister(h.store);
    const optedOut = ids.slice(0, 12).map((i) => before.get(family(i).toUpperCase())!);
    for (const subjectKey of optedOut) {
      await consents.record({ subjectKey, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });
    }
    expect((await exportNow(consents, '2026-11-01')).peopleCounted).toBe(18);

    // Next month's extract: the same 30 people, the same values, rows in another order.
    const next = await importFile(h, `la-housing/${DATASET}/extract-2026-11-01.csv`, housing([...ids].reverse()));
    // Carried at load: lookups find them at once.
    expect(await personIdsByFamily(h, 'la-housing')).toEqual(before);
    const marked = await h.store.db
      .selectFrom('source_record')
      .select('carried_person_id')
      .where('party_id', '=', 'la-housing')
      .execute();
    expect(marked.map((r) => r.carried_person_id).sort()).toEqual([...before.values()].sort());

    const summary = await linkAfterImport(h.linkDeps(), next);
    expect(summary?.consentEventsCarried).toBe(0);
    expect(await personIdsByFamily(h, 'la-housing')).toEqual(before);
    for (const id of optedOut) expect(await consents.isOptedOut(id, T)).toBe(true);
    expect((await exportNow(consents, '2026-12-01')).peopleCounted).toBe(18);
  });
});

describe('no carry by name where the name and date of birth do not tell one person', () => {
  let h: ImportHarness;
  const header = 'firstName,lastName,dateOfBirth,homePostcode,inRentArrears';
  const housing = (name: string, lines: readonly string[]) =>
    importFile(h, `la-housing/${DATASET}/${name}`, [header, ...lines]);

  beforeAll(async () => (h = await createImportHarness()));
  afterAll(async () => h.close());

  it('carries neither of two twins of the same name, and carries the person beside them', async () => {
    await linkAfterImport(
      h.linkDeps(),
      await housing('extract-2026-03-01.csv', [
        'Alex,Twin,2014-06-06,ME1 1AA,N',
        'Alex,Twin,2014-06-06,ME1 1AA,Y',
        'Ann,Solo,1990-01-01,ME2 2BB,N',
      ]),
    );
    const twins = (
      await h.store.db.selectFrom('source_record').select('person_id').where('family_name', '=', 'TWIN').execute()
    ).map((r) => r.person_id!);
    expect(new Set(twins).size).toBe(2);
    const ann = await personOf(h, 'la-housing', 'ANN');

    const second = await housing('extract-2026-04-01.csv', [
      'Alex,Twin,2014-06-06,ME1 1AA,Y',
      'Alex,Twin,2014-06-06,ME1 1AA,N',
      'Ann,Solo,1990-01-01,ME2 2BB,N',
    ]);
    const carried = await h.store.db
      .selectFrom('source_record')
      .select(['person_id', 'carried_person_id'])
      .where('family_name', '=', 'TWIN')
      .execute();
    expect(carried).toEqual([
      { person_id: null, carried_person_id: null },
      { person_id: null, carried_person_id: null },
    ]);
    expect(await recordOf(h, 'la-housing', 'ANN')).toEqual({ person_id: ann, carried_person_id: ann });
    await linkAfterImport(h.linkDeps(), second);
  });

  it('carries nothing to one twin sent alone (two predecessors), nor to a name sent twice (two successors)', async () => {
    const ann = await personOf(h, 'la-housing', 'ANN');
    await linkAfterImport(
      h.linkDeps(),
      await housing('extract-2026-05-01.csv', ['Alex,Twin,2014-06-06,ME1 1AA,Y', 'Ann,Solo,1990-01-01,ME2 2BB,N']),
    );
    expect((await recordOf(h, 'la-housing', 'ALEX')).carried_person_id).toBeNull();
    const alex = await personOf(h, 'la-housing', 'ALEX');
    expect(await personOf(h, 'la-housing', 'ANN')).toBe(ann);

    await housing('extract-2026-06-01.csv', [
      'Alex,Twin,2014-06-06,ME1 1AA,Y',
      'Ann,Solo,1990-01-01,ME2 2BB,N',
      'Ann,Solo,1990-01-01,ME2 2BB,Y',
    ]);
    expect(await recordOf(h, 'la-housing', 'ALEX')).toEqual({ person_id: alex, carried_person_id: alex });
    const anns = await h.store.db
      .selectFrom('source_record')
      .select(['person_id', 'carried_person_id'])
      .where('given_name', '=', 'ANN')
      .execute();
    expect(anns).toEqual([
      { person_id: null, carried_person_id: null },
      { person_id: null, carried_person_id: null },
    ]);
  });
});

describe('no carry by name onto a record whose identifier contradicts the person', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const party = 'la-childrens-social-care';
  const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
  const N1 = nhs(910);
  const N2 = nhs(920);

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it('gives Pat (another NHS number) and Rae (another system id) none of the previous ids, only the opt-outs, and Sam his id', async () => {
    await linkAfterImport(
      h.linkDeps(),
      await importFile(h, `${party}/${DATASET}/extract-2026-03-01.csv`, [
        header,
        `Pat,Ash,2012-01-01,ME1 1AA,${N1},SC-1,N`,
        'Rae,Bay,2013-02-02,ME2 2BB,,SC-3,N',
        'Sam,Cole,2014-03-03,ME3 3AB,,,N',
      ]),
    );
    const before = new Map<string, string>();
    for (const given of ['PAT', 'RAE', 'SAM']) before.set(given, await personOf(h, party, given));
    for (const id of before.values()) {
      await consents.record({ subjectKey: id, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });
    }

    // The same names and dates of birth; identifiers the previous snapshot did not hold.
    const second = await importFile(h, `${party}/${DATASET}/extract-2026-04-01.csv`, [
      header,
      `Pat,Ash,2012-01-01,ME1 1AA,${N2},,N`,
      'Rae,Bay,2013-02-02,ME2 2BB,,SC-9,N',
      'Sam,Cole,2014-03-03,ME3 3AB,,,N',
    ]);
    // Not carried any of the previous people's ids; but each may be one of the opted-out people
    // the carry could not follow, so each gets a new id holding a copy of their opt-outs
    // (opt-out-successors.ts).
    for (const given of ['PAT', 'RAE']) {
      const record = await recordOf(h, party, given);
      expect([...before.values()]).not.toContain(record.person_id);
      expect(record.carried_person_id).toBe(record.person_id);
    }
    expect(await recordOf(h, party, 'SAM')).toEqual({
      person_id: before.get('SAM'),
      carried_person_id: before.get('SAM'),
    });

    await linkAfterImport(h.linkDeps(), second);
    expect(await personOf(h, party, 'SAM')).toBe(before.get('SAM'));
    expect(await consents.isOptedOut(before.get('SAM')!, T)).toBe(true);
    for (const given of ['PAT', 'RAE']) {
      const id = await personOf(h, party, given);
      expect([...before.values()]).not.toContain(id);
      // Failing closed: a record that may be an opted-out person is opted out.
      expect(await consents.isOptedOut(id, T)).toBe(true);
    }
  });
});

describe('carry by name across a key rotation', () => {
  let h: ImportHarness;
  const party = 'la-childrens-social-care';
  const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
  const N1 = nhs(940);
  const N2 = nhs(950);
  let sam = '';

  async function send(name: string, lines: readonly string[], secrets?: SecretSource): Promise<string> {
    const outcome = await h.importFile(
      `${party}/${DATASET}/${name}`,
      [header, ...lines].join('\n'),
      undefined,
      secrets === undefined ? undefined : { secrets },
    );
    expect(outcome.outcome).toBe('loaded');
    return (outcome as { runId: string }).runId;
  }
  const carriedBy = (runId: string) =>
    (
      JSON.parse(h.logLines.find((line) => line.includes('"import.loaded"') && line.includes(runId))!) as Record<
        string,
        unknown
      >
    ).personIdsCarried;

  beforeAll(async () => (h = await createImportHarness()));
  afterAll(async () => h.close());

  it('compares the identifiers under the previous key, and carries Sam but not Pat', async () => {
    await linkAfterImport(
      h.linkDeps(),
      await send('extract-2026-03-01.csv', [
        `Pat,Ash,2012-01-01,ME1 1AA,${N1},SC-1,N`,
        'Sam,Cole,2014-03-03,ME3 3AB,,,N',
      ]),
    );
    const pat = await personOf(h, party, 'PAT');
    sam = await personOf(h, party, 'SAM');
    h.secrets.rotate('pseudonymisation-key'); // the old version stays readable
    const second = await send('extract-2026-04-01.csv', [
      `Pat,Ash,2012-01-01,ME1 1AA,${N2},,N`,
      'Sam,Cole,2014-03-03,ME3 3AB,,,N',
    ]);
    expect(carriedBy(second)).toBe('previous-key');
    expect(await recordOf(h, party, 'SAM')).toEqual({ person_id: sam, carried_person_id: sam });
    expect(await recordOf(h, party, 'PAT')).toEqual({ person_id: null, carried_person_id: null });
    await linkAfterImport(h.linkDeps(), second);
    expect(await personOf(h, party, 'PAT')).not.toBe(pat);
  });

  it('carries only records without identifiers when the previous key is gone', async () => {
    const current = (await h.store.db.selectFrom('record_identifier').select('key_version').executeTakeFirstOrThrow())
      .key_version;
    h.secrets.rotate('pseudonymisation-key');
    const withoutOldKeys: SecretSource = {
      get: async (name, version) => {
        if (version === current) throw new SecretVersionGoneError(name);
        return h.secrets.get(name, version);
      },
    };
    const third = await send(
      'extract-2026-05-01.csv',
      [`Pat,Ash,2012-01-01,ME1 1AA,${N2},,N`, 'Sam,Cole,2014-03-03,ME3 3AB,,,Y'],
      withoutOldKeys,
    );
    expect(carriedBy(third)).toBe('previous-key-unavailable');
    expect(await recordOf(h, party, 'SAM')).toEqual({ person_id: sam, carried_person_id: sam });
    expect(await recordOf(h, party, 'PAT')).toEqual({ person_id: null, carried_person_id: null });
  });
});
