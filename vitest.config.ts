import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/azurite-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites share one Azurite; files run in parallel, each with its own containers' blobs.
    pool: 'forks',
    // Vitest's default is one file at a time on a 2-core machine (cores − 1), and most files spend
    // much of their time waiting on Azurite, a child process or a store's threads, which leaves
    // the second core idle while `.ci/run` has 30 minutes.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A file's concurrent cases (the CLIs', each a tsx process mostly compiling on one thread) at
    // most one a core: more at once would only share the cores, each case nearer its timeout.
    maxConcurrency: availableParallelism(),
  },
});
