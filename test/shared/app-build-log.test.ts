import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_RECORD } from '../../shared/build-record.js';
import { createServices } from '../../shared/services.js';
import { loggedWhile } from '../support/logged-lines.js';
import { testSettings } from '../support/settings.js';

/** The JSON lines the services write while starting with `appRoot` as the app's root. */
async function startLines(appRoot: string): Promise<Record<string, unknown>[]> {
  const settings = testSettings({ LOG_LEVEL: 'info' });
  return (await loggedWhile(async () => (await createServices(settings, appRoot)).close())).lines;
}

describe('the commit a deployed app runs', () => {
  it('is logged at each start from the package build record, for its operator', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lintel-build-'));
    const commit = '0123456789abcdef0123456789abcdef01234567';
    writeFileSync(
      join(root, BUILD_RECORD),
      JSON.stringify({ commit, builtAt: '2026-12-06T03:00:00.000Z', uncommittedLeftOut: ['host.json (modified)'] }),
    );
    const lines = await startLines(root);
    const build = lines.filter((line) => line.event === 'app.build');
    expect(build).toEqual([expect.objectContaining({ level: 'info', commit, builtAt: '2026-12-06T03:00:00.000Z' })]);
    // What the build left out is for whoever packaged it, not the app's log.
    expect(JSON.stringify(build)).not.toContain('host.json');
  });

  it('is not logged where the app root holds no build record, as in a local run', async () => {
    const lines = await startLines(mkdtempSync(join(tmpdir(), 'lintel-nobuild-')));
    expect(lines.some((line) => line.event === 'app.build')).toBe(false);
  });
});
