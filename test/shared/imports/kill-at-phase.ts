import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, inject } from 'vitest';
import type { ImportOutcome } from '../../../shared/imports/import-extract.js';
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
  const killed = await promisify(execFile)(process.execPath, CHILD, {
    env: childEnv(h, phase, blobName, options),
  }).then(
    () => undefined,
    (err: unknown) => err as { signal?: string; stderr?: string; code?: number },
  );
  expect(killed?.signal, `${killed?.code} ${killed?.stderr}`).toBe('SIGKILL');
}

const CHILD = ['--import', 'tsx', 'test/shared/imports/kill-at-phase.child.ts'];

function childEnv(
  h: ImportHarness,
  phase: ImportPhase,
  blobName: string,
  options: { maxBadRowShare?: number; progress?: boolean },
): NodeJS.ProcessEnv {
  return {
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
  };
}

/**
 * Imports `blobName` in a child process, as killImportAtPhase does, that stalls when the import
 * first ends `phase` — the whole process stopped, as by a long GC pause or a host under load —
 * until `release`. `stalled` resolves once it is stopped there; `release` resolves with its outcome.
 */
export function stallImportAtPhase(
  h: ImportHarness,
  phase: ImportPhase,
  blobName: string,
): { stalled: Promise<void>; release: () => Promise<ImportOutcome> } {
  const fifo = join(mkdtempSync(join(tmpdir(), 'lintel-stall-')), 'release');
  execFileSync('mkfifo', [fifo]);
  const child = spawn(process.execPath, CHILD, {
    env: { ...childEnv(h, phase, blobName, {}), KILL_STALL_FIFO: fifo },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', resolveExit));
  const stalled = new Promise<void>((resolveStalled, rejectStalled) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.startsWith('stalled\n')) resolveStalled();
    });
    void exited.then((code) => rejectStalled(new Error(`exited ${code} before stalling: ${stderr}`)));
  });
  const release = async () => {
    writeFileSync(fifo, '\n');
    const code = await exited;
    expect(code, stderr).toBe(0);
    return JSON.parse(stdout.slice('stalled\n'.length)) as ImportOutcome;
  };
  return { stalled, release };
}
