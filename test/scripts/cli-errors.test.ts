// The CLIs a DPO or an operator runs answer a mistake in one line: the setting by name (never its
// value), or the option as typed; never a stack trace.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function run(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('CLI errors', () => {
  it('npm run token names a mistyped option, and a malformed setting without its value', () => {
    const option = run('scripts/token.ts', ['--party', 'la-housing', '--rol', 'housing-officer']);
    expect(option.status).toBe(2);
    expect(option.stderr.trim()).toBe("token: Unknown option '--rol'");
    const setting = run('scripts/token.ts', ['--party', 'la-housing', '--role', 'dpo'], {
      PARTY_CLIENT_IDS: 'not-json-SECRET',
    });
    expect(setting.status).toBe(1);
    expect(setting.stderr).toContain('PARTY_CLIENT_IDS');
    expect(setting.stderr).not.toContain('SECRET');
    expect(setting.stderr).not.toMatch(/\n\s+at /);
  });

  it('npm run audit names a malformed setting in one line', () => {
    const result = run('scripts/audit.ts', ['verify'], { CURATED_MIN_CELL: 'abc' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('audit: Invalid configuration:\n  - CURATED_MIN_CELL: must be a number');
  });
});
