import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, migrationState, openStore } from '../../../shared/store/database.js';

/**
 * SQLite migrations run in one transaction holding the write lock (found by a review: Kysely's
 * migrator ran them statement by statement, with no lock).
 */
describe('migrations on SQLite', () => {
  it('leave nothing behind when one is broken off part-way, so the next start migrates the store', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-mig-')), 'lintel.db');
    const first = openStore({ engine: 'sqlite', path });
    // The disk fills while 0003-records creates its second index.
    const prepare = first.sqlite!.prepare.bind(first.sqlite!);
    first.sqlite!.prepare = ((source: string) => {
      if (/create index "source_record_person"/i.test(source)) {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      }
      return prepare(source);
    }) as typeof prepare;
    await expect(migrateToLatest(first)).rejects.toThrow(/0003-records/);
    await first.close();

    // The disk has room again; the host starts once more.
    const again = openStore({ engine: 'sqlite', path });
    try {
      let error: unknown;
      await migrateToLatest(again).catch((err: unknown) => (error = err));
      expect(String((error as { cause?: unknown } | undefined)?.cause ?? error ?? 'migrated')).toBe('migrated');
      expect((await migrationState(again)).filter((m) => m.appliedAt === undefined)).toEqual([]);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('run once when two hosts start together on one file, and both hosts start', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-mig-')), 'lintel.db');
    const a = openStore({ engine: 'sqlite', path });
    const b = openStore({ engine: 'sqlite', path });
    try {
      const results = await Promise.allSettled([migrateToLatest(a), migrateToLatest(b)]);
      const failures = results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => String((r.reason as { cause?: unknown }).cause ?? r.reason));
      expect(failures).toEqual([]);
      const { rows } = await sql<{ name: string }>`
        select name from lintel_migration group by name having count(*) > 1`.execute(a.db);
      expect(rows).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});
