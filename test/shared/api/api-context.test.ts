import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createApiContext,
  KEY_RETRY_AFTER_SECONDS,
  KeyUnavailableError,
  type ApiContext,
} from '../../../shared/api/api-context.js';
import { createLogger } from '../../../shared/logging.js';
import { findPerson } from '../../../shared/people/find-person.js';
import { canonicalQuery } from '../../../shared/people/person-query.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import { SecretUnavailableError, type SecretSource } from '../../../shared/secrets/secret-source.js';
import type { Services } from '../../../shared/services.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { gate } from '../../support/gate.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS } from '../../support/records.js';
import { testSettings } from '../../support/settings.js';

/**
 * The pseudonymisers a lookup hashes its identifiers with: one per key version the store holds.
 * Robin was loaded before a rotation of the pseudonymisation key, and her source has not sent an
 * extract since, so she is found only through the previous version's hash.
 */
describe("the API context's pseudonymisers", () => {
  const DATASETS = ['multiple-disadvantage-indicators'];
  let store: Store;
  let local: LocalSecretSource;
  let oldVersion: string;
  let personId: string;
  let logLines: string[];

  const contextWith = (secrets: SecretSource): ApiContext =>
    createApiContext({
      settings: testSettings(),
      secrets,
      store,
      logger: createLogger('debug', (line) => logLines.push(line)),
    } as unknown as Services);
  const robinQuery = () => {
    const query = canonicalQuery({ nhsNumber: ROBIN_NHS }, new Date());
    if (!query.ok) throw new Error('not a valid query');
    return query.query;
  };
  const robin = async (ctx: ApiContext) =>
    findPerson(store, await ctx.pseudonymisers(), robinQuery(), DATASETS, () => true);

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-api-context-'));
    store = openStore({ engine: 'sqlite', path: join(dir, 'lintel.db') });
    await migrateToLatest(store);
    local = new LocalSecretSource(join(dir, 'secrets.json'));
    oldVersion = (await local.get('pseudonymisation-key')).version;
    ({ personId } = await insertRecord({ secrets: local, store } as unknown as Services, ROBIN_IN_SOCIAL_CARE));
    local.rotate('pseudonymisation-key');
    logLines = [];
  });
  afterEach(async () => {
    vi.useRealTimers();
    await store.close();
  });

  it('fails every lookup while a version the store holds cannot be read, and finds Robin once it can', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let vaultDown = true; // a 429, a 5xx, the network
    const secrets: SecretSource = {
      get: async (name, version) => {
        if (version === oldVersion && vaultDown) throw new SecretUnavailableError(name);
        return local.get(name, version);
      },
    };
    const ctx = contextWith(secrets);

    // Not "no match": that would tell a duplicate check nobody else holds an application.
    await expect(robin(ctx)).rejects.toBeInstanceOf(KeyUnavailableError);
    const logged = logLines.filter((line) => line.includes('"api.key-version-unavailable"'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error', keyVersion: oldVersion, gone: false });
    const keys = [await local.get('pseudonymisation-key', oldVersion), await local.get('pseudonymisation-key')];
    for (const key of keys) expect(logLines.join('\n')).not.toContain(key.value);

    vaultDown = false;
    // Key Vault is not asked again by every request at once, but soon ...
    await expect(robin(ctx)).rejects.toBeInstanceOf(KeyUnavailableError);
    vi.setSystemTime(Date.now() + KEY_RETRY_AFTER_SECONDS * 1000 + 1);
    // ... and nothing partial was kept: Robin is found at the next try, not a minute later.
    expect(await robin(ctx)).toEqual({ found: true, personId, tier: 1 });
  });

  it('fails lookups, rather than skipping it, when a version the store holds is gone from Key Vault', async () => {
    const ctx = contextWith({
      get: async (name, version) => local.get(name, version === oldVersion ? 'deleted' : version),
    });
    await expect(robin(ctx)).rejects.toBeInstanceOf(KeyUnavailableError);
    const logged = logLines.find((line) => line.includes('"api.key-version-unavailable"'))!;
    expect(JSON.parse(logged)).toMatchObject({ keyVersion: oldVersion, gone: true });
  });

  it('reads the key versions beside an import or linking transaction, not after it', async () => {
    const ctx = contextWith(local);
    // A long write transaction on the store's connection, as a snapshot load holds it, given
    // back only once the read has answered: a read that waited for it would never answer, and
    // fails at the deadline, which is only the failure path, so a loaded machine cannot lose it.
    const held = gate();
    const begun = gate();
    const importLike = store.db.transaction().execute(async (trx) => {
      await trx.updateTable('source_record').set({ row_number: 2 }).execute();
      begun.open();
      await held.opened;
    });
    let deadline: NodeJS.Timeout | undefined;
    try {
      await begun.opened;
      const read = await Promise.race([
        ctx.pseudonymisers().then((list) => list.map((p) => p.keyVersion)),
        new Promise((resolve) => (deadline = setTimeout(() => resolve('waited for the transaction'), 20_000))),
      ]);
      expect(read).toEqual(expect.arrayContaining([oldVersion]));
      expect(read).toHaveLength(2);
    } finally {
      clearTimeout(deadline);
      held.open();
      await importLike;
    }
  }, 30_000);
  it("does not hold lookups up on a version only retention's kept hashes use, nor a subject access request once it is deleted", async () => {
    // Robin's records were deleted by retention under the old version; nothing held uses it now.
    await store.db
      .insertInto('retired_identifier')
      .columns(['person_id', 'dataset_id', 'kind', 'hash', 'key_version', 'retired_at'])
      .expression((eb) =>
        eb
          .selectFrom('record_identifier')
          .select([
            eb.val(personId).as('person_id'),
            eb.val(DATASETS[0]!).as('dataset_id'),
            'kind',
            'hash',
            'key_version',
            eb.val(new Date().toISOString()).as('retired_at'),
          ]),
      )
      .execute();
    await store.db.deleteFrom('record_identifier').execute();
    await store.db.deleteFrom('source_record').execute();
    const ctx = contextWith({
      get: async (name, version) => local.get(name, version === oldVersion ? 'deleted' : version),
    });
    // The old key is gone from Key Vault: lookups go on under the current one.
    expect((await ctx.pseudonymisers()).map((p) => p.keyVersion)).not.toContain(oldVersion);
    expect(await robin(ctx)).toMatchObject({ found: false });
    // Deleted, it is shredded, not an outage: a subject access request matches under the rest and
    // names it, for the DPO to be told (dpo-sar-key-version-gone.test.ts); it is never 503 for it.
    const sar = await ctx.subjectAccessPseudonymisers(robinQuery());
    expect(sar.pseudonymisers.map((p) => p.keyVersion)).not.toContain(oldVersion);
    expect(sar.keyVersionsGone).toEqual([oldVersion]);
  });
});
