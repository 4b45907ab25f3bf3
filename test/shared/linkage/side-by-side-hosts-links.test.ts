import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import {
  corbySearchForItsApplicant,
  KEYWAYS_AGREEMENT as AGREEMENT,
  keptLogger,
  keywaysHostsSideBySide,
  keywaysPasses,
  type KeptLine,
} from '../../support/register-applicants.js';
import type { TestHost } from '../../support/test-host.js';
import { KEYWAYS_MATCHING_WITHOUT_NI_TIER, type AgreementTextEdit } from '../agreements/agreement-files.js';

/** The Keyways file's revision bumped, as its header asks at every change. */
const KEYWAYS_VERSION_BUMPED: AgreementTextEdit = {
  agreement: 'keyways',
  from: "version: '1.1.0'",
  to: "version: '1.2.0'",
};

/**
 * A deployment: the host on the Keyways file as it was (1.1.0, NI number tier) and the host on the
 * re-signed one (1.2.0, no NI number tier) run side by side on one store until the old one stops.
 * Each one's timer saw the other's last pass noting other files, and ran a pass: at every tick the
 * two applicants were split and joined again, and Corby's officer was shown Kettering's record or
 * not depending on which host ticked last. The older version's host runs no timer pass for the
 * agreement while a newer version's pass is the last, and says so once.
 */
describe('two hosts on different versions of an agreement, side by side on one store', () => {
  let before: TestHost;
  let after: TestHost;
  const oldHostLog: KeptLine[] = [];
  const passes = () => keywaysPasses(after);
  const corbySearch = () => corbySearchForItsApplicant(after);
  const tickOld = () => linkPendingRecords({ ...before.host.services, logger: keptLogger(oldHostLog) });
  const tickNew = () => linkPendingRecords(after.host.services);

  beforeAll(async () => {
    ({ before, after } = await keywaysHostsSideBySide([...KEYWAYS_MATCHING_WITHOUT_NI_TIER, KEYWAYS_VERSION_BUMPED]));
    await tickNew();
  });
  afterAll(async () => {
    await after?.stop();
    await before?.stop();
  });

  it("links under the new version at the new host's tick: Corby's officer no longer sees Kettering's record", async () => {
    const found = await corbySearch();
    expect(found.status, found.text).toBe(200);
    expect(found.text).toContain('CORBY-PHONE');
    expect(found.text).not.toContain('KETTERING-PHONE');
    expect(await passes()).toHaveLength(2);
  });

  it("runs no pass at the old host's ticks, so the people stay as the new version links them", async () => {
    const linked = await passes();
    await tickOld();
    expect((await corbySearch()).text, "the new version's split kept").not.toContain('KETTERING-PHONE');
    await tickOld();
    expect(await passes()).toEqual(linked);
    await tickNew();
    expect(await passes(), "nor at the new host's next tick").toEqual(linked);
  });

  it('warns once, by the agreement id and the two versions', () => {
    const warnings = oldHostLog.filter((l) => l.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        event: 'linkage.older-agreement-version',
        fields: { agreementId: AGREEMENT, version: '1.1.0', lastPassVersion: '1.2.0' },
      },
    ]);
  });

  // An import on the old host still has its pass, so that its records are found.
  it("lets an import's pass on the old host link only its new records, not every pair under the old rules", async () => {
    const summary = await linkPeople(before.host.services, AGREEMENT, 'incremental');
    expect(summary.sourcePairsLinked).toBe(0);
    expect((await corbySearch()).text).not.toContain('KETTERING-PHONE');
  });
});
