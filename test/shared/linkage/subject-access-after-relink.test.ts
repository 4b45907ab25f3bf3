import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessesToPerson, type AuditScope } from '../../../shared/audit/dpo-views.js';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkAfterImport, linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { recordPersonIdMoves } from '../../../shared/linkage/person-id-history.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import {
  carolThroughSocialCare,
  importEach,
  nhs,
  personOf,
  recordOf,
  aliceAsTwoPeople,
  sendAdultSocialCareJoiningAlice,
  sendAdultSocialCareWithoutAlice,
  sendSocialCareWithoutCarol,
} from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';
const everything: AuditScope = { parties: [], datasets: [], agreementIds: [], covers: () => true };
const access = (h: ImportHarness, subjectRef: string, requestId = `r-${subjectRef}`) =>
  h.deps().accessLog.append({
    requestId,
    partyId: 'la-housing',
    clientId: 'officer-client',
    roles: ['housing-officer'],
    purpose: 'temporary-accommodation-support',
    action: 'person.view',
    subjectRef,
    datasets: [DATASET],
    fields: [`${DATASET}.childProtection`],
    decision: 'allow',
    reasonCode: 'granted',
  });
const tick = () => new Promise((resolveWait) => setTimeout(resolveWait, 5));
const sar = async (h: ImportHarness, personId: string) =>
  (await accessesToPerson(h.store, everything, personId, { after: 0, limit: 100 })).entries.map((e) => e.requestId);

/**
 * A subject access request finds a person's accesses under every id their records have held:
 * the access log keeps the id of the moment, and linking passes since may merge or split people.
 */
describe('accesses to a person after linkage merged them', () => {
  let h: ImportHarness;
  const N1 = nhs(510);
  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, aliceAsTwoPeople(N1));
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(async () => h.close());

  it('finds the accesses logged under the id that gave way in the merge', async () => {
    const p1 = await personOf(h, 'la-housing', 'ALICE');
    const p2 = await personOf(h, 'la-education', 'ALICE');
    expect(p1).not.toBe(p2);
    await access(h, p1); // someone viewed Alice Smith's (housing) record
    await linkAfterImport(h.linkDeps(), await sendAdultSocialCareJoiningAlice(h, N1));
    expect(await personOf(h, 'la-housing', 'ALICE')).toBe(p2);
    // The DPO's request for Alice now (one person, id p2) shows the view of her housing record.
    expect(await sar(h, p2)).toContain(`r-${p1}`);
  });
});

describe('accesses to a person after linkage split them', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, carolThroughSocialCare(nhs(530)));
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
  });
  afterAll(async () => h.close());

  it('finds the accesses from before the split for the part that got a new id', async () => {
    const p = await personOf(h, 'la-housing', 'CAROL');
    await access(h, p); // a view of Carol (all three records) before the split
    // Social care's next snapshot no longer has Carol: housing's and education's records fall apart.
    await sendSocialCareWithoutCarol(h);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    const housing = await personOf(h, 'la-housing', 'CAROL');
    const education = await personOf(h, 'la-education', 'CAROL');
    expect(housing).not.toBe(education);
    const other = housing === p ? education : housing;
    expect(await sar(h, other)).toContain(`r-${p}`);
    expect(await sar(h, p)).toContain(`r-${p}`);

    // From the split on, they are two people: neither's later accesses are the other's.
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await access(h, p, 'after-split-original');
    await access(h, other, 'after-split-other');
    expect(await sar(h, other)).toEqual([`r-${p}`, 'after-split-other']);
    expect(await sar(h, p)).toEqual([`r-${p}`, 'after-split-original']);
  });

  it('follows a long history of ids only so far, without failing the request', async () => {
    const p = await personOf(h, 'la-housing', 'CAROL');
    const earlier = Array.from({ length: 600 }, (_, i) => `earlier-id-${String(i).padStart(3, '0')}`);
    await h.store.db
      .insertInto('person_id_move')
      .values(earlier.map((id) => ({ from_person_id: id, to_person_id: p, moved_at: '2099-01-01T00:00:00.000Z' })))
      .execute();
    await access(h, p, 'under-the-current-id');
    // More earlier ids than one query may name: the request still answers, from what it can name.
    expect(await sar(h, p)).toContain('under-the-current-id');
  });
});

describe('accesses to a person whose records moved back and forth between two ids', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => h.close());

  it('finds the accesses logged under the first id while it held the records again', async () => {
    const move = async (from: string, to: string) => {
      await tick();
      await recordPersonIdMoves(h.store.db, 'sqlite', [{ from, to }], new Date().toISOString());
      await tick();
    };
    await access(h, 'id-a', 'before-first-merge');
    await move('id-a', 'id-b');
    await move('id-b', 'id-a'); // a later pass split them again: the records are back under id-a
    await access(h, 'id-a', 'while-back-under-a');
    await move('id-a', 'id-b');
    await access(h, 'id-b', 'after-second-merge');
    expect(await sar(h, 'id-b')).toEqual(['before-first-merge', 'while-back-under-a', 'after-second-merge']);
  });
});

describe('accesses to a person whose earlier id was given to someone else after it merged into them', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => h.close());

  it('does not show the accesses of the person whose records the earlier id took on later', async () => {
    const move = async (from: string, to: string) => {
      await tick();
      await recordPersonIdMoves(h.store.db, 'sqlite', [{ from, to }], new Date().toISOString());
      await tick();
    };
    await access(h, 'id-b', 'b-before-merge');
    await access(h, 'id-x', 'x-someone-else');
    await move('id-b', 'id-p'); // B's records join P: B's accesses until now are P's
    // A later pass gives id B to another person's records (X's, say, by a carried id): X's
    // records were never P's, so nothing logged under X is P's business.
    await move('id-x', 'id-b');
    await access(h, 'id-p', 'p-after-merge');
    expect(await sar(h, 'id-p')).toEqual(['b-before-merge', 'p-after-merge']);
    // X's own request still finds X's accesses, and those under B since X's records moved there.
    await access(h, 'id-b', 'x-under-b');
    expect(await sar(h, 'id-b')).toEqual(expect.arrayContaining(['x-someone-else', 'x-under-b']));
  });
});

/**
 * Alice Smith (housing) and Alice Jones (social care, education) were one person only while adult
 * social care's record joined them: once it goes, the merge is undone, Alice Jones keeps the id
 * and Alice Smith gets a new one. What was logged before the merge was about one of them alone.
 */
describe('accesses to two people after a merge of them was undone', () => {
  let h: ImportHarness;
  const N1 = nhs(560);
  let smith: string;
  let jones: string;
  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, aliceAsTwoPeople(N1));
    await linkPendingRecords(h.linkDeps());
    await access(h, await personOf(h, 'la-housing', 'ALICE'), 'smith-before-merge');
    await access(h, await personOf(h, 'la-education', 'ALICE'), 'jones-before-merge');
    await tick();
    await linkAfterImport(h.linkDeps(), await sendAdultSocialCareJoiningAlice(h, N1));
    await tick();
    await access(h, await personOf(h, 'la-housing', 'ALICE'), 'while-merged');
    await tick();
  });
  afterAll(async () => h.close());

  const undo = async () => {
    await sendAdultSocialCareWithoutAlice(h);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    smith = await personOf(h, 'la-housing', 'ALICE');
    jones = await personOf(h, 'la-education', 'ALICE');
    expect(smith).not.toBe(jones);
  };

  it("shows neither the other's accesses from before the merge", async () => {
    // Housing re-sends its extract while they are one person: its record carries the merged id.
    const resent = await h.importFile(
      'la-housing/multiple-disadvantage-indicators/b.csv',
      aliceAsTwoPeople(N1)[0]![1].join('\n').replace(',Y', ',N'),
    );
    expect(resent.outcome).toBe('loaded');
    expect((await recordOf(h, 'la-housing', 'ALICE')).carried_person_id).toBe(
      await personOf(h, 'la-education', 'ALICE'),
    );
    await undo();
    // Alice Smith's request: her housing record's views, and those of the time she was one
    // person with Alice Jones; not Alice Jones's before, under the id Smith only took later.
    expect(await sar(h, smith)).toEqual(['smith-before-merge', 'while-merged']);
    expect(await sar(h, jones)).toEqual(['jones-before-merge', 'while-merged']);
  });
});

/**
 * Alice Smith (adult social care) is merged into Alice Jones (children's social care, education)
 * by housing's record, which holds Smith's NHS number and Jones's names. Once housing's record
 * and education's go, the merge is undone the other way round: Smith's record, first in the
 * pass's order, keeps the merged id and Jones's gets a new one. What was logged under Smith's
 * own id before the merge is about Smith alone.
 */
describe('accesses to two people after a merge was undone with the merged-in part keeping the id', () => {
  let h: ImportHarness;
  const N1 = nhs(562);
  const send = async (blobName: string, lines: readonly string[]) =>
    expect((await h.importFile(blobName, lines.join('\n'))).outcome).toBe('loaded');
  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, [
      [
        'la-adult-social-care',
        ['firstName,lastName,dateOfBirth,homePostcode,nhsNumber,isDisabled', `Alice,Smith,2012-03-04,ME14 1XX,${N1},N`],
      ],
      aliceAsTwoPeople(N1)[1]!,
      aliceAsTwoPeople(N1)[2]!,
    ]);
    await linkPendingRecords(h.linkDeps());
    await access(h, await personOf(h, 'la-adult-social-care', 'ALICE'), 'smith-before-merge');
    await access(h, await personOf(h, 'la-education', 'ALICE'), 'jones-before-merge');
    await tick();
    await send(`la-housing/${DATASET}/a.csv`, [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      `Alice,Jones,2012-03-04,ME20 9AA,${N1},N`,
    ]);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    await tick();
  });
  afterAll(async () => h.close());

  it("does not show the part given a new id the other part's accesses from before the merge", async () => {
    const merged = await personOf(h, 'la-education', 'ALICE');
    expect(await personOf(h, 'la-adult-social-care', 'ALICE')).toBe(merged);
    await access(h, merged, 'while-merged');
    await tick();
    await send(`la-education/${DATASET}/b.csv`, [
      'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
      'Eve,Brown,2009-05-06,ME3 3AB,ED-9,N',
    ]);
    await send(`la-housing/${DATASET}/b.csv`, [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      'Eve,Brown,2009-05-06,ME3 3AB,,N',
    ]);
    await linkPeople(h.linkDeps(), AGREEMENT, 'full');
    const smith = await personOf(h, 'la-adult-social-care', 'ALICE');
    const jones = await personOf(h, 'la-childrens-social-care', 'ALICE');
    expect(smith).toBe(merged);
    expect(jones).not.toBe(merged);
    expect(await sar(h, smith)).toEqual(['smith-before-merge', 'while-merged']);
    expect(await sar(h, jones)).toEqual(['jones-before-merge', 'while-merged']);
  });
});

// Found by a review: 2df44a7 followed a move into an id whose records came by it, for the part split
// off from them; here the part split off (education's) is shown what was logged under the id of
// housing's record alone before it merged into theirs. The store keeps no record ids with a move,
// so it cannot tell this from education's own earlier id: the answer errs on showing no one else's.
describe('a part split off after its id merged on whole', () => {
  let h: ImportHarness;
  beforeAll(async () => {
    h = await createImportHarness();
    await importEach(h, carolThroughSocialCare(nhs(565)));
  });
  afterAll(async () => h.close());

  it('does not show the split-off part what was logged about records merged into its id earlier', async () => {
    const idOf = async (party: string) =>
      (
        await h.store.db
          .selectFrom('source_record')
          .select('id')
          .where('party_id', '=', party)
          .where('given_name', '=', 'CAROL')
          .executeTakeFirstOrThrow()
      ).id;
    const [housing, education, childrens] = (await Promise.all(
      ['la-housing', 'la-education', 'la-childrens-social-care'].map(idOf),
    )) as [string, string, string];
    const hold = async (recordIds: string[], personId: string, since: string | null) => {
      await h.store.db
        .updateTable('source_record')
        .set({ person_id: personId, person_since: since })
        .where('id', 'in', recordIds)
        .execute();
    };
    const move = async (from: string, to: string, heldSince: string | null) => {
      await tick();
      const at = new Date().toISOString();
      await recordPersonIdMoves(h.store.db, 'sqlite', [{ from, to, heldSince }], at);
      await tick();
      return at;
    };
    await hold([housing], 'id-v', null);
    await hold([education], 'id-w', null);
    await hold([childrens], 'id-x', null);
    await access(h, 'id-v', 'v-before-merge');
    const first = await move('id-v', 'id-w', null);
    await hold([housing], 'id-w', first);
    const merged = await move('id-w', 'id-x', null);
    await hold([housing, education], 'id-x', merged);
    const split = await move('id-x', 'id-y', merged);
    await hold([education], 'id-y', split);

    expect(await sar(h, 'id-x')).toEqual(['v-before-merge']);
    expect(await sar(h, 'id-y')).toEqual([]);
  });
});
