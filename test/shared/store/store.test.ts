import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { openStore } from '../../../shared/store/database.js';
import { storeConformance } from './store-conformance.js';

describe('store on SQLite (embedded default)', () => {
  storeConformance(() =>
    openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-store-')), 'lintel.db') }),
  );
});

const mssqlConnection = process.env.MSSQL_TEST_CONNECTION;
describe.skipIf(!mssqlConnection)('store on SQL Server (set MSSQL_TEST_CONNECTION to run)', () => {
  storeConformance(() => openStore({ engine: 'mssql', connectionString: mssqlConnection! }));
});
