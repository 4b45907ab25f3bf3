import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs, personOf, recordOf } from '../../support/linked-people.js';

/**
 * A person whose every record is in one party's dataset keeps their person id — and with it
 * their consents and opt-outs — when that party sends a new snapshot: the load carries the id of
 * each record's predecessor (same identifier pseudonym, one previous person) and the linking
 * pass keeps it. Where the predecessor is ambiguous nothing is carried.
 */

const DATASET = 'multiple-disadvantage-indicators';
const T = new Date('2026-03-02T09:00:00.000Z');
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

async function importFile(h: ImportHarness, blobName: string, lines: readonly string[]) {
  const outcome = await h.importFile(blobName, lines.join('\n'));
  expect(outcome.outcome).toBe('loaded');
  return (outcome as { runId: string }).runId;
}

describe('a person known to one source only keeps their id across its snapshots', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const N1 = nhs(510);
  const N2 = nhs(520);

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it('stays opted out after the source sends a new snapshot with the same person', async () => {
    const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears';
    const first = await importFile(h, `la-housing/${DATASET}/extract-2026-03-01.csv`, [
      header,
      `Erin,Hale,1980-02-03,ME14 1XX,${N1},Y`,
      `Finn,Moss,1975-04-05,ME15 2YY,${N2},N`,
    ]);
    await linkAfterImport(h.linkDeps(), first);
    const erin = await personOf(h, 'la-housing', 'ERIN');
    const finn = await personOf(h, 'la-housing', 'FINN');
    await consents.record({
      subjectKey: erin,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-erin',
      by: dpo,
      at: T,
    });
    expect(await consents.isOptedOut(erin, T)).toBe(true);

    // Next month's snapshot: Erin has moved, Finn has gone, Gail is new.
    const second = await importFile(h, `la-housing/${DATASET}/extract-2026-04-01.csv`, [
      header,
      `Erin,Hale,1980-02-03,ME20 9AA,${N1},N`,
      `Gail,Reed,1990-06-07,ME16 3ZZ,${nhs(530)},N`,
    ]);
    // Carried at load, into person_id too (lookups find Erin before the pass); the mark tells the
    // pass the source changed.
    expect(await recordOf(h, 'la-housing', 'ERIN')).toEqual({ person_id: erin, carried_person_id: erin });
    expect(await recordOf(h, 'la-housing', 'GAIL')).toEqual({ person_id: null, carried_person_id: null });

    const summary = await linkAfterImport(h.linkDeps(), second);
    expect(summary?.kind).toBe('incremental');
    expect(await personOf(h, 'la-housing', 'ERIN')).toBe(erin);
    expect(await recordOf(h, 'la-housing', 'ERIN')).toEqual({ person_id: erin, carried_person_id: null });
    expect(await consents.isOptedOut(erin, T)).toBe(true);
    const gail = await personOf(h, 'la-housing', 'GAIL');
    expect([erin, finn]).not.toContain(gail);
    expect(await consents.isOptedOut(gail, T)).toBe(false);
  });

  it('carries a carried id on when two snapshots arrive before a linking pass', async () => {
    const erin = await personOf(h, 'la-housing', 'ERIN');
    const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears';
    await importFile(h, `la-housing/${DATASET}/extract-2026-05-01.csv`, [
      header,
      `Erin,Hale,1980-02-03,ME20 9AA,${N1},Y`,
    ]);
    const last = await importFile(h, `la-housing/${DATASET}/extract-2026-06-01.csv`, [
      header,
      `Erin,Hale,1980-02-03,ME20 9AA,${N1},N`,
    ]);
    expect(await recordOf(h, 'la-housing', 'ERIN')).toEqual({ person_id: erin, carried_person_id: erin });
    await linkAfterImport(h.linkDeps(), last);
    expect(await personOf(h, 'la-housing', 'ERIN')).toBe(erin);
    expect(await consents.isOptedOut(erin, T)).toBe(true);
  });
});

describe('a research participant keeps their consent across Dudley snapshots', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const dataset = 'housing-first-participant-contacts';
  const dudley = { partyId: 'dudley-housing-options', clientId: 'dudley-client' };

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it('keeps the research consent on the same person id after a new snapshot', async () => {
    const header = 'name,telephoneNumber,email,address,caseReference';
    const first = await importFile(h, `dudley-housing-options/${dataset}/extract-2026-03-01.csv`, [
      header,
      'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1',
      'Ivan Lowe,01384 000002,ivan@example.org,2 High Street,HO-2',
    ]);
    await linkAfterImport(h.linkDeps(), first);
    const people = await h.store.db
      .selectFrom('source_record')
      .select(['person_id', 'row_number'])
      .where('party_id', '=', dudley.partyId)
      .orderBy('row_number')
      .execute();
    const [hana, ivan] = people.map((p) => p.person_id!);
    expect(hana).toBeTruthy();
    await consents.record({
      subjectKey: hana!,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-1',
      by: dudley,
      at: T,
    });

    // Ivan first this time, Hana with a new telephone number.
    const second = await importFile(h, `dudley-housing-options/${dataset}/extract-2026-04-01.csv`, [
      header,
      'Ivan Lowe,01384 000002,ivan@example.org,2 High Street,HO-2',
      'Hana Ives,01384 000009,hana@example.org,1 High Street,HO-1',
    ]);
    const carried = await h.store.db
      .selectFrom('source_record')
      .select(['person_id', 'carried_person_id'])
      .where('party_id', '=', dudley.partyId)
      .orderBy('row_number')
      .execute();
    expect(carried).toEqual([
      { person_id: ivan, carried_person_id: ivan },
      { person_id: hana, carried_person_id: hana },
    ]);

    const summary = await linkAfterImport(h.linkDeps(), second);
    expect(summary?.consentEventsCarried).toBe(0);
    const after = await h.store.db
      .selectFrom('source_record')
      .select('person_id')
      .where('party_id', '=', dudley.partyId)
      .orderBy('row_number')
      .execute();
    expect(after.map((r) => r.person_id)).toEqual([ivan, hana]);
    expect(await consents.currentConsent(hana!, 'research-evaluation', T)).toBe(true);
    expect(await consents.currentConsent(ivan!, 'research-evaluation', T)).toBe(false);
  });
});

describe('no person id is carried from an ambiguous predecessor', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  const party = 'la-childrens-social-care';
  const header = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection';
  const N1 = nhs(610);
  const N2 = nhs(620);
  const N3 = nhs(630);

  beforeAll(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterAll(async () => h.close());

  it('carries no id where an identifier named two people, or two identifiers name two people', async () => {
    // Two records of one source are never linked to each other: Jo and Kit are two people
    // although they share an NHS number. Lee and Max are two people.
    const first = await importFile(h, `${party}/${DATASET}/extract-2026-03-01.csv`, [
      header,
      `Jo,Ash,2012-01-01,ME1 1AA,${N1},SC-1,N`,
      `Kit,Ash,2012-01-01,ME1 1AA,${N1},SC-2,N`,
      `Lee,Bay,2013-02-02,ME2 2BB,${N2},SC-3,N`,
      `Max,Cole,2014-03-03,ME3 3AB,${N3},SC-4,N`,
    ]);
    await linkAfterImport(h.linkDeps(), first);
    const before = new Map<string, string>();
    for (const given of ['JO', 'KIT', 'LEE', 'MAX']) before.set(given, await personOf(h, party, given));
    expect(new Set(before.values()).size).toBe(4);
    for (const id of before.values()) {
      await consents.record({ subjectKey: id, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });
    }

    const second = await importFile(h, `${party}/${DATASET}/extract-2026-04-01.csv`, [
      header,
      // N1 named Jo and Kit: ambiguous, though SC-9 is new.
      `Jo,Ash,2012-01-01,ME1 1AA,${N1},SC-9,N`,
      // Lee's NHS number with Max's system id: two people.
      `Ned,Dale,2015-04-04,ME4 4DB,${N2},SC-4,N`,
      // Max's NHS number alone (system id new): Max.
      `Max,Cole,2014-03-03,ME3 3AB,${N3},SC-8,N`,
    ]);
    // Not carried any of the previous people's ids; but each may be one of the opted-out people
    // the carry could not follow, so each gets a new id holding a copy of their opt-outs
    // (opt-out-successors.ts).
    for (const given of ['JO', 'NED']) {
      const record = await recordOf(h, party, given);
      expect([...before.values()]).not.toContain(record.person_id);
      expect(record.carried_person_id).toBe(record.person_id);
    }
    expect(await recordOf(h, party, 'MAX')).toEqual({
      person_id: before.get('MAX'),
      carried_person_id: before.get('MAX'),
    });

    await linkAfterImport(h.linkDeps(), second);
    expect(await personOf(h, party, 'MAX')).toBe(before.get('MAX'));
    expect(await consents.isOptedOut(before.get('MAX')!, T)).toBe(true);
    for (const given of ['JO', 'NED']) {
      const id = await personOf(h, party, given);
      expect([...before.values()]).not.toContain(id);
      // Failing closed: a record that may be an opted-out person is opted out.
      expect(await consents.isOptedOut(id, T)).toBe(true);
    }
  });
});

/**
 * A snapshot of `party`'s `dataset` holding Hana (`hanaRow`), linked, with her research consent and
 * an opt-out recorded; then the next snapshot with another row in her place. For the carry's checks
 * that a record keyed with her identifier is hers before it takes her person id.
 */
function hanaResent(party: string, dataset: string, header: string, hanaRow: string) {
  const scenario = {} as { h: ImportHarness; consents: StoreConsentRegister };
  beforeEach(async () => {
    scenario.h = await createImportHarness();
    scenario.consents = new StoreConsentRegister(scenario.h.store);
  });
  afterEach(async () => scenario.h.close());

  /** Loads and links Hana's snapshot, records her consent and opt-out; her person id. */
  async function hanaConsenting(): Promise<string> {
    const { h, consents } = scenario;
    const first = await importFile(h, `${party}/${dataset}/extract-2026-03-01.csv`, [header, hanaRow]);
    await linkAfterImport(h.linkDeps(), first);
    const hana = await personOf(h, party, 'HANA');
    await consents.record({
      subjectKey: hana,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-hana',
      by: dpo,
      at: T,
    });
    await consents.record({ subjectKey: hana, kind: 'opt-out', purposeId: null, evidenceRef: null, by: dpo, at: T });
    return hana;
  }

  /** Sends the next snapshot with `row` in Hana's place and links it; the row's person id after each. */
  async function resend(row: string, given: string): Promise<{ atLoad: string | null; linked: string }> {
    const { h } = scenario;
    const second = await importFile(h, `${party}/${dataset}/extract-2026-04-01.csv`, [header, row]);
    const atLoad = (await recordOf(h, party, given)).person_id;
    await linkAfterImport(h.linkDeps(), second);
    return { atLoad, linked: await personOf(h, party, given) };
  }

  return { hanaConsenting, resend, consents: () => scenario.consents };
}

/**
 * Social care's next snapshot leaves Hana out and keys her system id SC-1 to someone born on
 * another date (an id reused, or a keying slip): that stranger must not take her person id, nor
 * with it the consent she gave. Her own row, its name corrected or its date one digit out, keeps
 * it. Names are never the test: they change on marriage.
 */
describe('a person id is carried by an identifier only to a record born on the person’s date', () => {
  const { hanaConsenting, resend, consents } = hanaResent(
    'la-childrens-social-care',
    DATASET,
    'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
    'Hana,Ives,2010-05-14,ME1 1AA,,SC-1,N',
  );

  it('does not give a stranger keyed with her system id her id or her consent', async () => {
    const hana = await hanaConsenting();
    const zed = await resend('Zed,Stranger,1990-11-02,ME9 9ZZ,,SC-1,N', 'ZED');
    expect(zed.atLoad).not.toBe(hana);
    expect(zed.linked).not.toBe(hana);
    expect(await consents().currentConsent(zed.linked, 'research-evaluation', T)).toBe(false);
    // Failing closed: a record that may be an opted-out person is opted out (opt-out-successors.ts).
    expect(await consents().isOptedOut(zed.linked, T)).toBe(true);
  });

  it('keeps her id for her row with a corrected name and her date of birth', async () => {
    const hana = await hanaConsenting();
    expect(await resend('Hannah,Ives-Cole,2010-05-14,ME1 1AA,,SC-1,N', 'HANNAH')).toEqual({
      atLoad: hana,
      linked: hana,
    });
    expect(await consents().currentConsent(hana, 'research-evaluation', T)).toBe(true);
  });

  it('keeps her id for her row with a date of birth one digit out', async () => {
    const hana = await hanaConsenting();
    expect(await resend('Hana,Ives,2010-05-15,ME1 1AA,,SC-1,N', 'HANA')).toEqual({ atLoad: hana, linked: hana });
  });
});

/**
 * Dudley's Housing First list gives no date of birth, so nothing but names tells that the next
 * snapshot's row keying Hana's case reference HO-1 is someone else: a stranger, whose names share
 * nothing with hers, must not take her person id nor the research consent she gave (ICF would be
 * shown his contact details under it). Hana married, or her name's spelling corrected, keeps both.
 */
describe('a person id is carried by an identifier without a date of birth only to a record sharing a name', () => {
  const { hanaConsenting, resend, consents } = hanaResent(
    'dudley-housing-options',
    'housing-first-participant-contacts',
    'name,telephoneNumber,email,address,caseReference',
    'Hana Ives,01384 000001,hana@example.org,1 High Street,HO-1',
  );

  it('does not give a stranger keyed with her case reference her id or her consent', async () => {
    const hana = await hanaConsenting();
    const zed = await resend('Zed Stranger,01384 999999,zed@example.org,9 Low Road,HO-1', 'ZED');
    expect(zed.atLoad).not.toBe(hana);
    expect(zed.linked).not.toBe(hana);
    expect(await consents().currentConsent(zed.linked, 'research-evaluation', T)).toBe(false);
    // Failing closed: a record that may be an opted-out person is opted out (opt-out-successors.ts).
    expect(await consents().isOptedOut(zed.linked, T)).toBe(true);
  });

  it('keeps her id and consent for her row under her married name', async () => {
    const hana = await hanaConsenting();
    expect(await resend('Hana Cole,01384 000001,hana@example.org,1 High Street,HO-1', 'HANA')).toEqual({
      atLoad: hana,
      linked: hana,
    });
    expect(await consents().currentConsent(hana, 'research-evaluation', T)).toBe(true);
  });

  it('keeps her id for her row with her given name’s spelling corrected', async () => {
    const hana = await hanaConsenting();
    expect(await resend('Hannah Ives,01384 000001,hana@example.org,1 High Street,HO-1', 'HANNAH')).toEqual({
      atLoad: hana,
      linked: hana,
    });
  });
});
