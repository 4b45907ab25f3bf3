import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { decideCandidate, findCandidate, listCandidates } from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { JONATHANS, reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

/**
 * Housing holds two Jonathan Smyths born 2012-03-04, at two addresses: two people, namesakes.
 * Social care holds a Jonathan Smith of that date at the first address. An officer says the
 * social care record is the first housing Jonathan (ME14), and not the second (ME16).
 */
const housingBoth = [
  'firstName,lastName,dateOfBirth,homePostcode,inRentArrears',
  'Jonathan,Smyth,2012-03-04,ME14 1XX,Y',
  'Jonathan,Smyth,2012-03-04,ME16 8ZZ,N',
  'Mary,Green,1980-05-06,ME15 2YY,N',
].join('\n');
/** Housing's next extract: the first Jonathan's tenancy has ended; the second is unchanged. */
const housingSecondOnly = [
  'firstName,lastName,dateOfBirth,homePostcode,inRentArrears',
  'Jonathan,Smyth,2012-03-04,ME16 8ZZ,N',
  'Mary,Green,1980-05-06,ME15 2YY,Y',
].join('\n');
const { socialCare } = JONATHANS;

describe("an officer's confirmation made while the source held a namesake", () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  /** The open candidate pairing social care's Jonathan with housing's Jonathan at `postcode`. */
  const pairAt = async (postcode: string) => {
    for (const c of (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates) {
      const full = await findCandidate(h.store, c.candidateId);
      if (
        full?.recordsInFull.every((r) => r.attributes.firstName === 'Jonathan') &&
        full.recordsInFull.some((r) => r.attributes.homePostcode === postcode && r.source.startsWith('la-housing'))
      )
        return full;
    }
    return undefined;
  };
  /** The person ids of the party's Jonathans. */
  const jonathansOf = async (party: string) =>
    (
      await h.store.db
        .selectFrom('source_record')
        .select('person_id')
        .where('party_id', '=', party)
        .where('given_name', '=', 'JONATHAN')
        .execute()
    ).map((r) => r.person_id);
  const decide = async (postcode: string, decision: 'confirmed' | 'rejected', requestId: string) => {
    const candidate = await pairAt(postcode);
    expect(candidate).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId };
    expect((await decideCandidate(deps(), candidate!, { decision, by, at: new Date() })).outcome).toBe('decided');
  };

  beforeEach(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housingBoth)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
  });
  afterEach(async () => h.close());

  it('is not carried to the namesake the officer rejected once the confirmed record leaves', async () => {
    await decide('ME16 8ZZ', 'rejected', 'r-1');
    // Decided after the rejection, a moment later.
    await new Promise((r) => setTimeout(r, 5));
    await decide('ME14 1XX', 'confirmed', 'r-2');
    const [socialCareJonathan] = await jonathansOf('la-childrens-social-care');
    expect(await jonathansOf('la-housing')).toContain(socialCareJonathan);

    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, housingSecondOnly)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
    // Housing now holds one Jonathan: the second.
    const [second] = await jonathansOf('la-housing');
    const [social] = await jonathansOf('la-childrens-social-care');
    // The officer said these two are different people.
    expect(second).not.toBe(social);
  });

  it('stays when the officer then rejects the namesake', async () => {
    await decide('ME14 1XX', 'confirmed', 'r-4');
    await new Promise((r) => setTimeout(r, 5));
    await decide('ME16 8ZZ', 'rejected', 'r-5');
    await linkPeople(deps(), AGREEMENT, 'full');
    const [social] = await jonathansOf('la-childrens-social-care');
    const housing = await jonathansOf('la-housing');
    // Still one person with the confirmed Jonathan, and not with the rejected one.
    expect(housing.filter((id) => id === social)).toHaveLength(1);
    expect(await pairAt('ME14 1XX')).toBeUndefined();
  });

  it('does not link the rejected namesake once the confirmed one is alone, then gone', async () => {
    await decide('ME14 1XX', 'confirmed', 'r-6');
    await new Promise((r) => setTimeout(r, 5));
    await decide('ME16 8ZZ', 'rejected', 'r-7');
    const only = (postcode: string, flag: string) =>
      [
        'firstName,lastName,dateOfBirth,homePostcode,inRentArrears',
        `Jonathan,Smyth,2012-03-04,${postcode},Y`,
        `Mary,Green,1980-05-06,ME15 2YY,${flag}`,
      ].join('\n');
    // The ME16 Jonathan leaves: the confirmed one is alone, and a pass finds his confirmation.
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, only('ME14 1XX', 'Y'))).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
    // Then a Jonathan of that date at another address: he may be the one the officer rejected.
    expect((await h.importFile(`la-housing/${DATASET}/c.csv`, only('ME19 9BB', 'N'))).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
    expect(await pairAt('ME19 9BB')).toMatchObject({ status: 'candidate' });
  });

  it('is not carried to a namesake no officer has judged once the confirmed record leaves', async () => {
    await decide('ME14 1XX', 'confirmed', 'r-3');
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, housingSecondOnly)).outcome).toBe('loaded');
    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    // Housing now holds one Jonathan: the second.
    const [second] = await jonathansOf('la-housing');
    const [social] = await jonathansOf('la-childrens-social-care');
    expect(summary.candidatesConfirmedEarlier).toBe(0);
    expect(second).not.toBe(social);
    expect(await pairAt('ME16 8ZZ')).toMatchObject({ status: 'candidate' });
  });
});

describe("an officer's rejection after a confirmation kept under the identity key", () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const housing = (...jonathans: string[]) =>
    [
      'firstName,lastName,dateOfBirth,homePostcode,inRentArrears',
      ...jonathans.map((postcode) => `Jonathan,Smyth,2012-03-04,${postcode},Y`),
      'Mary,Green,1980-05-06,ME15 2YY,N',
    ].join('\n');
  /** The candidate pairing social care's Jonathan with housing's Jonathan at `postcode`. */
  const pairAt = async (postcode: string) => {
    const rows = await h.store.db
      .selectFrom('record_link as l')
      .innerJoin('source_record as a', 'a.id', 'l.record_a')
      .innerJoin('source_record as b', 'b.id', 'l.record_b')
      .select(['l.id'])
      .where('l.tier', '=', 5)
      .where('a.given_name', '=', 'JONATHAN')
      .where('b.given_name', '=', 'JONATHAN')
      .where((eb) => eb.or([eb('a.postcode', '=', postcode), eb('b.postcode', '=', postcode)]))
      .execute();
    expect(rows).toHaveLength(1);
    return (await findCandidate(h.store, rows[0]!.id))!;
  };
  const decide = async (postcode: string, decision: 'confirmed' | 'rejected', requestId: string) => {
    const candidate = await pairAt(postcode);
    expect(candidate.status).toBe('candidate');
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId };
    expect((await decideCandidate(deps(), candidate, { decision, by, at: new Date() })).outcome).toBe('decided');
    // Decisions a moment apart, as an officer's are.
    await new Promise((r) => setTimeout(r, 5));
  };
  const send = async (name: string, text: string) => {
    expect((await h.importFile(`la-housing/${DATASET}/${name}`, text)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
  };

  beforeEach(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing('ME14 1XX'))).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
  });
  afterEach(async () => h.close());

  it('is not overridden by the older confirmation once the namesake has gone', async () => {
    // Confirmed while housing's Jonathan is alone: kept under the identity key too.
    await decide('ME14 1XX', 'confirmed', 'r-1');
    // He moves while a namesake is in housing: asked again, and now rejected.
    await send('b.csv', housing('ME17 7AA', 'ME16 8ZZ'));
    await decide('ME17 7AA', 'rejected', 'r-2');
    // The namesake leaves and he moves again: the later rejection must not give way to the
    // earlier confirmation. He is asked about again, and not linked meanwhile.
    await send('c.csv', housing('ME19 9BB'));
    expect((await pairAt('ME19 9BB')).status).toBe('candidate');
    const people = await h.store.db
      .selectFrom('source_record')
      .select('person_id')
      .where('given_name', '=', 'JONATHAN')
      .execute();
    expect(new Set(people.map((p) => p.person_id)).size).toBe(2);
  });

  it('is not overridden by the older confirmation when the record moves back to where it was confirmed', async () => {
    await decide('ME14 1XX', 'confirmed', 'r-1');
    await send('b.csv', housing('ME17 7AA', 'ME16 8ZZ'));
    await decide('ME17 7AA', 'rejected', 'r-2');
    // Back at the confirmed address, the namesake gone (Mary's flag changed: another extract).
    await send('c.csv', housing('ME14 1XX').replace('ME15 2YY,N', 'ME15 2YY,Y'));
    expect((await pairAt('ME14 1XX')).status).toBe('candidate');
  });
});
