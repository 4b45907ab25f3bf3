import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPendingRecords } from '../../shared/linkage/pending-links.js';
import { enforceRetention, RETENTION_ACTION } from '../../shared/retention/enforce-retention.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { linkForReview, nhs, reviewLinkDeps } from '../support/linked-people.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
const JONATHAN = nhs(9007);
const NAMESAKE = nhs(9910);

/**
 * Jonathan Smith is in Housing's temporary accommodation, and known to education by his NHS
 * number; social care's record of him holds no NHS number, and social care also holds a namesake
 * born the same day at the same address with another NHS number (twins, say). Matched by date of
 * birth and names, social care's record of Jonathan could be either: it is left apart, waiting
 * for an officer. The namesake has no Housing record, so the joint-system retention pass deletes
 * them. With the namesake gone, social care's record is Jonathan's alone by date of birth and
 * names — yet the people stayed as formed with the namesake present, until a source happened to
 * send again: a housing officer searching by Jonathan's NHS number was shown no social-care
 * indicator (found by the linkage property test, seed 808).
 */
describe('a search after retention deleted a namesake that kept a record apart', () => {
  let t: TestHost;
  let extracts: HostExtracts;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
    await extracts.load('la-housing', DATASET, 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
      `Jonathan,Smith,2012-03-04,ME14 1XX,${JONATHAN},Y`,
    ]);
    await extracts.load('la-childrens-social-care', DATASET, 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,childProtection',
      'Jonathan,Smith,2012-03-04,ME14 1XX,,Y',
      `Jonathan,Smith,2012-03-04,ME14 1XX,${NAMESAKE},N`,
    ]);
    await extracts.load('la-education', DATASET, 'a.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,ehcp',
      `Jonathan,Smith,2012-03-04,ME14 1XX,${JONATHAN},Y`,
    ]);
    // Every pair the tier scores is a candidate: social care's record of Jonathan waits for an
    // officer against his Housing record, which keeps it through the retention pass.
    await linkForReview(t, AGREEMENT);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const search = () => callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: JONATHAN } });

  it("shows social care's indicators once the next pass has run", async () => {
    const before = await search();
    expect(before.status).toBe(200);
    expect(JSON.stringify(before.body), 'social care is apart while the namesake is held').not.toContain(
      'childProtection',
    );

    const [summary] = await enforceRetention(t.host.services, AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 1 });
    // The five-minute timer.
    await linkPendingRecords(reviewLinkDeps(extracts));

    const after = await search();
    expect(after.status).toBe(200);
    expect(JSON.stringify(after.body), 'social care joined Jonathan').toContain('childProtection');
    // The linking pass wrote nothing to the access log: the namesake's deletion is its one entry.
    const deletions = await t.host.services.store.db
      .selectFrom('access_log')
      .select('subject_ref')
      .where('action', '=', RETENTION_ACTION)
      .execute();
    expect(deletions).toHaveLength(1);
  }, 60_000);
});
