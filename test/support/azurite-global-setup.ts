import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../local/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
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
