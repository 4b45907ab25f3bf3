import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { basename, join, relative } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { TestProject } from 'vitest/node';
import { THREAD_BUNDLES_VARIABLE } from '../../shared/threads/module-worker.js';
import setup from './azurite-global-setup.js';
import { minimalEnv } from './child-env.js';

/**
 * Every test makes its folders with `mkdtempSync(join(tmpdir(), …))` and leaves them (a store and
 * its WAL can be tens of MB); `npm test` run a few dozen times filled a newcomer's disk. They are
 * all made inside one folder per run, which the global setup removes when the run ends.
 */

const inside = (dir: string, path: string) => !relative(dir, path).startsWith('..') && relative(dir, path) !== '';

describe('the test run’s temporary folder', () => {
  it('a test’s tmpdir() is the folder the global setup made for this run', () => {
    const run = inject('testRunTempDir');
    expect(run, 'the global setup provides no run folder').toBeTypeOf('string');
    expect(basename(run)).toMatch(/^lintel-run-/);
    expect(tmpdir()).toBe(run);
    expect(inside(run, mkdtempSync(join(tmpdir(), 'lintel-test-')))).toBe(true);
  });

  it('a CLI or host a test starts with its environment puts its temporary files there too', () => {
    const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())'], {
      env: process.env,
      encoding: 'utf8',
    });
    expect(child).toBe(inject('testRunTempDir'));
  });

  it('a script a test starts through tsx with a minimal environment keeps tsx’s cache there too', () => {
    // tsx caches what it compiles in tmpdir()/tsx-<uid>; a child given PATH alone wrote it to /tmp.
    const run = inject('testRunTempDir');
    const cache = join(run, `tsx-${String(process.geteuid?.() ?? userInfo().username)}`);
    const cached = () => (existsSync(cache) ? readdirSync(cache) : []);
    const before = cached();
    // A script of its own, so tsx compiles it now and caches it, whatever this run compiled before.
    const script = join(mkdtempSync(join(tmpdir(), 'lintel-tsx-cache-')), 'script.ts');
    writeFileSync(script, `const id: string = '${randomUUID()}';\nprocess.stdout.write(id);\n`);
    execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), script], {
      env: minimalEnv(),
      encoding: 'utf8',
    });
    expect(cached().filter((entry) => !before.includes(entry))).toHaveLength(1);
  });

  it('the teardown removes the run folder, Azurite’s included, and the thread bundles, and gives back the previous environment', async () => {
    const variables = () => ({
      TMPDIR: process.env.TMPDIR,
      TEMP: process.env.TEMP,
      TMP: process.env.TMP,
      [THREAD_BUNDLES_VARIABLE]: process.env[THREAD_BUNDLES_VARIABLE],
    });
    const before = variables();
    const provided: Record<string, unknown> = {};
    const project = {
      provide: (key: string, value: unknown) => (provided[key] = value),
      config: { watch: false },
    } as unknown as TestProject;
    const teardown = await setup(project);
    const run = provided.testRunTempDir as string;
    const bundles = process.env[THREAD_BUNDLES_VARIABLE];
    try {
      expect(run).toBeTypeOf('string');
      expect(tmpdir()).toBe(run);
      expect(readdirSync(run)).toContain('azurite');
      writeFileSync(join(mkdtempSync(join(tmpdir(), 'lintel-import-')), 'lintel.db'), 'a store');
      expect(bundles).not.toBe(before[THREAD_BUNDLES_VARIABLE]);
      expect(existsSync(join(bundles!, 'shared/audit/access-log-thread.mjs'))).toBe(true);
    } finally {
      await teardown();
    }
    expect(existsSync(run)).toBe(false);
    expect(existsSync(bundles!)).toBe(false);
    expect(variables()).toEqual(before);
  });
});
