import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { azuriteConnectionString, portInUse } from './azurite.js';

const localSettingsSchema = z.object({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.string()).default({}),
});

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
    throw new Error(`${file}: not valid JSON${where}`);
  }
  const parsed = localSettingsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: Values must be an object of strings`);
  if (parsed.data.IsEncrypted) throw new Error(`${file}: encrypted settings are not supported by the local host`);
  for (const [name, value] of Object.entries(parsed.data.Values)) {
    if (env[name] === undefined) env[name] = value;
  }
  return file;
}

/**
 * For a script run beside `npm start`: `UseDevelopmentStorage=true` means the Azurite it
 * started, which is on `AZURITE_BLOB_PORT` when that is set (the storage SDK alone would go to
 * port 10000). Call after {@link loadLocalSettings}.
 */
export function useRunningAzurite(env: NodeJS.ProcessEnv = process.env): void {
  if (env.AzureWebJobsStorage?.trim() === 'UseDevelopmentStorage=true' && env.AZURITE_BLOB_PORT !== undefined) {
    env.AzureWebJobsStorage = azuriteConnectionString(Number(env.AZURITE_BLOB_PORT));
  }
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
 * (`AZURITE_BLOB_PORT`, else the SDK's 10000). Throws at once when nothing listens there, where
 * the storage SDK would retry for some 18 s before saying so (found by a review of the CLIs).
 */
export async function runningAzuritePort(env: NodeJS.ProcessEnv = process.env, hint?: string): Promise<number> {
  const port = Number(env.AZURITE_BLOB_PORT ?? 10000);
  if (!(await portInUse(port))) throw new LocalStackNotRunningError(port, hint);
  return port;
}

/**
 * {@link useRunningAzurite}, for a script that cannot do anything without storage: throws at once
 * when that Azurite is not running ({@link runningAzuritePort}).
 */
export async function requireRunningAzurite(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.AzureWebJobsStorage?.trim() === 'UseDevelopmentStorage=true') await runningAzuritePort(env);
  useRunningAzurite(env);
}
