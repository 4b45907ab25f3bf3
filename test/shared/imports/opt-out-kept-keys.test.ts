import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import {
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretSource,
} from '../../../shared/secrets/secret-source.js';
import { nhs, personOf } from '../../support/linked-people.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

/**
 * The keys kept of an opted-out person whose last record a load removed, and what they reach
 * (shared/imports/opt-out-kept-keys.ts). The end-to-end case, over HTTP, is in
 * test/api/opt-out-across-parties.test.ts.
 */
describe('keys kept of an opted-out person no record holds', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeEach(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());

  async function send(party: string, name: string, lines: string[]): Promise<void> {
    await h.importAndLink(`${party}/${DATASET}/${name}`, [HEADER, ...lines].join('\n'));
  }
  const record = async (subjectKey: string, kind: 'opt-out' | 'consent') =>
    consents.record({
      subjectKey,
      kind,
      purposeId: kind === 'opt-out' ? null : 'homelessness-prevention',
      evidenceRef: 'evidence',
      by: dpo,
      at: new Date(),
    });
  const kept = () =>
    Promise.all([
      h.store.db.selectFrom('opt_out_kept_record').selectAll().execute(),
      h.store.db.selectFrom('opt_out_kept_identifier').selectAll().execute(),
    ]);

  it('keeps hashes and normalised keys only, and only of people with an opt-out in force', async () => {
    const mary = nhs(6101);
    await send('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${mary}`, `Peter,Brown,1975-07-08,ME17 4AA,`]);
    const maryId = await personOf(h, 'la-housing', 'MARY');
    await record(maryId, 'opt-out');
    // Peter has a consent, not an opt-out: nothing of his is kept when he leaves.
    await record(await personOf(h, 'la-housing', 'PETER'), 'consent');
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);

    const [records, identifiers] = await kept();
    expect(records.map((r) => r.person_id)).toEqual([maryId]);
    expect(identifiers).toHaveLength(1);
    expect(identifiers[0]).toMatchObject({ person_id: maryId, kind: 'nhs', key_version: expect.any(String) });
    expect(identifiers[0]!.hash).toMatch(/^[0-9a-f]{64}$/i);
    expect(JSON.stringify([records, identifiers])).not.toContain(mary);
  });

  it('keeps the keys of a record that leaves while another party still holds the person', async () => {
    const mary = nhs(6201);
    await send('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${mary}`]);
    await send('la-adult-social-care', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,`]);
    const maryId = await personOf(h, 'la-housing', 'MARY');
    await record(maryId, 'opt-out');
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    // Social care's record of her stays, and holds no NHS number: Housing's is the one to keep.
    expect(await personOf(h, 'la-adult-social-care', 'MARY')).toBe(maryId);
    const [records, identifiers] = await kept();
    expect(records.map((r) => r.person_id)).toEqual([maryId]);
    expect(identifiers.map((i) => [i.person_id, i.kind])).toEqual([[maryId, 'nhs']]);
  });

  it('reaches an arrival with no identifier by date of birth and family name, with the opt-out and never a consent', async () => {
    await send('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${nhs(6301)}`]);
    const maryId = await personOf(h, 'la-housing', 'MARY');
    await record(maryId, 'consent');
    await record(maryId, 'opt-out');
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    // Social care has her without an NHS number, her given name spelled out, at another address.
    await send('la-childrens-social-care', 'a.csv', ['Marianne,Green,1980-05-06,ME20 6DD,', 'Ann,Jones,1990-01-02,,']);
    const arrival = await personOf(h, 'la-childrens-social-care', 'MARIANNE');
    expect(arrival).not.toBe(maryId);
    expect(await consents.isOptedOut(arrival, new Date())).toBe(true);
    expect(await consents.currentConsent(arrival, 'homelessness-prevention', new Date())).toBe(false);
    // Someone who resembles her in nothing is not touched.
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'ANN'), new Date())).toBe(false);
    const loaded = h.logLines.filter((line) => line.includes('"import.loaded"'));
    expect(loaded.map((line) => (JSON.parse(line) as { optOutArrivals: number }).optOutArrivals)).toEqual([0, 0, 1]);
  });

  it('reaches a record another party sent before the person left, that no pass has linked yet', async () => {
    const mary = nhs(6401);
    await send('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${mary}`]);
    await record(await personOf(h, 'la-housing', 'MARY'), 'opt-out');
    // Social care's extract with her lands first, but Housing's next one (without her) is loaded
    // before the linking pass of social care's has run.
    const care = await h.importFile(
      `la-childrens-social-care/${DATASET}/a.csv`,
      [HEADER, `Mary,Green,1980-05-06,ME20 6DD,${mary}`].join('\n'),
    );
    expect(care.outcome).toBe('loaded');
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    await linkAfterImport(h.linkDeps(), (care as { runId: string }).runId);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'MARY'), new Date())).toBe(true);
  });

  it('reaches an arrival by the NHS number a record held that another party dropped first', async () => {
    const mary = nhs(6501);
    // Social care holds her NHS number; Housing, as most of its rows, holds none. One person.
    await send('la-adult-social-care', 'a.csv', [`Mary,Green,1980-05-06,ME15 6DD,${mary}`]);
    await send('la-housing', 'a.csv', ['Mary,Green,1980-05-06,ME15 2YY,']);
    const maryId = await personOf(h, 'la-housing', 'MARY');
    expect(await personOf(h, 'la-adult-social-care', 'MARY')).toBe(maryId);
    await record(maryId, 'opt-out');
    // Social care closes her case first, then Housing's next extract no longer holds her.
    await send('la-adult-social-care', 'b.csv', ['Peter,Brown,1975-07-08,ME17 4AA,']);
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    // Children's social care sends her (a parent now) under her new name, by that NHS number.
    await send('la-childrens-social-care', 'a.csv', [`Marianne,Jones,1980-05-07,ME19 9ZZ,${mary}`]);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'MARIANNE'), new Date())).toBe(true);
  });

  it('deletes the keys kept of an opt-out that a withdrawal of its merged duplicate ends', async () => {
    const mary = nhs(6601);
    // Housing holds her with her NHS number; adult social care under her married name, without
    // it: two people, each with an opt-out Housing recorded.
    await send('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${mary}`]);
    await send('la-adult-social-care', 'a.csv', ['Mary,Smith,1980-05-06,ME17 4AA,']);
    const housingMary = await personOf(h, 'la-housing', 'MARY');
    const careMary = await personOf(h, 'la-adult-social-care', 'MARY');
    expect(careMary).not.toBe(housingMary);
    await record(housingMary, 'opt-out');
    const careOptOut = await record(careMary, 'opt-out');
    // Housing drops her; children's social care sends her with both her NHS number and her
    // married name, and the pass makes her one person holding both opt-outs.
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    await send('la-childrens-social-care', 'a.csv', [`Mary,Smith,1980-05-06,ME17 4AA,${mary}`]);
    const merged = await personOf(h, 'la-childrens-social-care', 'MARY');
    expect(await personOf(h, 'la-adult-social-care', 'MARY')).toBe(merged);
    expect((await kept())[0].map((r) => r.person_id)).toEqual([housingMary]);

    // One withdrawal ends both (README: one withdrawal always ends the party's opt-out).
    await consents.withdraw(careOptOut.consentId, dpo, new Date());
    expect(await consents.isOptedOut(merged, new Date())).toBe(false);
    // Nothing is left in force for her, so nothing of her may stay kept.
    expect(await kept()).toEqual([[], []]);
  });

  it('keeps no more of her when the same extract is sent again and again', async () => {
    const mary = nhs(6701);
    // Her row twice (a tenancy and a TA placement): which new row is whose cannot be told, so
    // every snapshot gives both new carried ids holding her opt-out, and her old id is left.
    const lines = [`Mary,Green,1980-05-06,ME15 2YY,${mary}`, `Mary,Green,1980-05-06,ME15 2YY,${mary}`];
    await send('la-housing', 'a.csv', lines);
    await record(await personOf(h, 'la-housing', 'MARY'), 'opt-out');
    const counts: number[][] = [];
    for (const day of [1, 2, 3, 4]) {
      // Each day's extract differs elsewhere (else it is the same file, a duplicate).
      await send('la-housing', `day${day}.csv`, [...lines, `Peter,Brown,1975-07-0${day},ME17 4AA,`]);
      const [records, identifiers] = await kept();
      counts.push([records.length, identifiers.length]);
    }
    // Her keys, once: not two more rows a day for as long as she is sent.
    expect(counts).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  it("reaches no record of another agreement's dataset", async () => {
    await send('la-housing', 'a.csv', ['Mary,Green,1980-05-06,ME15 2YY,']);
    await record(await personOf(h, 'la-housing', 'MARY'), 'opt-out');
    await send('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    // A namesake on a Keyways council's register: people are formed within an agreement.
    const keyways = await h.importFile(
      'kettering-borough-council/keyways-housing-register/a.csv',
      [
        'firstName,lastName,dateOfBirth,nationalInsuranceNumber,address,telephoneNumber',
        'Mary,Green,06/05/1980,ZN984851D,"1 High Street, Kettering",01536 000000',
      ].join('\n'),
    );
    expect(keyways.outcome).toBe('loaded');
    await linkAfterImport(h.linkDeps(), (keyways as { runId: string }).runId);
    const namesake = await personOf(h, 'kettering-borough-council', 'MARY');
    expect(await consents.isOptedOut(namesake, new Date())).toBe(false);
  });
});

/**
 * Kept keys across a rotation of `pseudonymisation-key`: a kept NHS-number hash was made under
 * the key of its day, an arrival's under today's. The load hashes the arrival's identifiers under
 * every version the dataset's kept hashes use as well, for that comparison only. Run on the
 * import's own thread and on the row worker, which prepare rows apart.
 */
describe.each([
  ['on the import thread', undefined],
  ['on the row worker', 0],
])('keys kept before a key rotation (%s)', (_where, rowWorkerMinBytes) => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeEach(async () => {
    h = await createImportHarness({ rowWorkerMinBytes });
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());

  async function load(party: string, name: string, lines: string[], secrets?: SecretSource): Promise<string> {
    const outcome = await h.importFile(
      `${party}/${DATASET}/${name}`,
      [HEADER, ...lines].join('\n'),
      undefined,
      secrets === undefined ? undefined : { secrets },
    );
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ outcome: 'loaded' });
    const runId = (outcome as { runId: string }).runId;
    await linkAfterImport(h.linkDeps(), runId);
    return runId;
  }
  const loadedLine = (runId: string) =>
    JSON.parse(h.logLines.find((line) => line.includes('"import.loaded"') && line.includes(runId))!) as Record<
      string,
      unknown
    >;
  const keptVersions = async () =>
    (await h.store.db.selectFrom('opt_out_kept_identifier').select('key_version').distinct().execute()).map(
      (row) => row.key_version,
    );

  /** Housing holds Mary with her NHS number; she opts out; Housing drops her: her keys are kept. */
  async function keptMary(mary: string): Promise<string> {
    await load('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${mary}`]);
    await consents.record({
      subjectKey: await personOf(h, 'la-housing', 'MARY'),
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'evidence',
      by: dpo,
      at: new Date(),
    });
    await load('la-housing', 'b.csv', ['Susan,White,1960-09-10,ME18 5BB,']);
    const versions = await keptVersions();
    expect(versions).toHaveLength(1);
    return versions[0]!;
  }
  /** Mary married (another surname), her date of birth corrected, at another address. */
  const arrival = (mary: string) => [`Mary,Clarke,1980-05-16,ME19 9ZZ,${mary}`, 'Ann,Jones,1990-01-02,ME20 1AA,'];

  it('reaches her by her NHS number alone when she arrives under the new key', async () => {
    const mary = nhs(7101);
    const keptUnder = await keptMary(mary);
    const rotated = h.secrets.rotate('pseudonymisation-key');
    const runId = await load('la-childrens-social-care', 'a.csv', arrival(mary));

    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'MARY'), new Date())).toBe(true);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'ANN'), new Date())).toBe(false);
    expect(loadedLine(runId).optOutArrivals).toBe(1);
    // The old key's hashes were for the comparison only: the store holds the new key's.
    const stored = await h.store.db
      .selectFrom('record_identifier as ri')
      .innerJoin('source_record as sr', 'sr.id', 'ri.record_id')
      .select('ri.key_version')
      .distinct()
      .where('sr.party_id', '=', 'la-childrens-social-care')
      .execute();
    expect(stored.map((row) => row.key_version)).toEqual([rotated]);
    expect(await keptVersions()).toEqual([keptUnder]);
    const temporary = h.store.sqlite!.prepare(`select name from temp.sqlite_master where name like 'snapshot_%'`);
    expect(temporary.all()).toEqual([]);
    expect(h.logLines.join('\n')).not.toContain(mary);
  });

  it('reaches her over two rotations, the arriving party’s previous snapshot under the key between', async () => {
    const mary = nhs(7201);
    await keptMary(mary);
    h.secrets.rotate('pseudonymisation-key');
    // Children's social care's first snapshot, without her, under the second key.
    const peter = `Peter,Brown,1975-07-08,ME17 4AA,${nhs(7202)}`;
    await load('la-childrens-social-care', 'a.csv', [peter]);
    h.secrets.rotate('pseudonymisation-key');
    const runId = await load('la-childrens-social-care', 'b.csv', [peter, ...arrival(mary)]);
    expect(loadedLine(runId).personIdsCarried).toBe('previous-key');
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'MARY'), new Date())).toBe(true);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'PETER'), new Date())).toBe(false);
  });

  it('fails the import, for the queue to retry, when the kept keys’ version cannot be read this time', async () => {
    const mary = nhs(7301);
    const keptUnder = await keptMary(mary);
    h.secrets.rotate('pseudonymisation-key');
    // Key Vault faults once; the version itself is still there.
    let failures = 1;
    const flaky: SecretSource = {
      get: async (name, version) => {
        if (version === keptUnder && failures-- > 0) throw new SecretUnavailableError(name);
        return h.secrets.get(name, version);
      },
    };
    const name = `la-childrens-social-care/${DATASET}/a.csv`;
    await h.drop(name, [HEADER, ...arrival(mary)].join('\n'));
    await expect(h.run(name, { secrets: flaky })).rejects.toMatchObject({ name: 'ImportFailed' });
    // Nothing committed: Mary was not shared as someone new.
    expect(
      await h.store.db.selectFrom('source_record').select('id').where('given_name', '=', 'MARY').execute(),
    ).toEqual([]);
    expect(
      h.logLines.some((line) => line.includes('"import.previous-key-unreadable"') && line.includes(keptUnder)),
    ).toBe(true);

    const retried = await h.run(name, { secrets: flaky });
    expect(retried.outcome).toBe('loaded');
    await linkAfterImport(h.linkDeps(), (retried as { runId: string }).runId);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'MARY'), new Date())).toBe(true);
  });

  // An opt-out by names alone for nobody held keeps their names key hashed (consents-api.ts),
  // which no record's identifier meets: a load has no need of its version.
  it('loads while the version only an opt-out’s names key is kept under cannot be read', async () => {
    const secret = await h.secrets.get('pseudonymisation-key');
    const current = new Pseudonymiser({ keyVersion: secret.version, key: Buffer.from(secret.value, 'base64') });
    const hash = current.hash('dob-name', '1980-05-06|GREEN|MAR');
    const key = { datasetId: DATASET, kind: 'dob-name', hash, keyVersion: secret.version, hashes: [hash] };
    await consents.recordUnheld({
      personId: randomUUID(),
      keys: [key],
      evidenceRef: 'evidence',
      by: dpo,
      at: new Date(),
    });
    h.secrets.rotate('pseudonymisation-key');
    const down: SecretSource = {
      get: async (name, version) => {
        if (version === secret.version) throw new SecretUnavailableError(name);
        return h.secrets.get(name, version);
      },
    };
    await load('la-childrens-social-care', 'a.csv', arrival(nhs(7601)), down);
    expect(h.logLines.some((line) => line.includes('"import.previous-key-unreadable"'))).toBe(false);
  });

  it('loads, and says which version by its id, when the kept keys’ version is gone', async () => {
    const mary = nhs(7401);
    const keptUnder = await keptMary(mary);
    h.secrets.rotate('pseudonymisation-key');
    const withoutOldKeys: SecretSource = {
      get: async (name, version) => {
        if (version === keptUnder) throw new SecretVersionGoneError(name);
        return h.secrets.get(name, version);
      },
    };
    // Her names and date of birth still reach her; only a kept hash could not be compared.
    await load('la-childrens-social-care', 'a.csv', ['Mary,Green,1980-05-06,ME19 9ZZ,'], withoutOldKeys);
    expect(await consents.isOptedOut(await personOf(h, 'la-childrens-social-care', 'MARY'), new Date())).toBe(true);
    const unavailable = h.logLines.filter((line) => line.includes('"import.kept-key-unavailable"'));
    expect(unavailable).toHaveLength(1);
    expect(JSON.parse(unavailable[0]!)).toMatchObject({ datasetId: DATASET, keyVersion: keptUnder });
    expect(unavailable[0]).not.toContain(mary);
    expect(unavailable[0]).not.toContain('GREEN');
  });

  it('says so by the version’s id too when the gone version is also the previous snapshot’s', async () => {
    const mary = nhs(7501);
    const peter = `Peter,Brown,1975-07-08,ME17 4AA,${nhs(7502)}`;
    // Housing's snapshots hold an NHS number besides Mary's, so the one that drops her is hashed
    // under the key her keys are kept under, as the carry's previous snapshot is next time.
    await load('la-housing', 'a.csv', [`Mary,Green,1980-05-06,ME15 2YY,${mary}`, peter]);
    await consents.record({
      subjectKey: await personOf(h, 'la-housing', 'MARY'),
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'evidence',
      by: dpo,
      at: new Date(),
    });
    await load('la-housing', 'b.csv', [peter]);
    const [keptUnder] = await keptVersions();
    h.secrets.rotate('pseudonymisation-key');
    const withoutOldKeys: SecretSource = {
      get: async (name, version) => {
        if (version === keptUnder) throw new SecretVersionGoneError(name);
        return h.secrets.get(name, version);
      },
    };
    await load('la-housing', 'c.csv', [peter, 'Mary,Green,1980-05-06,ME19 9ZZ,'], withoutOldKeys);
    expect(await consents.isOptedOut(await personOf(h, 'la-housing', 'MARY'), new Date())).toBe(true);
    // The operator learns which version to enable again for the kept keys, not only that
    // person ids were not carried (a line that names the current version).
    const unavailable = h.logLines.filter((line) => line.includes('"import.kept-key-unavailable"'));
    expect(unavailable.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ datasetId: DATASET, keyVersion: keptUnder }),
    ]);
  });
});
