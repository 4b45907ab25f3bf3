import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedKeyVersions, unknownStoredKeyVersion } from '../../../shared/people/stored-key-versions.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { sourceRecordRow } from '../../support/records.js';

/**
 * Which pseudonymisation key versions the store's identifiers carry: asked by every instance
 * once a minute, so it must not read every identifier to answer.
 */
describe('storedKeyVersions', () => {
  let store: Store;
  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-versions-')), 'lintel.db') });
    await migrateToLatest(store);
  });
  afterAll(async () => store.close());

  it('is empty for an empty store, then lists each version once, in order', async () => {
    expect(await storedKeyVersions(store)).toEqual([]);
    const versions = ['c3', 'a1', 'b2', 'a1', 'c3', 'c3'];
    for (const [n, version] of versions.entries()) {
      await store.db
        .insertInto('source_record')
        .values(sourceRecordRow(`r${n}`, `p${n}`))
        .execute();
      await store.db
        .insertInto('record_identifier')
        .values({ record_id: `r${n}`, kind: 'nhs', hash: `h${n}`, key_version: version })
        .execute();
    }
    expect(await storedKeyVersions(store)).toEqual(['a1', 'b2', 'c3']);
  });

  it('seeks each version in an index rather than reading the identifiers', async () => {
    const plan = await sql<{ detail: string }>`
      explain query plan select min(key_version) from record_identifier where key_version > ${'a1'}`.execute(store.db);
    const details = plan.rows.map((row) => row.detail).join(' | ');
    expect(details).toContain('record_identifier_key_version');
    expect(details).not.toMatch(/\bSCAN\b/);
  });

  // Key Vault's version ids are random: a new one may sort before, between or after the known.
  it('names a stored version outside those known, wherever it sorts, and none when all are known', async () => {
    expect(await unknownStoredKeyVersion(store, ['a1', 'b2', 'c3'])).toBeUndefined();
    expect(await unknownStoredKeyVersion(store, ['c3', 'a1', 'b2', 'd4'])).toBeUndefined();
    expect(await unknownStoredKeyVersion(store, ['a1', 'c3'])).toBe('b2');
    expect(await unknownStoredKeyVersion(store, ['b2', 'c3'])).toBe('a1');
    expect(await unknownStoredKeyVersion(store, ['a1', 'b2'])).toBe('c3');
    expect(await unknownStoredKeyVersion(store, [])).toMatch(/^[abc]/);
  });

  it('asks that in one statement of index seeks, not by reading the identifiers', async () => {
    const plan = await sql<{ detail: string }>`
      explain query plan select
        (select min(key_version) from record_identifier) as lo,
        (select max(key_version) from record_identifier) as hi,
        (select min(key_version) from record_identifier where key_version > ${'a1'}) as n0`.execute(store.db);
    const details = plan.rows.map((row) => row.detail);
    expect(details.filter((d) => d.includes('record_identifier_key_version'))).toHaveLength(3);
    expect(details.filter((d) => /\bSCAN\b/.test(d))).toEqual(['SCAN CONSTANT ROW']);
  });
});
