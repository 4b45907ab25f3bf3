import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { decideCandidate, findCandidate, listCandidates } from '../../../shared/linkage/review-queue.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { personOf, reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

// Housing's Jonathan Smyth holds NI JG103759A; social care's Jonathan Smith holds none. An
// officer confirms they are one person. Adult social care sends a Jonathan Smith of the same date
// of birth with another NI number (AB123456C): a namesake the names rule may not join to
// housing's Jonathan, whose NI number differs.
const housing = [
  'firstName,lastName,dateOfBirth,homePostcode,nationalInsuranceNumber,inRentArrears',
  'Jonathan,Smyth,1990-03-04,ME14 1XX,JG103759A,Y',
  'Mary,Green,1980-05-06,ME15 2YY,,N',
].join('\n');
const socialCare = [
  'firstName,lastName,dateOfBirth,homePostcode,childProtection',
  'Jonathan,Smith,1990-03-04,ME14 1XX,Y',
  'Peter,Green,1979-07-08,ME15 2YY,N',
].join('\n');
const adult = [
  'firstName,lastName,dateOfBirth,homePostcode,nationalInsuranceNumber,isDisabled',
  'Jonathan,Smith,1990-03-04,ME20 9AA,AB123456C,N',
  'Eve,Brown,2009-05-06,ME3 3AB,,N',
].join('\n');

async function jonathanPair(h: ImportHarness) {
  for (const c of (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates) {
    const full = await findCandidate(h.store, c.candidateId);
    if (
      full?.recordsInFull.some((r) => r.source === 'la-housing' && r.attributes.firstName === 'Jonathan') &&
      full.recordsInFull.some((r) => r.source === 'la-childrens-social-care' && r.attributes.firstName === 'Jonathan')
    )
      return full;
  }
  return undefined;
}

describe('a confirmed pair and a names link to a third record with another NI number', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const of = (party: string) => personOf(h, party, 'JONATHAN');

  beforeAll(async () => {
    h = await createImportHarness();
    expect((await h.importFile(`la-housing/${DATASET}/a.csv`, housing)).outcome).toBe('loaded');
    expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, socialCare)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'full');
    const candidate = await jonathanPair(h);
    expect(candidate).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    expect((await decideCandidate(deps(), candidate!, { decision: 'confirmed', by, at: new Date() })).outcome).toBe(
      'decided',
    );
    expect(await of('la-housing')).toBe(await of('la-childrens-social-care'));
    expect((await h.importFile(`la-adult-social-care/${DATASET}/a.csv`, adult)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'incremental');
  });
  afterAll(async () => h.close());

  it('does not put two NI numbers in one person by the names rule', async () => {
    expect(
      await of('la-adult-social-care'),
      "adult social care's Jonathan (NI AB123456C) joined to housing's (NI JG103759A) by date of birth + names",
    ).not.toBe(await of('la-housing'));
  });
});
