import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DummyDriver,
  Kysely,
  MssqlAdapter,
  MssqlIntrospector,
  MssqlQueryCompiler,
  sql,
  type CompiledQuery,
  type DatabaseConnection,
  type QueryResult,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryShapes } from '../../../shared/people/query-shapes.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { dialectFor } from '../../../shared/store/dialect.js';
import { readsOn } from '../../../shared/store/read-queries.js';
import type { Database } from '../../../shared/store/schema.js';
import { sourceRecordRow } from '../../support/records.js';

const recordsOf = new QueryShapes((db, _shape, values) =>
  db
    .selectFrom('source_record')
    .select(['id', 'dataset_id'])
    .where('person_id', '=', values[0]!)
    .where('dataset_id', 'in', values.slice(1))
    .orderBy('id'),
);

describe('query shapes on SQLite', () => {
  let store: Store;

  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-shapes-')), 'shapes.db') });
    await migrateToLatest(store);
    await store.db
      .insertInto('source_record')
      .values([
        sourceRecordRow('r1', 'p1', { datasetId: 'a' }),
        sourceRecordRow('r2', 'p1', { datasetId: 'b' }),
        sourceRecordRow('r3', 'p2', { datasetId: 'a' }),
        sourceRecordRow('r4', 'p1', { datasetId: 'c' }),
      ])
      .execute();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('answers each run with its own values, as the query built afresh would', async () => {
    expect(await recordsOf.execute(store, 'by-person', ['p1', 'a', 'b'])).toEqual([
      { id: 'r1', dataset_id: 'a' },
      { id: 'r2', dataset_id: 'b' },
    ]);
    expect(await recordsOf.execute(store, 'by-person', ['p2', 'a', 'b'])).toEqual([{ id: 'r3', dataset_id: 'a' }]);
    expect(await recordsOf.execute(store, 'by-person', ['p1', 'c', 'x'])).toEqual([{ id: 'r4', dataset_id: 'c' }]);
  });

  it('compiles a shape per list length, so a longer list is not cut short', async () => {
    expect(await recordsOf.execute(store, 'by-person', ['p1', 'a'])).toHaveLength(1);
    expect(await recordsOf.execute(store, 'by-person', ['p1', 'a', 'b', 'c'])).toHaveLength(3);
    expect(await recordsOf.execute(store, 'by-person', ['p1', 'b'])).toEqual([{ id: 'r2', dataset_id: 'b' }]);
  });

  it('treats values as data, never as SQL', async () => {
    expect(await recordsOf.execute(store, 'by-person', ["p1' or '1'='1", 'a', 'b'])).toEqual([]);
  });

  it('refuses a query that writes a value into its SQL text', async () => {
    const inlined = new QueryShapes((db, _shape, values) =>
      db.selectFrom('source_record').select('id').where('person_id', '=', sql.lit(values[0]!)),
    );
    await expect(inlined.execute(store, 'inlined', ['p1'])).rejects.toThrow(/bind every value/);
  });
});

describe('query shapes on SQL Server', () => {
  it('binds the values in the order of the SQL Server parameters', async () => {
    const seen: CompiledQuery[] = [];
    const connection: DatabaseConnection = {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        seen.push(query);
        return { rows: [] };
      },
      streamQuery: () => {
        throw new Error('not used');
      },
    };
    class RecordingDriver extends DummyDriver {
      override async acquireConnection(): Promise<DatabaseConnection> {
        return connection;
      }
    }
    const db = new Kysely<Database>({
      dialect: {
        createAdapter: () => new MssqlAdapter(),
        createDriver: () => new RecordingDriver(),
        createIntrospector: (k) => new MssqlIntrospector(k),
        createQueryCompiler: () => new MssqlQueryCompiler(),
      },
    });
    const store: Store = { db, dialect: dialectFor('mssql'), reads: readsOn(db), close: () => db.destroy() };
    await recordsOf.execute(store, 'by-person', ['p1', 'a', 'b']);
    await recordsOf.execute(store, 'by-person', ['p2', 'c', 'd']);
    expect(seen[1]!.sql).toContain('"person_id" = @1');
    expect(seen[1]!.sql).toContain('"dataset_id" in (@2, @3)');
    expect(seen.map((q) => q.parameters)).toEqual([
      ['p1', 'a', 'b'],
      ['p2', 'c', 'd'],
    ]);
    await db.destroy();
  });
});
