// `npm run audit -- verify` after a rotation of audit-signing-key that left the old version gone
// (deleted, or disabled): its checkpoints are unverifiable, not forged (README), and the run said
// "FAILED" and "first bad sequence number: 4" of a log in which no entry had been altered; a DPO
// read a routine key rotation as tampering. The API's verify entry already said log-unverifiable.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { AccessLog } from '../../shared/audit/access-log.js';
import { currentSigningKey } from '../../shared/audit/signing-keys.js';
import { createLogger } from '../../shared/logging.js';
import { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { migrateToLatest, openStore } from '../../shared/store/database.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-audit-cli-'));
// An Azurite of its own: the CLI anchors in `audit-anchors`, which the test run's shared Azurite
// holds other tests' checkpoints in, and verify would read those as another log's.
let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite({ port: await freePort(), location: join(dir, 'azurite') });
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const secretsPath = join(dir, 'secrets.json');
const storePath = join(dir, 'lintel.db');

function audit(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/audit.ts'), ...args],
    {
      cwd: ROOT,
      env: minimalEnv({
        LOG_LEVEL: 'error',
        LINTEL_ENV: 'test',
        AzureWebJobsStorage: azurite.connectionString,
        SQLITE_PATH: storePath,
        LOCAL_SECRETS_PATH: secretsPath,
      }),
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
}

let searches = 0;
async function logSearches(n: number): Promise<void> {
  const store = openStore({ engine: 'sqlite', path: storePath });
  await migrateToLatest(store);
  const accessLog = new AccessLog(store, createLogger('error'));
  for (let i = 0; i < n; i++) {
    searches++;
    await accessLog.append({
      requestId: `req-${searches}`,
      partyId: 'kettering-borough-council',
      clientId: 'client',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      action: 'person.search',
      subjectRef: `person-${searches}`,
      datasets: ['keyways-housing-register'],
      fields: [],
      decision: 'allow',
      reasonCode: 'granted',
    });
  }
  await accessLog.close();
  await store.close();
}

describe('npm run audit -- verify, a signing key version gone', () => {
  it('says UNVERIFIABLE and names the version, not FAILED with a first bad sequence number', async () => {
    await logSearches(4);
    expect(audit('checkpoint')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^checkpoint: 4 entries/) });
    const secrets = new LocalSecretSource(secretsPath);
    const old = (await currentSigningKey(secrets)).keyId;
    secrets.rotate('audit-signing-key');
    await logSearches(3);
    expect(audit('checkpoint')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^checkpoint: 7 entries/) });
    // The old version gone, as Key Vault answers one deleted or disabled by the rotation.
    const file = JSON.parse(readFileSync(secretsPath, 'utf8')) as {
      secrets: Record<string, { versions: Record<string, string> }>;
    };
    delete file.secrets['audit-signing-key']!.versions[old.split('/')[1]!];
    writeFileSync(secretsPath, JSON.stringify(file), { mode: 0o600 });

    const result = audit('verify');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^UNVERIFIABLE: 7 entries, 2 checkpoints, root [0-9a-f]{64} /);
    expect(lines.slice(1)).toEqual([
      'no entry found altered; checkpoints signed by a key version that is gone cannot be checked:',
      `  checkpoint-unverifiable at seq 4 (checkpoint #0): 1 checkpoint under ${old}, a version that is gone`,
      '',
    ]);
    // Still not a log that verifies, for a scheduler.
    expect(result.status).toBe(1);
  }, 180_000);
});
