import type { Store } from '../../shared/store/database.js';

/** One schema object as sqlite_master lists it. */
interface SchemaObject {
  type: 'table' | 'index' | 'trigger' | 'view';
  name: string;
  sql: string | null;
}

/** Every schema of a SQLite store's connection (the store file and its attached log) as they stood: objects and rows. */
export type StoreState = {
  schema: string;
  objects: SchemaObject[];
  rows: { table: string; rows: Record<string, unknown>[] }[];
}[];

/** The schemas a store's connection has open: `main`, and `audit` where the log has a file of its own. */
function schemasOf(store: Store): string[] {
  return (store.sqlite!.prepare('pragma database_list').all() as { name: string }[])
    .map((d) => d.name)
    .filter((name) => name !== 'temp');
}

const objectsIn = (store: Store, schema: string): SchemaObject[] =>
  store
    .sqlite!.prepare(`select type, name, sql from "${schema}".sqlite_master where name not like 'sqlite_autoindex%'`)
    .all() as SchemaObject[];

/**
 * What `restoreStoreState` puts back: the store's tables, indexes, triggers and views, and every
 * table's rows, in `schemas` (all the connection has open unless named); one left out is left as it is.
 */
export function storeState(store: Store, schemas: string[] = schemasOf(store)): StoreState {
  const sqlite = store.sqlite!;
  return schemas.map((schema) => {
    const objects = objectsIn(store, schema);
    const tables = objects.filter((o) => o.type === 'table').map((o) => o.name);
    return {
      schema,
      objects,
      rows: tables.map((table) => ({
        table,
        rows: sqlite.prepare(`select * from "${schema}"."${table}"`).all() as Record<string, unknown>[],
      })),
    };
  });
}

/**
 * Refuses to put a shared store back while its connection is inside a transaction: one a case
 * that timed out left open (vitest does not stop it). better-sqlite3 would run the reset as a
 * savepoint inside it, where `foreign_keys = OFF` does nothing, and that case's rollback would
 * later undo the reset; the next case would fail on a lock, a foreign key or rows it never wrote.
 */
export function refuseResetInTransaction(store: Store): void {
  if (store.sqlite!.inTransaction)
    throw new Error(
      'the store is inside a transaction an earlier case left open (did it time out?); this case cannot start afresh',
    );
}

/** Replaces the rows of `schema`.`table` with `rows` (inside the caller's transaction, foreign keys off). */
function replaceRows(store: Store, schema: string, table: string, rows: Record<string, unknown>[]): void {
  const sqlite = store.sqlite!;
  sqlite.prepare(`delete from "${schema}"."${table}"`).run();
  for (const row of rows) {
    const columns = Object.keys(row);
    sqlite
      .prepare(
        `insert into "${schema}"."${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`,
      )
      .run(...Object.values(row));
  }
}

/**
 * Puts a store back as `storeState` found it, on its open connection, for the next case of a file
 * that shares one store: a table planted, rebuilt or dropped, an index or trigger dropped, a row
 * altered, added or deleted are all undone. Opening a store of its own per case costs its threads
 * (access log, reads, checkpoints) loading their modules again: a bundle's in a `vitest run`, still
 * most of a second each on a loaded machine, and seconds through tsx in watch mode.
 */
export function restoreStoreState(store: Store, state: StoreState): void {
  refuseResetInTransaction(store);
  const sqlite = store.sqlite!;
  const same = (a: SchemaObject, b: SchemaObject) => a.type === b.type && a.name === b.name && a.sql === b.sql;
  // Rows go before the rows they refer to are back: foreign keys are checked again after.
  sqlite.pragma('foreign_keys = OFF');
  try {
    sqlite.transaction(() => {
      for (const { schema, objects, rows } of state) {
        const current = objectsIn(store, schema);
        // Triggers go first, and come back last: the log's refuse the deletes below.
        for (const o of current.filter((o) => o.type === 'trigger' || o.type === 'view'))
          sqlite.exec(`drop ${o.type} "${schema}"."${o.name}"`);
        for (const o of current.filter((o) => o.type === 'table' && !o.name.startsWith('sqlite_')))
          if (!objects.some((kept) => same(kept, o))) sqlite.exec(`drop table "${schema}"."${o.name}"`);
        for (const o of current.filter((o) => o.type === 'index'))
          if (!objects.some((kept) => same(kept, o))) sqlite.exec(`drop index if exists "${schema}"."${o.name}"`);
        const left = objectsIn(store, schema);
        const inSchema = (sql: string) =>
          sql.replace(/^create (table|(unique )?index|trigger|view) (if not exists )?/i, `$& "${schema}".`);
        for (const type of ['table', 'index'] as const)
          for (const o of objects.filter((o) => o.type === type && o.sql !== null && !o.name.startsWith('sqlite_')))
            if (!left.some((now) => same(now, o))) sqlite.exec(inSchema(o.sql!));
        for (const { table, rows: kept } of rows) replaceRows(store, schema, table, kept);
        for (const o of objects.filter((o) => o.type === 'view' || o.type === 'trigger')) sqlite.exec(inSchema(o.sql!));
      }
    })();
  } finally {
    sqlite.pragma('foreign_keys = ON');
  }
}
