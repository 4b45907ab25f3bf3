import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LinkingLockUnavailableError, takeLinkingLock } from '../../../shared/linkage/link-people.js';
import { migrateToLatest, openStore } from '../../../shared/store/database.js';
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
});
