import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../shared/config.js';
import { makeFolder } from '../shared/make-folder.js';
import { azuriteConnectionString, portInUse } from './azurite.js';

const localSettingsSchema = z.object({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.string()).default({}),
});

/**
 * `local.settings.json` (or the example) cannot be read as settings. The message names the file
 * and, for JSON it cannot parse, the line and column alone: the file holds connection strings
 * and keys, so it is printed as it is, by `npm start` and every script.
 */
export class LocalSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalSettingsError';
  }
}

/**
 * Load `local.settings.json` the way Core Tools does — its `Values` become environment
 * variables — falling back to `local.settings.example.json` so a fresh clone starts. Variables
 * already set in the shell win, which is how tests and CI point the host elsewhere.
 */
export function loadLocalSettings(directory = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  const candidates = ['local.settings.json', 'local.settings.example.json'].map((f) => resolve(directory, f));
  const file = candidates.find((f) => existsSync(f));
  if (!file) return 'none';
  const text = readFileSync(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes the text around the fault, which here is a connection string or a key
    // (found by a review): the line and column are enough to find it.
    const at = /position (\d+)/.exec(err instanceof Error ? err.message : '');
    const offset = at ? Number(at[1]) : undefined;
    const where =
      offset === undefined
        ? ''
        : ` at line ${text.slice(0, offset).split('\n').length}, column ${offset - text.lastIndexOf('\n', offset - 1)}`;
    throw new LocalSettingsError(`${file}: not valid JSON${where}`);
  }
  const parsed = localSettingsSchema.safeParse(json);
  if (!parsed.success) throw new LocalSettingsError(`${file}: Values must be an object of strings`);
  if (parsed.data.IsEncrypted)
    throw new LocalSettingsError(`${file}: encrypted settings are not supported by the local host`);
  for (const [name, value] of Object.entries(parsed.data.Values)) {
    if (env[name] === undefined) env[name] = value;
  }
  return file;
}

/**
 * Where `npm start` notes the blob port of the Azurite it started, with its own pid, for the
 * scripts beside it. Without it a script run in another shell, without the `AZURITE_BLOB_PORT`
 * that `npm start` was given, went to port 10000 — on a machine where another Azurite holds
 * 10000 (the very reason to move it), that one: `npm run seed` "uploaded" extracts that no host
 * imports, `npm run import` waited out its timeout, and `npm run audit -- checkpoint` anchored
 * this store's checkpoints in another's `audit-anchors` (found by following the README on a
 * machine shared with other checkouts).
 */
export const RUNNING_AZURITE_FILE = '.lintel/azurite.json';

const runningAzuriteSchema = z.object({ blobPort: z.number().int().positive(), pid: z.number().int().positive() });

/** Note the Azurite `npm start` runs (see {@link RUNNING_AZURITE_FILE}). */
export function recordRunningAzurite(blobPort: number, directory = process.cwd(), pid = process.pid): void {
  const file = resolve(directory, RUNNING_AZURITE_FILE);
  makeFolder(dirname(file));
  writeFileSync(file, `${JSON.stringify({ blobPort, pid })}\n`);
}

/** Remove the note, as `npm start` stops (or starts without an Azurite of its own). */
export function forgetRunningAzurite(directory = process.cwd()): void {
  rmSync(resolve(directory, RUNNING_AZURITE_FILE), { force: true });
}

/**
 * The port `npm start` noted, while the host that noted it lives; a note left by a host that
 * was killed outright (SIGKILL) names nobody's Azurite and is passed over.
 */
function recordedAzuritePort(directory: string): number | undefined {
  let note: unknown;
  try {
    note = JSON.parse(readFileSync(resolve(directory, RUNNING_AZURITE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const parsed = runningAzuriteSchema.safeParse(note);
  if (!parsed.success) return undefined;
  try {
    process.kill(parsed.data.pid, 0);
  } catch (err) {
    // EPERM: alive, but another user's process.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return parsed.data.blobPort;
}

/**
 * The blob port of the Azurite `UseDevelopmentStorage=true` means for a script beside
 * `npm start`: `AZURITE_BLOB_PORT` when set, else the port the running `npm start` noted, else
 * the SDK's 10000.
 */
export function localAzuritePort(env: NodeJS.ProcessEnv = process.env, directory = process.cwd()): number {
  return localPort(env, 'AZURITE_BLOB_PORT') ?? recordedAzuritePort(directory) ?? 10000;
}

/**
 * The port a variable of the local stack's own names (`AZURITE_BLOB_PORT`, `LINTEL_HOST_PORT`),
 * undefined where it is unset or blank. Anything but a whole number from 1 to 65535 is refused
 * naming the variable: read by Number(), "abc" reached Node as NaN, which the scripts answered
 * "failed (RangeError:ERR_SOCKET_BAD_PORT)" and npm start "Port should be >= 0 and < 65536",
 * naming no variable, and a blank one was port 0.
 */
export function localPort(env: NodeJS.ProcessEnv, name: 'AZURITE_BLOB_PORT' | 'LINTEL_HOST_PORT'): number | undefined {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return undefined;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535))
    throw new ConfigurationError([`${name}: must be a port, a whole number from 1 to 65535`]);
  return port;
}

/**
 * For a script run beside `npm start`: `UseDevelopmentStorage=true` means the Azurite it
 * started ({@link localAzuritePort}; the storage SDK alone would go to port 10000). Call after
 * {@link loadLocalSettings}.
 */
export function useRunningAzurite(env: NodeJS.ProcessEnv = process.env, directory = process.cwd()): void {
  if (env.AzureWebJobsStorage?.trim() !== 'UseDevelopmentStorage=true') return;
  const port = localAzuritePort(env, directory);
  if (env.AZURITE_BLOB_PORT !== undefined || port !== 10000) env.AzureWebJobsStorage = azuriteConnectionString(port);
}

/**
 * Nothing listens where the local stack's Azurite should be. The message holds the port and the
 * script's hint alone.
 */
export class LocalStackNotRunningError extends Error {
  constructor(port: number, hint = 'is the local host (npm start) running?') {
    super(`no Azurite on port ${port}: ${hint}`);
    this.name = 'LocalStackNotRunningError';
  }
}

/**
 * The port of the Azurite `UseDevelopmentStorage=true` means for a script beside `npm start`
 * ({@link localAzuritePort}). Throws at once when nothing listens there, where the storage SDK
 * would retry for some 18 s before saying so (found by a review of the CLIs).
 */
export async function runningAzuritePort(
  env: NodeJS.ProcessEnv = process.env,
  hint?: string,
  directory = process.cwd(),
): Promise<number> {
  const port = localAzuritePort(env, directory);
  if (!(await portInUse(port))) throw new LocalStackNotRunningError(port, hint);
  return port;
}

/**
 * {@link useRunningAzurite}, for a script that cannot do anything without storage: throws at once
 * when that Azurite is not running ({@link runningAzuritePort}).
 */
export async function requireRunningAzurite(
  env: NodeJS.ProcessEnv = process.env,
  directory = process.cwd(),
): Promise<void> {
  if (env.AzureWebJobsStorage?.trim() === 'UseDevelopmentStorage=true')
    await runningAzuritePort(env, undefined, directory);
  useRunningAzurite(env, directory);
}
