import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Test files that need a process of their own, where the rest share their worker's modules:
 * those that replace a product module with `vi.mock` (a mock applies only to modules imported
 * after it, and stays for every file after it in the same process), and those that read a
 * workbook on the test's own thread (useTempDirForThisThread), whose XML decoding is made whole
 * before exceljs's first load in the process and refuses to be afterwards.
 */
const OWN_PROCESS = [
  'test/shared/imports/row-worker.test.ts',
  'test/shared/imports/xlsx-temp-files.test.ts',
  'test/shared/imports/xlsx-text-decoding.test.ts',
  'test/shared/imports/xlsx-entry-crc.test.ts',
  'test/shared/imports/xlsx-cells-as-shown.test.ts',
];

/** What both projects below run with. */
const everyFile = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
  // A file's concurrent cases (the CLIs', each a tsx process mostly compiling on one thread) at
  // most one a core: more at once would only share the cores, each case nearer its timeout.
  maxConcurrency: availableParallelism(),
} as const;

export default defineConfig({
  test: {
    // Here, not in the projects: one Azurite for the whole run, which every file's containers share.
    globalSetup: ['test/support/azurite-global-setup.ts'],
    // Vitest's default is one file at a time on a 2-core machine (cores − 1), and most files spend
    // much of their time waiting on Azurite, a child process or a store's threads, which leaves
    // the second core idle while `.ci/run` has 30 minutes.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        // A fresh process for each of 365 files started Node and imported the same modules again
        // for every file: 515 s of "import" summed over the files in a run of 1,600 s. Files keep
        // their state in their own cases and harnesses, so a worker's modules serve every file it
        // runs (test/shared/linkage's 41 files: import 89 s → 10 s, the run 233 s → 181 s).
        test: {
          ...everyFile,
          name: 'shared-modules',
          include: ['test/**/*.test.ts'],
          exclude: OWN_PROCESS,
          isolate: false,
        },
      },
      { test: { ...everyFile, name: 'own-modules', include: OWN_PROCESS, isolate: true } },
    ],
  },
});
