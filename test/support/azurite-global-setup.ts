import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { THREAD_BUNDLES_VARIABLE } from '../../shared/threads/module-worker.js';
import { TEMP_VARIABLES } from './child-env.js';
import { buildThreadBundles } from './thread-bundles.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
    testRunTempDir: string;
    /** Whether the run is vitest's watch mode, which builds no thread bundles. */
    watchMode: boolean;
  }
}

/**
 * One real Azurite for the whole run, on a free port, and one folder for everything the run
 * writes to the temporary root: the tests' stores, their workbooks, Azurite's blobs. Tests make
 * their folders with `mkdtempSync(join(tmpdir(), …))` and leave them; without this each run left
 * about 1 GB behind. The workers and the CLIs and hosts they start inherit this environment (or
 * are given it by minimalEnv), so their tmpdir() is the run's folder, and the teardown removes it
 * whole.
 *
 * And, for `vitest run` (not watch mode, where the sources change under a run), the threads'
 * modules bundled once (test/support/thread-bundles.ts), which every thread the tests start
 * loads instead of compiling them through tsx again.
 */
export default async function setup(project: TestProject) {
  const run = mkdtempSync(join(tmpdir(), 'lintel-run-'));
  const previous = [...TEMP_VARIABLES, THREAD_BUNDLES_VARIABLE].map((name) => [name, process.env[name]] as const);
  let bundles: string | undefined;
  const restore = () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(run, { recursive: true, force: true });
    if (bundles !== undefined) rmSync(bundles, { recursive: true, force: true });
  };
  // Set here, before vitest forks its workers: each fork's environment is a copy of this one.
  for (const name of TEMP_VARIABLES) process.env[name] = run;
  let azurite;
  try {
    if (!project.config.watch) {
      bundles = await buildThreadBundles(fileURLToPath(new URL('../../', import.meta.url)));
      process.env[THREAD_BUNDLES_VARIABLE] = bundles;
    } else {
      // Nor one named by the shell: built before an edit, it would run the code as it was.
      delete process.env[THREAD_BUNDLES_VARIABLE];
    }
    azurite = await startAzurite({ port: await freePort(), location: join(run, 'azurite') });
  } catch (error) {
    restore();
    throw error;
  }
  project.provide('azuriteConnectionString', azurite.connectionString);
  project.provide('testRunTempDir', run);
  project.provide('watchMode', project.config.watch);
  return async () => {
    try {
      // Azurite writes to its folder until it has stopped.
      await azurite.stop();
    } finally {
      restore();
    }
  };
}
