import { spawn } from 'node:child_process';

/** What a script's process ended with, read as spawnSync reports it. */
export interface ScriptRun {
  /** The exit status; null when a signal ended it (the timeout's, say). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node …argv` as spawnSync would (stdin at its end, killed at the timeout), without
 * holding the test's thread: a file's CLI cases, each a process of its own, can then run several
 * at once (describe.concurrent) rather than one tsx start-up after another.
 */
export function runNode(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; timeout: number },
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
