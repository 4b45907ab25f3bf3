import { describe, expect, it } from 'vitest';
import type { Settings } from '../../../shared/config.js';
import { createServices } from '../../../shared/services.js';
import { loggedWhile, type LoggedLine } from '../../support/logged-lines.js';
import { testSettings } from '../../support/settings.js';
import { agreementsFolderWith } from './agreement-files.js';

/** The `agreements.warning` lines a host writes while starting on `settings`. */
async function agreementWarnings(settings: Settings): Promise<LoggedLine[]> {
  const { lines } = await loggedWhile(async () => (await createServices({ ...settings, LOG_LEVEL: 'warn' })).close());
  return lines.filter((line) => line.event === 'agreements.warning' && String(line.path).startsWith('matching '));
}

describe('the start-up warning for a matching key lintel cannot run', () => {
  it('says a cut identifier key links nothing and that a lookup still finds people by the whole identifier', async () => {
    const settings = {
      ...testSettings(),
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'keyways',
          from: '- [{ field: nationalInsuranceNumber }]',
          to: '- [{ field: nationalInsuranceNumber, prefix: 6 }]',
        },
      ]),
    };
    const warnings = await agreementWarnings(settings);
    expect(warnings).toEqual([
      expect.objectContaining({ file: expect.stringContaining('keyways'), path: 'matching tier 1 key 1' }),
    ]);
    expect(warnings[0]!.message).toMatch(/links nothing/);
    expect(warnings[0]!.message).toMatch(/a lookup still finds people by the whole ni identifier/);
  });

  it('says a names key links nothing and fills none of the name, date-of-birth or postcode columns', async () => {
    const settings = {
      ...testSettings(),
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'keyways',
          from: '- [{ field: dateOfBirth }, { field: lastName }, { field: firstName, prefix: 3 }]',
          to: '- [{ field: dateOfBirth }, { field: lastName }, { field: firstName, prefix: 4 }]',
        },
      ]),
    };
    const warnings = await agreementWarnings(settings);
    expect(warnings).toEqual([expect.objectContaining({ path: 'matching tier 2 key 1' })]);
    expect(warnings[0]!.message).toMatch(/links nothing/);
    expect(warnings[0]!.message).toMatch(/fills no name, date-of-birth or postcode column/);
  });
});
