import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLocalSettings, useRunningAzurite } from '../../local/settings.js';

describe('local settings for the scripts beside npm start', () => {
  it('points UseDevelopmentStorage at the Azurite npm start runs on AZURITE_BLOB_PORT, and nothing else', () => {
    const moved: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURITE_BLOB_PORT: '10002' };
    useRunningAzurite(moved);
    expect(moved.AzureWebJobsStorage).toContain('BlobEndpoint=http://127.0.0.1:10002/devstoreaccount1;');

    const usual: NodeJS.ProcessEnv = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    useRunningAzurite(usual);
    expect(usual.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');

    const remote: NodeJS.ProcessEnv = {
      AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x',
      AZURITE_BLOB_PORT: '10002',
    };
    useRunningAzurite(remote);
    expect(remote.AzureWebJobsStorage).toBe('DefaultEndpointsProtocol=https;AccountName=x');
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
