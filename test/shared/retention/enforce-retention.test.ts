import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { enforceRetention, RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { SecretUnavailableError } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, orphanIdentifiers, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs, personOf } from '../../support/linked-people.js';

/**
 * The ISA's joint-system rule, as agreements/social-care-education-housing.yaml encodes it: "Data
 * will only be held on the joint system whilst clients of Housing are in temporary accommodation"
 * (keepWhile inTemporaryAccommodation = Y, a field only la-housing supplies).
 */
const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';

const ALICE = nhs(410);
const BOB = nhs(420);
const EVE = nhs(430);

const HOUSING = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
  `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`,
  // Left temporary accommodation.
  `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
];
const SOCIAL_CARE = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
  `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},SC-1,Y`,
  `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,N`,
  // Known to social care only: never a client of Housing.
  `Eve,Brown,2009-09-09,ME17 4AA,${EVE},SC-3,N`,
];
const EDUCATION = [
  'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
  'Alice,Smith,2012-03-04,ME14 1XX,ED-1,Y',
];

async function recordsByParty(h: ImportHarness): Promise<string[]> {
  const rows = await h.store.db
    .selectFrom('source_record')
    .select(['party_id', 'given_name'])
    .where('dataset_id', '=', DATASET)
    .orderBy('party_id')
    .orderBy('given_name')
    .execute();
  return rows.map((r) => `${r.party_id}:${r.given_name}`);
}

/** A pass that deletes nothing and logs why it waited. */
async function expectSkipped(h: ImportHarness, reason: string): Promise<void> {
  const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
  expect(summary).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
  expect(h.logLines.some((l) => l.includes(reason))).toBe(true);
}

async function retentionEntries(h: ImportHarness) {
  return h.store.db
    .selectFrom('access_log')
    .select(['subject_ref', 'datasets', 'fields', 'decision', 'reason_code', 'party_id', 'client_id'])
    .where('action', '=', RETENTION_ACTION)
    .orderBy('seq')
    .execute();
}

describe('joint-system retention: kept only while Housing says temporary accommodation', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE],
      ['la-education', EDUCATION],
    ]);
  });
  afterAll(async () => h.close());

  it('deletes nothing before linking has placed the records in people', async () => {
    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(summary).toMatchObject({ datasetId: DATASET, outcome: 'skipped', peopleDeleted: 0, recordsDeleted: 0 });
    expect(await recordsByParty(h)).toHaveLength(6);
    expect(await retentionEntries(h)).toEqual([]);
  });

  it("keeps a record waiting for an officer's review while its other record is kept", async () => {
    await linkPendingRecords(h.linkDeps());
    const alice = await h.store.db
      .selectFrom('source_record')
      .select('id')
      .where('party_id', '=', 'la-housing')
      .where('given_name', '=', 'ALICE')
      .executeTakeFirstOrThrow();
    const eve = await h.store.db
      .selectFrom('source_record')
      .select('id')
      .where('given_name', '=', 'EVE')
      .executeTakeFirstOrThrow();
    const linkId = await candidateLink(h, alice.id, eve.id);
    const bob = await personOf(h, 'la-housing', 'BOB');

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    // Bob's records from Housing and social care go; Eve's stays while her candidate link waits.
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 2 });
    expect(await recordsByParty(h)).toEqual([
      'la-childrens-social-care:ALICE',
      'la-childrens-social-care:EVE',
      'la-education:ALICE',
      'la-housing:ALICE',
    ]);
    expect(await orphanIdentifiers(h.store)).toEqual([]);
    // One entry for Bob, by person, naming the dataset and no field.
    expect(await retentionEntries(h)).toEqual([
      {
        subject_ref: bob,
        datasets: JSON.stringify([DATASET]),
        fields: '[]',
        decision: 'allow',
        reason_code: 'retention-keep-while',
        party_id: 'joint-system',
        client_id: 'retention',
      },
    ]);

    // The rule waits for the linking pass over the people Bob's deletion may have changed.
    await expectSkipped(h, 'records-not-linked');
    await linkPendingRecords(h.linkDeps());

    // The officer rejects the candidate: Eve is no longer under review, and goes on the next pass.
    await h.store.db.updateTable('record_link').set({ status: 'rejected' }).where('id', '=', linkId).execute();
    const [next] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(next).toMatchObject({ peopleDeleted: 1, recordsDeleted: 1 });
    expect(await recordsByParty(h)).toEqual([
      'la-childrens-social-care:ALICE',
      'la-education:ALICE',
      'la-housing:ALICE',
    ]);
    expect(await retentionEntries(h)).toHaveLength(2);
    // No link is left pointing at a deleted record (Eve's rejected candidate went with her).
    const links = await h.store.db.selectFrom('record_link').select(['record_a', 'record_b']).execute();
    const held = new Set((await h.store.db.selectFrom('source_record').select('id').execute()).map((r) => r.id));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !held.has(l.record_a) || !held.has(l.record_b))).toEqual([]);

    // Nothing left to delete: no more entries.
    const [again] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(again).toMatchObject({ peopleDeleted: 0, recordsDeleted: 0 });
    expect(await retentionEntries(h)).toHaveLength(2);
  });

  it('writes no personal value to the log lines', () => {
    const lines = h.logLines.filter((l) => l.includes('"retention.'));
    expect(lines.length).toBeGreaterThan(0);
    for (const value of [ALICE, BOB, EVE, 'Smith', 'SMITH', 'Jones', 'Brown', 'ME15'])
      for (const line of lines) expect(line).not.toContain(value);
  });
});

/** A link from the probabilistic tier: waiting for an officer, or confirmed by one. */
async function candidateLink(
  h: ImportHarness,
  recordA: string,
  recordB: string,
  status: 'candidate' | 'confirmed' = 'candidate',
): Promise<string> {
  const id = randomUUID();
  await h.store.db
    .insertInto('record_link')
    .values({
      id,
      agreement_id: AGREEMENT,
      source_a: `la-housing/${DATASET}`,
      source_b: `la-childrens-social-care/${DATASET}`,
      record_a: recordA,
      record_b: recordB,
      tier: 5,
      rule: 'probabilistic',
      score: 0.9,
      status,
      pair_key: null,
      first_run_id: 'test',
      last_run_id: 'test',
      created_at: new Date().toISOString(),
    })
    .execute();
  return id;
}

/**
 * Records a national data opt-out (or a consent to the homelessness-prevention purpose) in force
 * for the person of Housing's record of Bob; returns its consent id.
 */
async function decideForBob(h: ImportHarness, kind: 'opt-out' | 'consent', partyId = 'la-housing'): Promise<string> {
  const recorded = await new StoreConsentRegister(h.store).record({
    subjectKey: await personOf(h, 'la-housing', 'BOB'),
    kind,
    purposeId: kind === 'opt-out' ? null : 'homelessness-prevention',
    evidenceRef: null,
    by: { partyId, clientId: 'test' },
    at: new Date(),
  });
  return recorded.consentId;
}

async function keptKeys(h: ImportHarness) {
  const [records, identifiers] = await Promise.all([
    h.store.db.selectFrom('opt_out_kept_record').selectAll().orderBy('record_id').execute(),
    h.store.db.selectFrom('opt_out_kept_identifier').selectAll().orderBy('kind').execute(),
  ]);
  return { records, identifiers };
}

async function recordId(h: ImportHarness, party: string, given: string): Promise<string> {
  const row = await h.store.db
    .selectFrom('source_record')
    .select('id')
    .where('party_id', '=', party)
    .where('given_name', '=', given)
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('joint-system retention keeps what it cannot judge', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h.close());

  it('keeps a person an officer has confirmed as someone kept, before a pass has made them one', async () => {
    await importEach(h, [
      ['la-housing', HOUSING.slice(0, 2)],
      ['la-childrens-social-care', [SOCIAL_CARE[0]!, SOCIAL_CARE[3]!]],
    ]);
    await linkPendingRecords(h.linkDeps());
    // The review's own pass failed (or has not run): the decision stands, the people are two.
    await candidateLink(
      h,
      await recordId(h, 'la-housing', 'ALICE'),
      await recordId(h, 'la-childrens-social-care', 'EVE'),
      'confirmed',
    );

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:EVE', 'la-housing:ALICE']);
  });

  it('keeps a person whose Housing record holds the field as another type than it now stores', async () => {
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE],
    ]);
    await linkPendingRecords(h.linkDeps());
    // Loaded while the agreement typed the field as text: "Y", not the flag's true.
    await sql`update source_record set attributes = json_set(attributes, '$.inTemporaryAccommodation', 'Y')
      where party_id = 'la-housing' and given_name = 'ALICE'`.execute(h.store.db);

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    // Bob (N) and Eve (no Housing record) go; Alice cannot be judged, so she stays.
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 2 });
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:ALICE', 'la-housing:ALICE']);
  });

  it('keeps all of a person whose record waits for review against a kept one, not only that record', async () => {
    await importEach(h, [
      ['la-housing', HOUSING.slice(0, 2)],
      ['la-childrens-social-care', [SOCIAL_CARE[0]!, SOCIAL_CARE[3]!]],
      ['la-education', [EDUCATION[0]!, 'Eve,Brown,2009-09-09,ME17 4AA,ED-3,N']],
    ]);
    await linkPendingRecords(h.linkDeps());
    await candidateLink(
      h,
      await recordId(h, 'la-housing', 'ALICE'),
      await recordId(h, 'la-childrens-social-care', 'EVE'),
    );

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:EVE', 'la-education:EVE', 'la-housing:ALICE']);
  });

  it('waits while a Housing record is not yet linked: it may be the one that keeps someone', async () => {
    await importEach(h, [
      ['la-housing', HOUSING.slice(0, 2)],
      ['la-childrens-social-care', SOCIAL_CARE.slice(0, 2)],
    ]);
    await linkPendingRecords(h.linkDeps());
    // Housing's next snapshot: Alice still in temporary accommodation, but sent without her NHS
    // number, so her person id is not carried over: no person until the next linking pass.
    expect(
      (
        await h.importFile(
          `la-housing/${DATASET}/b.csv`,
          [HOUSING[0], 'Alice,Smith,2012-03-04,ME14 1XX,,Y'].join('\n'),
          // Dated tomorrow: after the first snapshot (dated its upload day), and not in the future
          // beyond the day's grace an import allows.
          { asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10) },
        )
      ).outcome,
    ).toBe('loaded');

    await expectSkipped(h, 'records-not-linked');
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:ALICE', 'la-housing:ALICE']);
  });

  it('keeps people along a chain of candidates that reaches a kept person', async () => {
    await importEach(h, [
      ['la-housing', HOUSING.slice(0, 2)],
      ['la-childrens-social-care', [SOCIAL_CARE[0]!, SOCIAL_CARE[3]!]],
      ['la-education', [EDUCATION[0]!, 'Frank,Green,2008-08-08,ME18 5BB,ED-9,N']],
    ]);
    await linkPendingRecords(h.linkDeps());
    const eve = await recordId(h, 'la-childrens-social-care', 'EVE');
    await candidateLink(h, await recordId(h, 'la-housing', 'ALICE'), eve);
    await candidateLink(h, eve, await recordId(h, 'la-education', 'FRANK'));

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:EVE', 'la-education:FRANK', 'la-housing:ALICE']);
  });

  it('waits while any source has records not yet linked: a new record may join someone to a kept person', async () => {
    const carol = nhs(440);
    await importEach(h, [
      ['la-housing', [HOUSING[0]!, `Carol,White,2011-01-02,ME1 1AA,${carol},Y`]],
      ['la-education', [EDUCATION[0]!, 'Carol,Black,2011-01-02,ME9 9ZZ,ED-3,N']],
    ]);
    await linkPendingRecords(h.linkDeps());
    // Social care's record joins education's Carol Black (date of birth and names) to Housing's
    // Carol White (NHS number), once a pass has linked it.
    await importEach(h, [
      ['la-childrens-social-care', [SOCIAL_CARE[0]!, `Carol,Black,2011-01-02,ME9 9ZZ,${carol},SC-3,N`]],
    ]);

    const [before] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(before).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
    await linkPendingRecords(h.linkDeps());
    const [after] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(after).toMatchObject({ outcome: 'enforced', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toEqual([
      'la-childrens-social-care:CAROL',
      'la-education:CAROL',
      'la-housing:CAROL',
    ]);
  });

  it("waits while Housing's extract had rows refused: one may have kept someone", async () => {
    const rows = [HOUSING[0]!];
    for (let i = 0; i < 30; i++) rows.push(`Pat,Smith${lettersOf(i)},2012-03-04,ME14 1XX,${nhs(500 + i * 3)},Y`);
    // Bob is in temporary accommodation, but his row is refused for its postcode.
    rows.push(`Bob,Jones,2010-01-01,NOTAPOSTCODE,${BOB},Y`);
    const housing = await h.importFile(`la-housing/${DATASET}/a.csv`, rows.join('\n'));
    expect(housing).toMatchObject({ outcome: 'loaded', rejected: 1 });
    await importEach(h, [['la-childrens-social-care', SOCIAL_CARE.slice(0, 3)]]);
    await linkPendingRecords(h.linkDeps());

    await expectSkipped(h, 'field-source-rows-rejected');
    expect(await recordsByParty(h)).toContain('la-childrens-social-care:BOB');
  });

  it('deletes nobody for a Housing extract without the column', async () => {
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
          `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},N`,
        ],
      ],
      ['la-childrens-social-care', SOCIAL_CARE.slice(0, 2)],
    ]);
    await linkPendingRecords(h.linkDeps());

    await expectSkipped(h, 'field-blank-in-sources');
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:ALICE', 'la-housing:ALICE']);
  });

  it("deletes a person with an opt-out in force as anyone else, keeping only their keys under the opt-out's person id", async () => {
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE.slice(0, 3)],
    ]);
    await linkPendingRecords(h.linkDeps());
    const bob = await personOf(h, 'la-housing', 'BOB');
    const optOut = await decideForBob(h, 'opt-out');

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    // Housing says N: his records from Housing and social care go, special-category fields and all.
    expect(summary).toMatchObject({
      outcome: 'enforced',
      peopleDeleted: 1,
      recordsDeleted: 2,
      peopleHeld: 0,
      optedOutKeysKept: 1,
    });
    expect(await recordsByParty(h)).toEqual(['la-childrens-social-care:ALICE', 'la-housing:ALICE']);
    expect(await h.store.db.selectFrom('source_record').select('id').where('person_id', '=', bob).execute()).toEqual(
      [],
    );
    expect((await retentionEntries(h)).map((e) => e.subject_ref)).toEqual([bob]);
    // What a load keeps of an opted-out person it drops: normalised keys and keyed hashes, under
    // the opt-out's person id, for his dataset; nothing raw.
    const kept = await keptKeys(h);
    expect(kept.records.map((r) => [r.person_id, r.dataset_id, r.given_name, r.date_of_birth])).toEqual([
      [bob, DATASET, 'BOB', '2010-01-01'],
      [bob, DATASET, 'BOB', '2010-01-01'],
    ]);
    expect(kept.identifiers.map((i) => [i.person_id, i.kind])).toContainEqual([bob, 'nhs']);
    for (const identifier of kept.identifiers) expect(identifier.hash).toMatch(/^[0-9a-f]{64}$/i);
    expect(JSON.stringify(kept)).not.toContain(BOB);
    expect(
      h.logLines.some(
        (l) => l.includes('retention.enforced') && l.includes('"peopleHeld":0') && l.includes('"optedOutKeysKept":1'),
      ),
    ).toBe(true);

    // The opt-out itself stays in force; its withdrawal ends the keys kept for it, as after a load.
    const consents = new StoreConsentRegister(h.store);
    expect(await consents.isOptedOut(bob, new Date())).toBe(true);
    await consents.withdraw(optOut, { partyId: 'la-housing', clientId: 'test' }, new Date());
    expect(await keptKeys(h)).toEqual({ records: [], identifiers: [] });
  });

  it('opts the person out again when a later Housing extract sends them back into temporary accommodation', async () => {
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE.slice(0, 3)],
    ]);
    await linkPendingRecords(h.linkDeps());
    const bob = await personOf(h, 'la-housing', 'BOB');
    // Recorded by two parties: his keys are kept once.
    await decideForBob(h, 'opt-out');
    await decideForBob(h, 'opt-out', 'la-childrens-social-care');
    expect(await enforceRetention(h.retentionDeps(), AGREEMENT)).toMatchObject([
      { peopleDeleted: 1, optedOutKeysKept: 1 },
    ]);
    expect((await keptKeys(h)).records).toHaveLength(2);
    await linkPendingRecords(h.linkDeps());

    // Housing's next extract, dated tomorrow: Bob is back in temporary accommodation.
    const next = await h.importFile(
      `la-housing/${DATASET}/b.csv`,
      [HOUSING[0], HOUSING[1], `Bob,Jones,2010-01-01,ME15 2YY,${BOB},Y`].join('\n'),
      { asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10) },
    );
    expect(next).toMatchObject({ outcome: 'loaded' });
    await linkPendingRecords(h.linkDeps());

    const arrival = await personOf(h, 'la-housing', 'BOB');
    expect(arrival).not.toBe(bob);
    expect(await new StoreConsentRegister(h.store).isOptedOut(arrival, new Date())).toBe(true);
    const loaded = h.logLines.filter((line) => line.includes('"import.loaded"'));
    expect((JSON.parse(loaded.at(-1)!) as { optOutArrivals: number }).optOutArrivals).toBe(1);
  });

  it('keeps a person waiting for review against one held for a consent, as against one the field keeps', async () => {
    // Bob's Housing record says N, but his consent holds him; Eve, known to social care only,
    // waits for an officer's review against Bob's record (found by a review: she was deleted,
    // and the candidate with her).
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
        ],
      ],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
          `Eve,Brown,2009-09-09,ME17 4AA,${EVE},SC-3,N`,
        ],
      ],
    ]);
    await linkPendingRecords(h.linkDeps());
    await decideForBob(h, 'consent');
    const link = await candidateLink(
      h,
      await recordId(h, 'la-housing', 'BOB'),
      await recordId(h, 'la-childrens-social-care', 'EVE'),
    );

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 0, peopleHeld: 1 });
    expect(await recordsByParty(h)).toHaveLength(2);
    expect(await h.store.db.selectFrom('record_link').select('id').where('id', '=', link).execute()).toHaveLength(1);
  });

  it('holds no one for a consent or opt-out since withdrawn: there is nothing left to carry', async () => {
    await importEach(h, [
      ['la-housing', HOUSING],
      ['la-childrens-social-care', SOCIAL_CARE],
    ]);
    await linkPendingRecords(h.linkDeps());
    const consents = new StoreConsentRegister(h.store);
    const by = { partyId: 'la-housing', clientId: 'test' };
    const bob = await personOf(h, 'la-housing', 'BOB');
    const eve = await personOf(h, 'la-childrens-social-care', 'EVE');
    const record = (subjectKey: string, kind: 'consent' | 'opt-out', purposeId: string | null) =>
      consents.record({ subjectKey, kind, purposeId, evidenceRef: null, by, at: new Date() });
    // Bob registered an opt-out and gave a consent, and withdrew both; Eve withdrew an opt-out
    // and still has a consent.
    for (const recorded of [
      await record(bob, 'opt-out', null),
      await record(bob, 'consent', 'homelessness-prevention'),
      await record(eve, 'opt-out', null),
    ])
      await consents.withdraw(recorded.consentId, by, new Date());
    await record(eve, 'consent', 'homelessness-prevention');

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(summary).toMatchObject({
      outcome: 'enforced',
      peopleDeleted: 1,
      recordsDeleted: 2,
      peopleHeld: 1,
      optedOutKeysKept: 0,
    });
    expect(await recordsByParty(h)).toEqual([
      'la-childrens-social-care:ALICE',
      'la-childrens-social-care:EVE',
      'la-housing:ALICE',
    ]);
    expect((await retentionEntries(h)).map((e) => e.subject_ref)).toEqual([bob]);
    expect(h.logLines.some((l) => l.includes('retention.enforced') && l.includes('"peopleHeld":1'))).toBe(true);
    // Nor are the keys of a person whose opt-out was withdrawn kept.
    expect(await keptKeys(h)).toEqual({ records: [], identifiers: [] });
  });
});

describe('joint-system retention without the field it depends on', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, [['la-education', EDUCATION]]);
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(async () => h.close());

  it('is not judged, and deletes nothing, while Housing has sent no extract', async () => {
    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toEqual(['la-education:ALICE']);
    expect(
      h.logLines.some((l) => l.includes('"retention.skipped"') && l.includes('no-extract-from-field-sources')),
    ).toBe(true);
  });
});

/** Letters only (0 → "a", 26 → "ba"), so each name stays whole through normalisation. */
function lettersOf(n: number): string {
  let out = '';
  do {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26);
  } while (n > 0);
  return out;
}

/**
 * What Housing has sent is read from the run ledger, not from its records still stored, which
 * retention's own deletions empty (both found by a review).
 */
describe("joint-system retention by Housing's extracts, not its records left", () => {
  let h: ImportHarness;
  const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation';
  const ALICE = nhs(810);
  const BOB = nhs(820);
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h.close());

  it("deletes a later social-care record of someone Housing's current extract does not keep", async () => {
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
          // Bob has left temporary accommodation; Housing's extract holds no one else.
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
        ],
      ],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,N`,
        ],
      ],
    ]);
    await linkPendingRecords(h.linkDeps());
    const [first] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(first).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 2 });
    expect(await recordsByParty(h)).toEqual([]);

    // Social care's next extract (Housing's stands: nobody in temporary accommodation). Eve was
    // never a client of Housing; Bob is sent again.
    expect(
      (
        await h.importFile(
          `la-childrens-social-care/${DATASET}/b.csv`,
          [
            'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
            `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,N`,
            `Eve,Brown,2009-09-09,ME17 4AA,${EVE},SC-3,N`,
          ].join('\n'),
          { asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10) },
        )
      ).outcome,
    ).toBe('loaded');
    await linkPendingRecords(h.linkDeps());

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    // Housing has sent its extract: nobody it keeps, so neither record may stay.
    expect(summary, 'rule skipped as if Housing had sent nothing').toMatchObject({
      outcome: 'enforced',
      peopleDeleted: 2,
    });
    expect(await recordsByParty(h)).toEqual([]);
  });

  it('judges a Housing extract that held the column by its values, after a pass deleted those saying N', async () => {
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
          // Carol's flag is blank: she is kept, as she cannot be judged.
          `Carol,White,2011-01-02,ME1 1AA,${nhs(640)},`,
        ],
      ],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,N`,
        ],
      ],
    ]);
    await linkPendingRecords(h.linkDeps());
    const [first] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(first).toMatchObject({ outcome: 'enforced', peopleDeleted: 1 });
    expect(await recordsByParty(h)).toEqual(['la-housing:CAROL']);

    // Social care sends Eve, never a client of Housing.
    expect(
      (
        await h.importFile(
          `la-childrens-social-care/${DATASET}/b.csv`,
          [
            'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
            `Eve,Brown,2009-09-09,ME17 4AA,${EVE},SC-3,N`,
          ].join('\n'),
          { asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10) },
        )
      ).outcome,
    ).toBe('loaded');
    await linkPendingRecords(h.linkDeps());

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    // One blank flag left over must not stop the rule for everyone.
    expect(summary, 'rule skipped (field-blank-in-sources) for one blank Housing flag').toMatchObject({
      outcome: 'enforced',
      peopleDeleted: 1,
    });
    expect(await recordsByParty(h)).toEqual(['la-housing:CAROL']);
  });

  it('waits, as it does for an extract with one refused row, rather than deleting by the older one', async () => {
    await importEach(h, [
      ['la-housing', [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`]],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
          `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},SC-1,Y`,
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,Y`,
        ],
      ],
    ]);
    // Housing's next extract, a day later: Bob is back in temporary accommodation, but one other
    // row is bad, which is more than the share of bad rows an import accepts: refused whole.
    const next = await h.importFile(
      `la-housing/${DATASET}/b.csv`,
      [
        HEADER,
        `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`,
        `Bob,Jones,2010-01-01,ME15 2YY,${BOB},Y`,
        `Carol,White,2011-01-02,NOTAPOSTCODE,${nhs(830)},Y`,
      ].join('\n'),
      { asof: new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10) },
    );
    expect(next.outcome).toBe('rejected');
    await linkPendingRecords(h.linkDeps());

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(await recordsByParty(h), "Bob deleted by the older snapshot's N").toContain('la-childrens-social-care:BOB');
    expect(summary).toMatchObject({ outcome: 'skipped', peopleDeleted: 0 });
  });

  it("waits while Housing's newer extract is still being loaded or retried, rather than deleting by the older one", async () => {
    await importEach(h, [
      ['la-housing', [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`]],
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
          `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},SC-1,Y`,
          `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,Y`,
        ],
      ],
    ]);
    // Housing's next extract, a day later: Bob is back in temporary accommodation. Its first
    // attempt breaks off (Key Vault did not answer); the queue will deliver it again.
    const blob = `la-housing/${DATASET}/b.csv`;
    const next = [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},Y`].join(
      '\n',
    );
    const asof = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
    await expect(
      h.importFile(
        blob,
        next,
        { asof },
        { secrets: { get: (name) => Promise.reject(new SecretUnavailableError(name)) } },
      ),
    ).rejects.toThrow();
    await linkPendingRecords(h.linkDeps());

    await expectSkipped(h, 'field-source-extract-pending');
    expect(await recordsByParty(h), "Bob deleted by the older snapshot's N").toContain('la-childrens-social-care:BOB');

    // The retry loads it: Bob is kept, by the extract Housing sent last.
    expect((await h.run(blob)).outcome).toBe('loaded');
    await linkPendingRecords(h.linkDeps());
    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toContain('la-childrens-social-care:BOB');
  });

  it("waits for Tuesday's extract dropped with Monday's after an outage, though it was received before Monday's loaded", async () => {
    const SOCIAL = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
    await importEach(h, [['la-childrens-social-care', [SOCIAL, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,Y`]]]);
    // Both of Housing's extracts land together. Tuesday's (Bob back in temporary accommodation)
    // is taken up first and breaks off (Key Vault did not answer): the queue will retry it.
    const tuesday = `la-housing/${DATASET}/tuesday.csv`;
    await expect(
      h.importFile(
        tuesday,
        [HEADER, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},Y`].join('\n'),
        { asof: new Date().toISOString().slice(0, 10) },
        { secrets: { get: (name) => Promise.reject(new SecretUnavailableError(name)) } },
      ),
    ).rejects.toThrow();
    // Monday's (Bob had left) loads meanwhile, after Tuesday's was received.
    const monday = await h.importFile(
      `la-housing/${DATASET}/monday.csv`,
      [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`].join('\n'),
      { asof: new Date(Date.now() - 24 * 3600_000).toISOString().slice(0, 10) },
    );
    expect(monday.outcome).toBe('loaded');
    await linkPendingRecords(h.linkDeps());

    await expectSkipped(h, 'field-source-extract-pending');
    expect(await recordsByParty(h), "Bob deleted by Monday's N").toContain('la-childrens-social-care:BOB');

    // The retry loads Tuesday's: Bob is kept.
    expect((await h.run(tuesday)).outcome).toBe('loaded');
    await linkPendingRecords(h.linkDeps());
    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 0 });
    expect(await recordsByParty(h)).toContain('la-childrens-social-care:BOB');
  });

  it('does not wait for an older Housing extract whose load broke off after a newer one loaded: it can only be refused as stale', async () => {
    const SOCIAL = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
    await importEach(h, [
      ['la-housing', [HEADER, `Alice,Smith,2012-03-04,ME14 1XX,${ALICE},Y`, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`]],
      ['la-childrens-social-care', [SOCIAL, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,Y`]],
    ]);
    // Last week's extract, delivered late, breaks off: whenever it is retried it is older than
    // the standing one, and is refused as stale.
    await expect(
      h.importFile(
        `la-housing/${DATASET}/last-week.csv`,
        [HEADER, `Bob,Jones,2010-01-01,ME15 2YY,${BOB},Y`].join('\n'),
        { asof: new Date(Date.now() - 7 * 24 * 3600_000).toISOString().slice(0, 10) },
        { secrets: { get: (name) => Promise.reject(new SecretUnavailableError(name)) } },
      ),
    ).rejects.toThrow();
    await linkPendingRecords(h.linkDeps());

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);

    expect(summary, 'rule held back by an extract that can never load').toMatchObject({
      outcome: 'enforced',
      peopleDeleted: 1,
    });
    expect(await recordsByParty(h)).toEqual(['la-housing:ALICE']);
  });
});
