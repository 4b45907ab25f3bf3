import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

/** One real Azurite for the whole run, on a free port, in a throw-away folder. */
export default async function setup(project: TestProject) {
  const location = mkdtempSync(join(tmpdir(), 'lintel-azurite-'));
  const azurite = await startAzurite({ port: await freePort(), location });
  project.provide('azuriteConnectionString', azurite.connectionString);
  return async () => {
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  };
}
