import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkAfterImport, linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

const ALICE_NHS = nhs(100);
const OTHER_NHS = nhs(200);
const CARL_NHS = nhs(300);

const housing = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
  `Alice,Smith,2012-03-04,ME14 1XX,${ALICE_NHS},Y`,
  'Bob,Jones,2010-01-01,ME15 2YY,,N',
  // Same name, date of birth and postcode as in social care, but a different NHS number there.
  `Carl,Evans,2011-06-07,ME16 3ZZ,${CARL_NHS},N`,
].join('\n');

const socialCare = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
  `Alice,Smith,2012-03-04,ME14 1XX,${ALICE_NHS},SC-1,Y`,
  `Carl,Evans,2011-06-07,ME16 3ZZ,${OTHER_NHS},SC-2,N`,
].join('\n');

const education = [
  'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
  // No NHS number in education: linked to housing by date of birth + last name + first three.
  'Alice,Smith,2012-03-04,ME14 1XX,ED-1,Y',
].join('\n');

async function personIds(h: ImportHarness) {
  const rows = await h.store.db
    .selectFrom('source_record')
    .select(['party_id', 'given_name', 'person_id'])
    .orderBy('party_id')
    .orderBy('given_name')
    .execute();
  return new Map(rows.map((r) => [`${r.party_id}:${r.given_name}`, r.person_id]));
}

describe('linking imported records into people', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness();
    for (const [party, csv] of [
      ['la-housing', housing],
      ['la-childrens-social-care', socialCare],
      ['la-education', education],
    ] as const) {
      const outcome = await h.importFile(`${party}/${DATASET}/extract.csv`, csv);
      expect(outcome.outcome).toBe('loaded');
    }
  });
  afterAll(async () => h.close());

  it('leaves imported records unlinked, and so invisible to lookups, until a linking pass', async () => {
    const ids = await personIds(h);
    expect([...ids.values()].every((id) => id === null)).toBe(true);
  });

  it("links one person's records across housing, social care and education", async () => {
    const [summary] = await linkPendingRecords(h.linkDeps());
    expect(summary).toMatchObject({
      agreementId: AGREEMENT,
      kind: 'incremental',
      sources: 3,
      records: 6,
      sourcePairsLinked: 3,
    });
    const ids = await personIds(h);
    const alice = ids.get('la-housing:ALICE');
    expect(alice).toBeTruthy();
    expect(ids.get('la-childrens-social-care:ALICE')).toBe(alice);
    expect(ids.get('la-education:ALICE')).toBe(alice);
    expect(ids.get('la-housing:BOB')).not.toBe(alice);
    expect(new Set(ids.values()).size).toBe(4);
  });

  it('never puts records with different NHS numbers in one person, whatever else agrees', async () => {
    const ids = await personIds(h);
    expect(ids.get('la-housing:CARL')).not.toBe(ids.get('la-childrens-social-care:CARL'));
  });

  it('records each link with its tier, rule and the run that made it', async () => {
    const links = await h.store.db.selectFrom('record_link').selectAll().orderBy('tier').orderBy('rule').execute();
    expect(links.map((l) => [l.source_a, l.source_b, l.tier, l.rule, l.status])).toEqual([
      [`la-childrens-social-care/${DATASET}`, `la-housing/${DATASET}`, 1, 'nhs', 'auto'],
      [`la-childrens-social-care/${DATASET}`, `la-education/${DATASET}`, 3, 'dob-name', 'auto'],
      [`la-education/${DATASET}`, `la-housing/${DATASET}`, 3, 'dob-name', 'auto'],
    ]);
    const run = await h.store.db
      .selectFrom('link_run')
      .selectAll()
      .where('id', '=', links[0]!.first_run_id)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ agreement_id: AGREEMENT, kind: 'incremental' });
    expect(run.finished_at).not.toBeNull();
  });

  it('keeps person ids when a source sends its next snapshot, and re-links only that source', async () => {
    const before = await personIds(h);
    const next = `${education}\nDora,Hughes,2013-09-10,ME17 4AA,ED-2,N`;
    const outcome = await h.importFile(`la-education/${DATASET}/extract-2.csv`, next);
    expect(outcome.outcome).toBe('loaded');
    const summary = await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
    // Education against housing and against social care; housing–social care is left alone.
    expect(summary?.sourcePairsLinked).toBe(2);
    const after = await personIds(h);
    expect(after.get('la-education:ALICE')).toBe(before.get('la-housing:ALICE'));
    expect(after.get('la-housing:BOB')).toBe(before.get('la-housing:BOB'));
    expect(after.get('la-education:DORA')).toBeTruthy();
    expect([...before.values()]).not.toContain(after.get('la-education:DORA'));
  });

  it('gives the same people when everything is linked again from scratch', async () => {
    const before = await personIds(h);
    const summary = await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    expect(summary.sourcePairsLinked).toBe(3);
    expect(summary.personIdsChanged).toBe(0);
    expect(await personIds(h)).toEqual(before);
  });

  it('writes counts and ids to the log, never names or identifiers', () => {
    const lines = h.logLines.filter((l) => l.includes('linkage.run'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      for (const secret of ['ALICE', 'Alice', 'SMITH', ALICE_NHS, 'ME14', '2012-03-04'])
        expect(line).not.toContain(secret);
    }
  });
});
