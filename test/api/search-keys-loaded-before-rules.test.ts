import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { migrationsFor } from '../../shared/store/migrations/index.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { callApi, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

const DATASET = 'multiple-disadvantage-indicators';
const PARTY = 'la-housing';
/** The migration that clears the keys the rules no longer keep. */
const BEFORE_RULES = '0053-matching-keys-naming-no-one';

/**
 * Housing's records as a load before the placeholder-name and forces-postcode rules stored them:
 * Baby Smith's given name "BABY" and its "BAB", John Ward's "BFPO 61". The store is then started
 * by a release with migration 0053, as a deployment meets it, and searched over HTTP.
 */
describe('records loaded before the placeholder-name and forces-postcode rules', () => {
  let t: TestHost;
  let extracts: HostExtracts;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    extracts = await hostExtracts(t);
    const runId = await extracts.load(PARTY, DATASET, 'extract-2026-11-30.csv', [
      'firstName,lastName,dateOfBirth,homePostcode,inTemporaryAccommodation',
      'Baby,Smith,2025-11-20,ME1 1AA,Y',
      'Babette,Jones,2019-04-05,ME2 2BB,Y',
      'John,Ward,1985-01-02,BFPO 61,Y',
    ]);
    await linkAfterImport(extracts.linkDeps(), runId);
    const db = t.host.services.store.db;
    await db
      .updateTable('source_record')
      .set({ given_name: 'BABY', first3: 'BAB' })
      .where('family_name', '=', 'SMITH')
      .execute();
    await db.updateTable('source_record').set({ postcode: 'BFPO 61' }).where('family_name', '=', 'WARD').execute();
    // A store the release before 0053 left: the migrations since undone, newest first, and 0053 not run.
    const migrations = migrationsFor(t.host.services.store.dialect);
    for (const name of Object.keys(migrations)
      .filter((name) => name >= BEFORE_RULES)
      .reverse()) {
      if (name !== BEFORE_RULES) {
        const down = migrations[name]?.down;
        if (down === undefined) throw new Error(`migration ${name} cannot be undone: it has no down`);
        await down(db as unknown as Kysely<unknown>);
      }
      await sql`delete from lintel_migration where name = ${name}`.execute(db);
    }
    await extracts.remove();
    t = await restartTestHost(t, { LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const officerSearch = (body: object) =>
    callApi(t, '/v1/people/search', {
      party: PARTY,
      roles: ['housing-officer'],
      purpose: 'homelessness-prevention',
      body,
    });

  it('finds no earlier load\'s "Baby Smith" by "Babette Smith" and the date of birth, and still finds a real Babette', async () => {
    const babette = await officerSearch({ givenName: 'Babette', familyName: 'Smith', dateOfBirth: '2025-11-20' });
    expect(babette.status).toBe(404);
    expect(babette.body.type).toMatch(/no-match$/);

    const real = await officerSearch({ givenName: 'Babette', familyName: 'Jones', dateOfBirth: '2019-04-05' });
    expect(real.status).toBe(200);
    expect(real.body.match).toMatchObject({ tier: 3 });
  });

  it('keeps no forces postcode to match on, keeps the other columns as they were, and clears nothing more run again', async () => {
    const store = t.host.services.store;
    const stored = () =>
      store.db
        .selectFrom('source_record')
        .select(['family_name', 'given_name', 'first3', 'postcode'])
        .orderBy('family_name')
        .execute();
    const rows = await stored();
    await migrationsFor(store.dialect)[BEFORE_RULES]!.up(store.db as unknown as Kysely<unknown>);
    expect(await stored()).toEqual(rows);
    expect(rows).toEqual([
      { family_name: 'JONES', given_name: 'BABETTE', first3: 'BAB', postcode: 'ME2 2BB' },
      { family_name: 'SMITH', given_name: null, first3: null, postcode: 'ME1 1AA' },
      { family_name: 'WARD', given_name: 'JOHN', first3: 'JOH', postcode: null },
    ]);
  });
});
