import { THREAD_BUNDLES_VARIABLE } from '../../shared/threads/module-worker.js';

/** What os.tmpdir() reads: TMPDIR on POSIX, TEMP or TMP on Windows. */
export const TEMP_VARIABLES = ['TMPDIR', 'TEMP', 'TMP'] as const;

/**
 * The environment of a CLI, host or npm a test starts with only what it names: PATH, and the
 * temporary root, so that what the child writes there (tsx's transform cache, npm's staging)
 * lands in the run's folder the global setup removes, not in the OS temporary folder; and the
 * run's thread bundles, which its threads load as the tests' own do.
 */
export function minimalEnv(env: Record<string, string> = {}): Record<string, string> {
  const temporaryRoot = [...TEMP_VARIABLES, THREAD_BUNDLES_VARIABLE].flatMap((name) => {
    const value = process.env[name];
    return value === undefined ? [] : [[name, value] as const];
  });
  return { PATH: process.env.PATH ?? '', ...Object.fromEntries(temporaryRoot), ...env };
}
