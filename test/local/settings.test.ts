import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLocalSettings, requireRunningAzurite, useRunningAzurite } from '../../local/settings.js';

describe('local settings for the scripts beside npm start', () => {
  it('points UseDevelopmentStorage at the Azurite npm start runs on AZURITE_BLOB_PORT, and nothing else', () => {
    // A checkout without a running npm start (this one may have one).
    const checkout = mkdtempSync(join(tmpdir(), 'lintel-no-host-'));
    const moved: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURITE_BLOB_PORT: '10002' };
    useRunningAzurite(moved, checkout);
    expect(moved.AzureWebJobsStorage).toContain('BlobEndpoint=http://127.0.0.1:10002/devstoreaccount1;');

    const usual: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    useRunningAzurite(usual, checkout);
    expect(usual.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');

    const remote: NodeJS.ProcessEnv = {
      AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x',
      AZURITE_BLOB_PORT: '10002',
    };
    useRunningAzurite(remote, checkout);
    expect(remote.AzureWebJobsStorage).toBe('DefaultEndpointsProtocol=https;AccountName=x');
  });

  // A newcomer whose port 10000 is taken follows npm start's hint and runs
  // `AZURITE_BLOB_PORT=10100 npm start`, then `npm run seed` in another shell: the scripts must
  // reach that Azurite, not whatever holds 10000.
  it('points the scripts at the Azurite the running npm start noted, without AZURITE_BLOB_PORT', async () => {
    const checkout = mkdtempSync(join(tmpdir(), 'lintel-running-azurite-'));
    const blob = await new Promise<Server>((resolveServer) => {
      const server = createServer().listen(0, '127.0.0.1', () => resolveServer(server));
    });
    const port = (blob.address() as { port: number }).port;
    // What npm start writes while it runs (local/host.ts).
    const note = (pid: number) => {
      mkdirSync(join(checkout, '.lintel'), { recursive: true });
      writeFileSync(join(checkout, '.lintel/azurite.json'), JSON.stringify({ blobPort: port, pid }));
    };
    try {
      note(process.pid);

      const script: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
      await requireRunningAzurite(script, checkout);
      expect(script.AzureWebJobsStorage).toContain(`BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`);

      const told: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURITE_BLOB_PORT: '10002' };
      useRunningAzurite(told, checkout);
      expect(told.AzureWebJobsStorage, 'AZURITE_BLOB_PORT set in the shell wins').toContain('127.0.0.1:10002/');

      // A note left by a host killed outright names no running Azurite.
      const gone = spawnSync(process.execPath, ['-e', '']).pid;
      note(gone);
      const stale: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
      useRunningAzurite(stale, checkout);
      expect(stale.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');

      rmSync(join(checkout, '.lintel/azurite.json'));
      const stopped: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
      useRunningAzurite(stopped, checkout);
      expect(stopped.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    } finally {
      blob.close();
    }
  });

  it('reads local.settings.json whole, without the example, once it exists; the shell wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-settings-'));
    writeFileSync(join(dir, 'local.settings.example.json'), JSON.stringify({ Values: { A: 'example', B: 'example' } }));
    writeFileSync(join(dir, 'local.settings.json'), JSON.stringify({ Values: { A: 'own', C: 'own' } }));
    const env: NodeJS.ProcessEnv = { C: 'shell' };
    expect(loadLocalSettings(dir, env)).toBe(join(dir, 'local.settings.json'));
    expect(env).toEqual({ A: 'own', C: 'shell' });
  });
});

/**
 * local.settings.json holds connection strings and keys. `npm start` (local/host.ts) prints the
 * message of any error loadLocalSettings throws to stderr, so that message must not quote the
 * file: the settings contract is "a message naming the setting, never its value".
 */
describe('a malformed local.settings.json', () => {
  it('does not quote a secret from a malformed local.settings.json in its error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-review-settings-'));
    // A common slip: a value in single quotes.
    writeFileSync(join(dir, 'local.settings.json'), `{"Values":{"MSSQL_CONNECTION_STRING":'Hunter2-sa-password'}}`);
    let message = '';
    try {
      loadLocalSettings(dir, {});
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    expect(message, 'no error was thrown').not.toBe('');
    expect(message, `the error quotes the secret: ${message}`).not.toContain('Hunter2');
  });
});
