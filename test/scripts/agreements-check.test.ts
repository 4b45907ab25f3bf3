// `npm run agreements:check` answers the officer editing agreement files with the loader's own
// errors and warnings, each at its file and line, and an exit status a pipeline can act on.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { minimalEnv } from '../support/child-env.js';
import { runNode } from '../support/script-run.js';
import { AGREEMENTS_DIR, AGREEMENT_FILE_NAMES, KNOWN_AGREEMENT_FILES } from '../shared/agreements/agreement-files.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(args: string[], env: Record<string, string> = {}) {
  return runNode(['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/agreements-check.ts'), ...args], {
    cwd: ROOT,
    env: minimalEnv(env),
    timeout: 60_000,
  });
}

/** The summary of a folder read whole with no error, whatever its counts. */
const CLEAN_SUMMARY = new RegExp(
  `^${AGREEMENT_FILE_NAMES.length} agreements, \\d+ parties, \\d+ datasets, \\d+ purposes read; 0 errors, \\d+ warnings$`,
  'm',
);

/** A copy of the agreements folder with the Housing First file's `audit` key misspelt, and that key's line. */
function folderWithMisspeltKey(): { folder: string; file: string; line: number } {
  const folder = join(dir, 'misspelt');
  cpSync(AGREEMENTS_DIR, folder, { recursive: true });
  const file = join(folder, KNOWN_AGREEMENT_FILES.housingFirst);
  const text = readFileSync(file, 'utf8').replace('\naudit:\n', '\naudti:\n');
  writeFileSync(file, text);
  return { folder, file, line: text.split('\n').indexOf('audti:') + 1 };
}

describe.concurrent('npm run agreements:check', () => {
  it('reads the agreements folder given, prints its warnings at their lines and a summary, and exits 0', async () => {
    const result = await check([AGREEMENTS_DIR]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(CLEAN_SUMMARY);
    expect(result.stdout).toMatch(/^\S+\.yaml:\d+ \S+: warning: /m);
    expect(result.status).toBe(0);
  });

  it('reads the folder the settings name when given none', async () => {
    const result = await check([], { AGREEMENTS_DIR });
    expect(result.stdout).toMatch(CLEAN_SUMMARY);
    expect(result.status).toBe(0);
  });

  it('names a misspelt key by its file, line and path, counts the error, and exits 1', async () => {
    const { folder, file, line } = folderWithMisspeltKey();
    const result = await check([folder]);
    expect(result.stdout).toContain(
      `${file}:${line} audti: error: unknown key 'audti': lintel reads no such key here (misspelt?)\n`,
    );
    // The other files' warnings too: an error does not hide them, as it does when lintel starts.
    expect(result.stdout).toMatch(/^\S+\.yaml:\d+ \S+: warning: /m);
    expect(result.stdout).toMatch(/; 1 error, \d+ warnings\n$/);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(1);
  });

  it('refuses an option it does not know with its usage line, and exits 2', async () => {
    const result = await check(['--fix', AGREEMENTS_DIR]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "agreements:check: Unknown option '--fix'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--fix\"\nusage: npm run agreements:check [-- <folder>]\n",
    );
    expect(result.status).toBe(2);
  });

  it('refuses a folder that is not there, and exits 2', async () => {
    const result = await check([join(dir, 'no-such-folder')]);
    expect(result.stderr).toBe(
      `agreements:check: no folder ${join(dir, 'no-such-folder')}\nusage: npm run agreements:check [-- <folder>]\n`,
    );
    expect(result.status).toBe(2);
  });
});
