import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { decideCandidate } from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { JONATHANS, openCandidateNamed, personOf, reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

const { housing, socialCare } = JONATHANS;

/** Pair scoring no pair reaches (a probability is at most 1): a confirmed pair scores below it. */
const belowThresholdOn = (h: ImportHarness) => ({
  ...h.linkDeps(),
  probabilistic: { reviewThreshold: 2, randomPairs: 1_000 },
});

/** A store holding both Jonathans' extracts, linked by a pass that proposed them as a candidate. */
async function jonathansProposed(): Promise<ImportHarness> {
  const h = await createImportHarness();
  expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing)).outcome).toBe('loaded');
  expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
  await linkPeople(reviewLinkDeps(h), AGREEMENT, 'full');
  return h;
}

/**
 * An officer confirms the two Jonathans, proposed at threshold 0. Later passes score pairs
 * against a threshold no pair reaches (a probability is at most 1): the confirmed pair scores
 * below it, as one whose record moved house may score below the agreement's.
 */
describe('a confirmed pair that a later pass scores below the review threshold', () => {
  let h: ImportHarness;
  const proposing = () => reviewLinkDeps(h);
  const belowThreshold = () => belowThresholdOn(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');

  beforeAll(async () => {
    h = await jonathansProposed();
    const candidate = await openCandidateNamed(h, 'Jonathan');
    expect(candidate).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    expect(
      (await decideCandidate(proposing(), candidate!, { decision: 'confirmed', by, at: new Date() })).outcome,
    ).toBe('decided');
    expect(await jonathanOf('la-childrens-social-care')).toBe(await jonathanOf('la-housing'));
  });
  afterAll(async () => h.close());

  it('keeps the two records one person when the same records are linked again', async () => {
    const joined = await jonathanOf('la-housing');
    const summary = await linkPeople(belowThreshold(), AGREEMENT, 'full');
    expect(summary.candidates).toBe(0);
    expect(await jonathanOf('la-housing')).toBe(joined);
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
    expect(summary).toMatchObject({ candidatesConfirmedEarlier: 0, confirmedNotProposed: 1 });
  });

  it('keeps them one person when housing re-sends its Jonathan at another address', async () => {
    const joined = await jonathanOf('la-housing');
    const moved = housing.replace('Jonathan,Smyth,2012-03-04,ME14 1XX', 'Jonathan,Smyth,2012-03-04,ME16 8ZZ');
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, moved)).outcome).toBe('loaded');
    const summary = await linkPeople(belowThreshold(), AGREEMENT, 'incremental');
    expect(await jonathanOf('la-housing')).toBe(joined);
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
    expect(summary).toMatchObject({ candidates: 0, confirmedNotProposed: 1 });
    // The confirmed link of the records held now, not a candidate to be asked about again.
    const links = await h.store.db
      .selectFrom('record_link')
      .select(['status', 'tier'])
      .where('agreement_id', '=', AGREEMENT)
      .where('tier', '=', 5)
      .execute();
    expect(links).toEqual([{ status: 'confirmed', tier: 5 }]);
  });

  it('still refuses two NI numbers: the pair is kept apart once the two records hold different ones', async () => {
    const housingWithNi = [
      'firstName,lastName,dateOfBirth,homePostcode,nationalInsuranceNumber,inRentArrears',
      'Jonathan,Smyth,2012-03-04,ME16 8ZZ,JG103759A,Y',
      'Mary,Green,1980-05-06,ME15 2YY,,N',
    ].join('\n');
    const socialCareWithNi = [
      'firstName,lastName,dateOfBirth,homePostcode,nationalInsuranceNumber,childProtection',
      'Jonathan,Smith,2012-03-04,ME14 1XX,AB123456C,Y',
      'Peter,Green,1979-07-08,ME15 2YY,,N',
    ].join('\n');
    expect((await h.importFile(`la-housing/${DATASET}/c.csv`, housingWithNi)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/b.csv`, socialCareWithNi)).outcome).toBe('loaded');
    const summary = await linkPeople(belowThreshold(), AGREEMENT, 'incremental');
    expect(await jonathanOf('la-housing')).not.toBe(await jonathanOf('la-childrens-social-care'));
    expect(summary).toMatchObject({ confirmedNotProposed: 0 });
  });
});

/**
 * The same confirmation, but the review pass that should follow it fails (the confirmation
 * stands: link-review-api.ts), and housing's next snapshot moves Jonathan before any other pass
 * has run. The confirmation is about the records held when the officer decided; the pass after
 * the move must still find them, though it never saw the confirmed pair.
 */
describe('a confirmation whose review pass failed, before one of its records moves', () => {
  let h: ImportHarness;
  const proposing = () => reviewLinkDeps(h);
  const belowThreshold = () => belowThresholdOn(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');

  beforeAll(async () => {
    h = await jonathansProposed();
  });
  afterAll(async () => h.close());

  it('keeps the two records one person once housing re-sends its Jonathan at another address', async () => {
    const candidate = await openCandidateNamed(h, 'Jonathan');
    expect(candidate).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    // The review pass cannot record its run: it fails after the decision has committed.
    await sql`alter table link_run rename to link_run_unreachable`.execute(h.store.db);
    try {
      await expect(
        decideCandidate(proposing(), candidate!, { decision: 'confirmed', by, at: new Date() }),
      ).rejects.toThrow();
    } finally {
      await sql`alter table link_run_unreachable rename to link_run`.execute(h.store.db);
    }
    expect(await h.store.db.selectFrom('link_decision').select('decision').execute()).not.toEqual([]);

    const moved = housing.replace('Jonathan,Smyth,2012-03-04,ME14 1XX', 'Jonathan,Smyth,2012-03-04,ME16 8ZZ');
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, moved)).outcome).toBe('loaded');
    const summary = await linkPeople(belowThreshold(), AGREEMENT, 'incremental');
    expect({
      joined: (await jonathanOf('la-housing')) === (await jonathanOf('la-childrens-social-care')),
      confirmedNotProposed: summary.confirmedNotProposed,
    }).toEqual({ joined: true, confirmedNotProposed: 1 });
  });
});
