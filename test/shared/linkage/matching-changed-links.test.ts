import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPendingTick } from '../../support/link-pending-tick.js';
import {
  corbyAndKetteringJoinedByNi,
  corbySearchForItsApplicant,
  keywaysPasses,
} from '../../support/register-applicants.js';
import { restartTestHost, startTestHost, type TestHost } from '../../support/test-host.js';
import { agreementsFolderWith, KEYWAYS_MATCHING_WITHOUT_NI_TIER } from '../agreements/agreement-files.js';

/**
 * The Keyways DSA re-signed with only its matching changed (no NI number tier), its version
 * unchanged. Corby's applicant and Kettering's, under other names, were one person by their NI
 * number alone. The timer's pass noted the version and the datasets' sources alone, so it saw
 * nothing re-signed: they stayed joined, and Corby's officer was shown Kettering's record, until
 * the register's next import or a manual `npm run relink`.
 */
describe('the first timer pass after a re-signing changed only the matching rules', () => {
  let t: TestHost;
  const passes = () => keywaysPasses(t);

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    await corbyAndKetteringJoinedByNi(s);
    const joined = await corbySearchForItsApplicant(t);
    expect(joined.text, 'one person by the NI number tier').toContain('KETTERING-PHONE');

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith(KEYWAYS_MATCHING_WITHOUT_NI_TIER),
    });
    await linkPendingTick();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("shows Corby's officer its own applicant alone, not Kettering's record the old NI tier joined", async () => {
    const found = await corbySearchForItsApplicant(t);
    expect(found.status, found.text).toBe(200);
    expect(found.text).toContain('CORBY-PHONE');
    expect(found.text).not.toContain('KETTERING-PHONE');
  });

  it('runs no further pass at the next tick, the new rules once linked', async () => {
    const before = await passes();
    expect(before, "the pass under the old rules, and the timer's under the new").toHaveLength(2);
    await linkPendingTick();
    expect(await passes()).toEqual(before);
  });
});
