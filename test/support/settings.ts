import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig, type Settings } from '../../shared/config.js';

/** Settings for a test: the shared Azurite, and a SQLite file and key file of its own. */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-test-'));
  return loadConfig({
    LINTEL_ENV: 'test',
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    SQLITE_PATH: join(dir, 'lintel.db'),
    LOCAL_SECRETS_PATH: join(dir, 'secrets.json'),
    LOG_LEVEL: 'error',
    // Tests call without valid tokens far more often than any client would; the tests of this
    // limit set it low again.
    RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '1000000',
    DEV_ISSUER_KEY_PATH: join(dir, 'dev-issuer.json'),
    ...overrides,
  });
}
