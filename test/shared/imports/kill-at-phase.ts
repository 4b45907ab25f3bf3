import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, inject } from 'vitest';
import type { ImportPhase } from '../../../shared/imports/import-phases.js';
import { AGREEMENTS_DIR, type ImportHarness } from './import-harness.js';

/**
 * Imports `blobName` into the harness's store in a child process (kill-at-phase.child.ts) that
 * SIGKILLs itself when the import first ends `phase`: a crash no finally block or rollback
 * handler sees. Fails the test unless the child died by that signal. The child rejects a file above
 * `maxBadRowShare` bad rows (0.05, the default setting, unless the test's deliveries use another).
 * With `progress`, the child writes the load's progress blob in processed/, as the host does.
 */
export async function killImportAtPhase(
  h: ImportHarness,
  phase: ImportPhase,
  blobName: string,
  options: { maxBadRowShare?: number; progress?: boolean } = {},
): Promise<void> {
  const killed = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/shared/imports/kill-at-phase.child.ts'],
    {
      env: {
        ...process.env,
        KILL_SQLITE_PATH: h.paths.sqlite,
        KILL_SECRETS_PATH: h.paths.secrets,
        KILL_AZURITE: inject('azuriteConnectionString'),
        KILL_AGREEMENTS_DIR: AGREEMENTS_DIR,
        KILL_CONTAINERS: JSON.stringify(h.containers),
        KILL_BLOB_NAME: blobName,
        KILL_AT_PHASE: phase,
        KILL_MAX_BAD_ROW_SHARE: String(options.maxBadRowShare ?? 0.05),
        ...(options.progress ? { KILL_PROGRESS: '1' } : {}),
      },
    },
  ).then(
    () => undefined,
    (err: unknown) => err as { signal?: string; stderr?: string; code?: number },
  );
  expect(killed?.signal, `${killed?.code} ${killed?.stderr}`).toBe('SIGKILL');
}
