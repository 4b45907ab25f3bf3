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
import { KEYWAYS_MATCHING_WITHOUT_NI_TIER } from '../agreements/agreement-files.js';

/**
 * A deployment whose operator edited the Keyways matching (no NI number tier) and forgot to bump
 * its version: the host on the file as it was and the host on the edited one share one store, both
 * on 1.1.0. With no version order to go by, each one's timer saw the other's last pass noting other
 * files and ran a pass: at every tick the two applicants were split and joined again, and Corby's
 * officer was shown Kettering's record or not depending on which host ticked last. The store
 * remembers the files of the host that started last (`agreement_party.content_hash`): the earlier
 * host runs no timer pass for the agreement, and says so once.
 */
describe('two hosts on different files under one version of an agreement, side by side on one store', () => {
  let before: TestHost;
  let after: TestHost;
  const oldHostLog: KeptLine[] = [];
  const passes = () => keywaysPasses(after);
  const corbySearch = () => corbySearchForItsApplicant(after);
  const tickOld = () => linkPendingRecords({ ...before.host.services, logger: keptLogger(oldHostLog) });
  const tickNew = () => linkPendingRecords(after.host.services);

  beforeAll(async () => {
    ({ before, after } = await keywaysHostsSideBySide(KEYWAYS_MATCHING_WITHOUT_NI_TIER));
    await tickNew();
  });
  afterAll(async () => {
    await after?.stop();
    await before?.stop();
  });

  it("links under the later host's files at its tick: Corby's officer no longer sees Kettering's record", async () => {
    expect(before.host.services.agreements.agreement(AGREEMENT)?.agreement.version).toBe(
      after.host.services.agreements.agreement(AGREEMENT)?.agreement.version,
    );
    const found = await corbySearch();
    expect(found.status, found.text).toBe(200);
    expect(found.text).toContain('CORBY-PHONE');
    expect(found.text).not.toContain('KETTERING-PHONE');
    expect(await passes()).toHaveLength(2);
  });

  it("runs no pass at the earlier host's ticks, so the people stay as the later host's files link them", async () => {
    const linked = await passes();
    for (let tick = 1; tick <= 3; tick++) {
      await tickOld();
      expect((await corbySearch()).text, `after the earlier host's tick ${tick}`).not.toContain('KETTERING-PHONE');
      await tickNew();
      expect((await corbySearch()).text, `after the later host's tick ${tick}`).not.toContain('KETTERING-PHONE');
    }
    expect(await passes(), 'no pass at either host').toEqual(linked);
  });

  it('warns once, by the agreement id, the version and short hashes of the two files', async () => {
    const remembered = await after.host.services.store.db
      .selectFrom('agreement_party')
      .select('content_hash')
      .where('agreement_id', '=', AGREEMENT)
      .executeTakeFirstOrThrow();
    const warnings = oldHostLog.filter((l) => l.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        event: 'linkage.other-agreement-files',
        fields: {
          agreementId: AGREEMENT,
          version: '1.1.0',
          rememberedHash: remembered.content_hash!.slice(0, 12),
          loadedHash: expect.stringMatching(/^[0-9a-f]{12}$/),
        },
      },
    ]);
    const { loadedHash, rememberedHash } = (warnings[0]!.fields ?? {}) as Record<string, string>;
    expect(loadedHash).not.toBe(rememberedHash);
  });

  // An import on the earlier host still has its pass, so that its records are found. After the
  // later host's tick, so that the last pass is one under its files whatever the ticks above did.
  it("lets an import's pass on the earlier host link only its new records, not every pair under its rules", async () => {
    await tickNew();
    const summary = await linkPeople(before.host.services, AGREEMENT, 'incremental');
    expect(summary.sourcePairsLinked).toBe(0);
    expect((await corbySearch()).text).not.toContain('KETTERING-PHONE');
  });
});
