import type { Store } from '../../../shared/store/database.js';

/** What kill-import.child.ts saw on the load's connection the moment before it killed itself. */
export interface KillObservation {
  /** The row (as a spreadsheet numbers it) the kill fired at. */
  readonly row: number;
  /** Whether the load's transaction was open. */
  readonly inTransaction: boolean;
  /** Records (and their identifiers) of the party's dataset the transaction held: the new snapshot's so far. */
  readonly records: number;
  readonly identifiers: number;
  /** The indexes of source_record and record_identifier (automatic ones have no `sql`). */
  readonly indexes: readonly SqliteIndex[];
}

export interface SqliteIndex {
  readonly name: string;
  readonly table: string;
  readonly sql: string | null;
}

/** The indexes of the two tables a snapshot load writes, by name, as sqlite_master holds them. */
export function snapshotIndexes(store: Store): SqliteIndex[] {
  return store
    .sqlite!.prepare(
      `select name, tbl_name as "table", sql from sqlite_master
       where type = 'index' and tbl_name in ('source_record', 'record_identifier') order by name`,
    )
    .all() as SqliteIndex[];
}

/** `pragma integrity_check`'s verdict: `['ok']` for a sound database file. */
export function integrityCheck(store: Store): string[] {
  return (store.sqlite!.prepare('pragma integrity_check').all() as { integrity_check: string }[]).map(
    (r) => r.integrity_check,
  );
}

/**
 * The first row where two equally ordered lists of rows differ (compared as JSON), or undefined
 * when they are the same: a readable failure for tens of thousands of rows, where a deep-equal
 * diff would print them all.
 */
export function firstDifference(
  actual: readonly unknown[],
  expected: readonly unknown[],
): { index: number; actual: string | undefined; expected: string | undefined } | undefined {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = i < actual.length ? JSON.stringify(actual[i]) : undefined;
    const e = i < expected.length ? JSON.stringify(expected[i]) : undefined;
    if (a !== e) return { index: i, actual: a, expected: e };
  }
  return undefined;
}
