import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Start the real `npm start` entry point (through tsx, so no build is needed) in an empty folder. */
function startHost(env: Record<string, string>) {
  const cwd = mkdtempSync(join(tmpdir(), 'lintel-startup-'));
  return spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '../../local/host.ts')],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

describe('start-up with bad settings', () => {
  it('exits non-zero naming a missing required setting', () => {
    const result = startHost({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('AzureWebJobsStorage: is required');
  });

  it('exits non-zero naming a malformed setting, without its value', () => {
    const result = startHost({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', STORE_ENGINE: 'oracle-s3cr3t' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('STORE_ENGINE: must be one of sqlite, mssql');
    expect(result.stderr).not.toContain('s3cr3t');
  });
});
