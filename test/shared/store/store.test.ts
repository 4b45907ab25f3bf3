import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { storeRelease } from '../../../shared/curated/curated-releases.js';
import { LinkingLockUnavailableError, takeLinkingLock } from '../../../shared/linkage/link-people.js';
import { migrateToLatest, openStore } from '../../../shared/store/database.js';
import { takeLockEpoch } from '../../../shared/store/lock-epochs.js';
import { storeConformance } from './store-conformance.js';

describe('store on SQLite (embedded default)', () => {
  storeConformance(() =>
    openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-store-')), 'lintel.db') }),
  );
});

const mssqlConnection = process.env.MSSQL_TEST_CONNECTION;
describe.skipIf(!mssqlConnection)('store on SQL Server (set MSSQL_TEST_CONNECTION to run)', () => {
  storeConformance(() => openStore({ engine: 'mssql', connectionString: mssqlConnection! }));

  it("refuses a linking pass the lock while another pass of the agreement holds it, and only that agreement's", async () => {
    const store = openStore({ engine: 'mssql', connectionString: mssqlConnection! });
    try {
      await migrateToLatest(store);
      const agreement = `lock-test-${Date.now()}`;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const first = store.db.transaction().execute(async (trx) => {
        await takeLinkingLock(store, trx, agreement);
        holding();
        await released;
      });
      await held;
      const second = store.db.transaction().execute((trx) => takeLinkingLock(store, trx, agreement, 200));
      await expect(second).rejects.toBeInstanceOf(LinkingLockUnavailableError);
      await store.db.transaction().execute((trx) => takeLinkingLock(store, trx, `${agreement}-other`, 200));
      release();
      await first;
      await store.db.transaction().execute((trx) => takeLinkingLock(store, trx, agreement, 200));
    } finally {
      await store.close();
    }
  });

  it("shows a Power BI reader only its own party's planning releases, and no table behind the view", async () => {
    const store = openStore({ engine: 'mssql', connectionString: mssqlConnection! });
    const suffix = String(Date.now());
    const reader = `curated_reader_test_${suffix}`;
    const parties = [`analysts-a-${suffix}`, `analysts-b-${suffix}`];
    try {
      await migrateToLatest(store);
      const fence = await takeLockEpoch(store, `curated-reader-test/${suffix}`);
      for (const partyId of parties)
        await storeRelease(
          store,
          {
            target: { agreementId: 'isa', purposeId: 'service-planning', datasetId: 'indicators', partyId },
            agreementVersion: '1.1.0',
            generatedAt: new Date(),
            countsSha256: 'cd'.repeat(32),
            minCell: 10,
            manifest: '{}',
            lines: [{ measure: 'all people', category: 'all', people: 40, suppressed: false, specialCategory: false }],
          },
          400,
          fence,
        );
      await sql.raw(`create user [${reader}] without login`).execute(store.db);
      await sql.raw(`grant select on curated_indicator_counts to [${reader}]`).execute(store.db);
      await store.db.insertInto('curated_reader').values({ principal_name: reader, party_id: parties[0]! }).execute();
      // One connection for the impersonation and its revert.
      const seen = await store.db.transaction().execute(async (trx) => {
        await sql.raw(`execute as user = '${reader}'`).execute(trx);
        try {
          const rows = await trx
            .selectFrom('curated_indicator_counts')
            .select(['party_id', 'people', 'latest'])
            .execute();
          const table = await trx
            .selectFrom('curated_count')
            .select('line')
            .execute()
            .then(
              () => 'read',
              () => 'refused',
            );
          return { rows, table };
        } finally {
          await sql.raw('revert').execute(trx);
        }
      });
      expect(seen.rows).toEqual([{ party_id: parties[0], people: 40, latest: 'Y' }]);
      expect(seen.table).toBe('refused');
    } finally {
      await sql
        .raw(`drop user if exists [${reader}]`)
        .execute(store.db)
        .catch(() => undefined);
      await store.db
        .deleteFrom('curated_reader')
        .where('principal_name', '=', reader)
        .execute()
        .catch(() => undefined);
      await store.close();
    }
  });
});
