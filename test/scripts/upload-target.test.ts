// `npm run seed` and `npm run import` upload only to a local Azurite unless told otherwise, and
// never in production: a misconfigured operator machine must not push synthetic people into a
// real deployment.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkUploadTarget, isLocalStorage, type UploadSettings } from '../../scripts/upload-target.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-upload-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AZURE =
  'DefaultEndpointsProtocol=https;AccountName=lintelprod;AccountKey=c2VjcmV0LWtleS1ub3QtcmVhbA==;EndpointSuffix=core.windows.net';
const AZURITE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';

const settings = (s: Partial<UploadSettings>): UploadSettings => ({
  LINTEL_ENV: 'development',
  AzureWebJobsStorage: undefined,
  AzureWebJobsStorage__blobServiceUri: undefined,
  ...s,
});

describe('where the seed and import scripts may upload', () => {
  it.each([
    ['UseDevelopmentStorage=true', settings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' })],
    ['an Azurite connection string on 127.0.0.1', settings({ AzureWebJobsStorage: AZURITE })],
    ['a blob endpoint on localhost', settings({ AzureWebJobsStorage: AZURITE.replace('127.0.0.1', 'localhost') })],
    ['a service URI on 127.0.0.1', settings({ AzureWebJobsStorage__blobServiceUri: 'http://127.0.0.1:10000/acct' })],
  ])('uploads to %s', (_, s) => {
    expect(isLocalStorage(s)).toBe(true);
    expect(() => checkUploadTarget(s, { script: 'seed', remote: false })).not.toThrow();
  });

  it.each([
    ['an Azure storage account', settings({ AzureWebJobsStorage: AZURE })],
    [
      'devstoreaccount1 without a local blob endpoint',
      settings({ AzureWebJobsStorage: AZURITE.replace(/BlobEndpoint=[^;]*;/, '') }),
    ],
    [
      'a blob endpoint whose host only starts like a loopback one',
      settings({ AzureWebJobsStorage: AZURITE.replace('127.0.0.1:10000', '127.0.0.1.attacker.example') }),
    ],
    [
      'a managed-identity service URI in Azure',
      settings({ AzureWebJobsStorage__blobServiceUri: 'https://lintelprod.blob.core.windows.net' }),
    ],
  ])('refuses %s unless --remote is given', (_, s) => {
    expect(isLocalStorage(s)).toBe(false);
    expect(() => checkUploadTarget(s, { script: 'seed', remote: false })).toThrow(/not a local Azurite.*--remote/);
    expect(() => checkUploadTarget(s, { script: 'seed', remote: true })).not.toThrow();
  });

  it('refuses production whatever the storage, --remote or not', () => {
    for (const AzureWebJobsStorage of [AZURE, 'UseDevelopmentStorage=true'])
      for (const remote of [false, true])
        expect(() =>
          checkUploadTarget(settings({ LINTEL_ENV: 'production', AzureWebJobsStorage }), { script: 'import', remote }),
        ).toThrow(/LINTEL_ENV is production/);
  });

  it('the message never quotes the connection string', () => {
    let message = '';
    try {
      checkUploadTarget(settings({ AzureWebJobsStorage: AZURE }), { script: 'seed', remote: false });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('lintelprod');
    expect(message).not.toContain('AccountKey');
  });

  function run(script: string, args: string[], env: Record<string, string>) {
    return spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, script), ...args], {
      cwd: ROOT,
      env: minimalEnv({ SQLITE_PATH: join(dir, 'lintel.db'), ...env }),
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  it('npm run seed against an Azure account: a clear refusal, exit 1, nothing written', () => {
    const out = join(dir, 'seed');
    const result = run('scripts/seed.ts', ['--out', out, '--size', '10'], { AzureWebJobsStorage: AZURE });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^seed: refusing to upload: .*not a local Azurite.*--remote/);
    expect(() => readdirSync(out)).toThrow();
  });

  const productionSettings = {
    LINTEL_ENV: 'production',
    STORE_ENGINE: 'mssql',
    MSSQL_CONNECTION_STRING: 'Server=tcp:sql-lintel.database.windows.net,1433;Database=lintel;Encrypt=true',
    SECRETS_SOURCE: 'keyvault',
    KEY_VAULT_URI: 'https://lintel-test.vault.azure.net/',
    AUTH_JWKS_URI: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/discovery/v2.0/keys',
    AUTH_ISSUER: 'https://login.microsoftonline.com/12345678-90ab-cdef-1234-567890abcdef/v2.0',
    AUTH_AUDIENCE: '66666666-7777-8888-9999-000000000000',
  };
  const importArgs = (file: string) => [
    file,
    '--party',
    'la-housing',
    '--dataset',
    'multiple-disadvantage-indicators',
    '--remote',
  ];

  it('npm run import in production: a clear refusal, exit 1, even with --remote', () => {
    const file = join(dir, 'extract.csv');
    writeFileSync(file, 'firstName,lastName,dateOfBirth\nAda,Lovelace,1815-12-10\n');
    // Settings production accepts, storage included (configuration passes): the script's own
    // check is what refuses, --remote notwithstanding.
    const result = run('scripts/import.ts', importArgs(file), {
      ...productionSettings,
      AzureWebJobsStorage: AZURE,
    });
    expect(result.stderr).toMatch(/^import: refusing to upload: LINTEL_ENV is production/);
    expect(result.stderr).not.toContain('lintelprod');
    expect(result.status).toBe(1);
  });

  it('npm run import in production against storage that looks local: refused before any upload, naming the setting', () => {
    // Production refuses development storage at start (shared/config.ts), so the configuration
    // stops the script before its own check; either way nothing is uploaded.
    const file = join(dir, 'extract.csv');
    writeFileSync(file, 'firstName,lastName,dateOfBirth\nAda,Lovelace,1815-12-10\n');
    const result = run('scripts/import.ts', importArgs(file), {
      ...productionSettings,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    });
    expect(result.stderr).toMatch(/^import: Invalid configuration:/);
    expect(result.stderr).toContain('AzureWebJobsStorage: must not be development storage (Azurite) in production');
    expect(result.stderr).not.toContain('UseDevelopmentStorage');
    expect(result.status).toBe(1);
  });
});
