import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiContext } from '../../../shared/api/api-context.js';
import { createLogger } from '../../../shared/logging.js';
import { findPerson } from '../../../shared/people/find-person.js';
import { canonicalQuery } from '../../../shared/people/person-query.js';
import { CachedSecretSource } from '../../../shared/secrets/cached-secret-source.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import type { Services } from '../../../shared/services.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS, type TestRecord } from '../../support/records.js';
import { testSettings } from '../../support/settings.js';

/**
 * A rotation by pin: `SECRET_VERSIONS` moved from one version of `pseudonymisation-key` to the
 * next, the app restarted onto it, as infra/README.md "Rotating keys" has the operator do. The
 * key file stands where Key Vault would, behind the cache the Key Vault source reads through.
 */
describe('the pseudonymisation key pinned to a new version', () => {
  const DATASETS = ['multiple-disadvantage-indicators'];
  const ALEX_NHS = '9434765870';
  const ALEX: TestRecord = {
    ...ROBIN_IN_SOCIAL_CARE,
    givenName: 'Alex',
    familyName: 'Marsh',
    dateOfBirth: '2011-02-03',
    identifiers: { nhs: ALEX_NHS },
  };
  let store: Store;
  let vault: LocalSecretSource;
  let first: string;
  let second: string;

  const pinnedTo = (version: string): SecretSource =>
    new CachedSecretSource(vault, { pinnedVersions: { 'pseudonymisation-key': version } });
  const servicesWith = (secrets: SecretSource) =>
    ({ settings: testSettings(), secrets, store, logger: createLogger('error') }) as unknown as Services;
  const lookUp = async (secrets: SecretSource, nhsNumber: string) => {
    const query = canonicalQuery({ nhsNumber }, new Date());
    if (!query.ok) throw new Error('not a valid query');
    const ctx = createApiContext(servicesWith(secrets));
    return findPerson(store, await ctx.currentPseudonymisers(query.query), query.query, DATASETS, () => true);
  };
  const keyVersionsOf = async (personId: string) =>
    (
      await store.db
        .selectFrom('record_identifier')
        .innerJoin('source_record', 'source_record.id', 'record_identifier.record_id')
        .select('record_identifier.key_version')
        .where('source_record.person_id', '=', personId)
        .execute()
    ).map((row) => row.key_version);

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-pinned-rotation-'));
    store = openStore({ engine: 'sqlite', path: join(dir, 'lintel.db') });
    await migrateToLatest(store);
    vault = new LocalSecretSource(join(dir, 'secrets.json'));
    first = (await vault.get('pseudonymisation-key')).version;
    // The new version is made, and is Key Vault's latest, while the pin holds the first.
    second = vault.rotate('pseudonymisation-key');
  });
  afterEach(async () => {
    await store.close();
  });

  it('records the pinned version with each value, not the latest, and finds each person under their own after the pin moves', async () => {
    const robin = await insertRecord(servicesWith(pinnedTo(first)), ROBIN_IN_SOCIAL_CARE);
    expect(await keyVersionsOf(robin.personId)).toEqual([first]);
    const alex = await insertRecord(servicesWith(pinnedTo(second)), ALEX);
    expect(await keyVersionsOf(alex.personId)).toEqual([second]);

    const moved = pinnedTo(second);
    expect(await lookUp(moved, ROBIN_NHS)).toEqual({ found: true, personId: robin.personId, tier: 1 });
    expect(await lookUp(moved, ALEX_NHS)).toEqual({ found: true, personId: alex.personId, tier: 1 });
  });
});
