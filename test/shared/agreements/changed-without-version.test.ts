import { describe, expect, it } from 'vitest';
import type { Settings } from '../../../shared/config.js';
import { createServices } from '../../../shared/services.js';
import { loggedWhile, type LoggedLine } from '../../support/logged-lines.js';
import { testSettings } from '../../support/settings.js';
import { agreementsFolderWith, KEYWAYS_MATCHING_WITHOUT_NI_TIER, rawAgreement } from './agreement-files.js';

/**
 * An agreement file's `version` is written to every access-log entry: an edit that leaves it as
 * it was makes entries under that version name two sets of rules. A host restarted on such a file
 * says so, at start, for the operator to bump the version.
 */
const KEYWAYS = 'keyways-housing-allocation';
const KEYWAYS_VERSION = String(rawAgreement('keyways').version);

/** The warnings a host writes while starting on `settings`. */
async function startWarnings(settings: Settings): Promise<LoggedLine[]> {
  const { lines } = await loggedWhile(async () => (await createServices({ ...settings, LOG_LEVEL: 'warn' })).close());
  return lines.filter((line) => line.event === 'agreements.changed-without-version');
}

describe('an agreement file changed without its version bumped', () => {
  it('is named by the host restarted on it, once, with ids, the version and short hashes only', async () => {
    const settings = testSettings();
    await (await createServices(settings)).close();
    const edited = { ...settings, AGREEMENTS_DIR: agreementsFolderWith(KEYWAYS_MATCHING_WITHOUT_NI_TIER) };

    const warnings = await startWarnings(edited);

    expect(warnings).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        event: 'agreements.changed-without-version',
        agreementId: KEYWAYS,
        version: KEYWAYS_VERSION,
        rememberedHash: expect.stringMatching(/^[0-9a-f]{12}$/),
        loadedHash: expect.stringMatching(/^[0-9a-f]{12}$/),
      },
    ]);
    expect(warnings[0]!.rememberedHash).not.toBe(warnings[0]!.loadedHash);
    // The new content is remembered: the next start on the same files is quiet.
    expect(await startWarnings(edited)).toEqual([]);
    // As is going back to the files as they were, under the same version: named again.
    expect(await startWarnings(settings)).toEqual([
      expect.objectContaining({ agreementId: KEYWAYS, version: KEYWAYS_VERSION }),
    ]);
  });

  it('is not named on a restart on unchanged files', async () => {
    const settings = testSettings();
    await (await createServices(settings)).close();
    expect(await startWarnings(settings)).toEqual([]);
    expect(await startWarnings({ ...settings, AGREEMENTS_DIR: agreementsFolderWith([]) })).toEqual([]);
  });

  it('is not named where the version was bumped with the change', async () => {
    const settings = testSettings();
    await (await createServices(settings)).close();
    const bumped = agreementsFolderWith([
      ...KEYWAYS_MATCHING_WITHOUT_NI_TIER,
      { agreement: 'keyways', from: `version: '${KEYWAYS_VERSION}' #`, to: `version: '${KEYWAYS_VERSION}.1' #` },
    ]);
    expect(await startWarnings({ ...settings, AGREEMENTS_DIR: bumped })).toEqual([]);
  });

  it('is not named for a comment edited, which changes no rule', async () => {
    const settings = testSettings();
    await (await createServices(settings)).close();
    const commented = agreementsFolderWith([
      {
        agreement: 'keyways',
        from: '# revision of this file; bump on every change\n',
        to: '# the revision of this file, bumped on every change\n',
      },
    ]);
    expect(await startWarnings({ ...settings, AGREEMENTS_DIR: commented })).toEqual([]);
  });
});
