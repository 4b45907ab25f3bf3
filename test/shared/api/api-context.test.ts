import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiContext, type ApiContext } from '../../../shared/api/api-context.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import type { Services } from '../../../shared/services.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE } from '../../support/records.js';
import { testSettings } from '../../support/settings.js';

/**
 * The pseudonymisers a lookup hashes its identifiers with: one per key version the store holds.
 * Robin was loaded before a rotation of the pseudonymisation key, and her source has not sent an
 * extract since, so she is found only through the previous version's hash.
 */
describe("the API context's pseudonymisers", () => {
  let store: Store;
  let local: LocalSecretSource;
  let oldVersion: string;
  let logLines: string[];

  const contextWith = (secrets: SecretSource): ApiContext =>
    createApiContext({
      settings: testSettings(),
      secrets,
      store,
      logger: createLogger('debug', (line) => logLines.push(line)),
    } as unknown as Services);
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-api-context-'));
    store = openStore({ engine: 'sqlite', path: join(dir, 'lintel.db') });
    await migrateToLatest(store);
    local = new LocalSecretSource(join(dir, 'secrets.json'));
    oldVersion = (await local.get('pseudonymisation-key')).version;
    await insertRecord({ secrets: local, store } as unknown as Services, ROBIN_IN_SOCIAL_CARE);
    local.rotate('pseudonymisation-key');
    logLines = [];
  });
  afterEach(async () => {
    vi.useRealTimers();
    await store.close();
  });

  it('reads the key versions beside an import or linking transaction, not after it', async () => {
    const ctx = contextWith(local);
    // A long write transaction on the store's connection, as a snapshot load holds it.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const begun = new Promise<void>((resolve) => (started = resolve));
    const importLike = store.db.transaction().execute(async (trx) => {
      await trx.updateTable('source_record').set({ row_number: 2 }).execute();
      started();
      await gate;
    });
    try {
      await begun;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const first = await Promise.race([
        ctx.pseudonymisers().then((list) => list.map((p) => p.keyVersion)),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
      ]);
      expect(first).toEqual(expect.arrayContaining([oldVersion]));
      expect(first).toHaveLength(2);
    } finally {
      release();
      await importLike;
    }
  });
});
