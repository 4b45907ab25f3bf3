import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { recordPersonIdMoves } from '../../../shared/linkage/person-id-history.js';
import { openStore } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

it('migration 0016 keeps the moves noted before it, and lets a pair move again at a later time', async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0014-person-id-moves')).error).toBeUndefined();
    await recordPersonIdMoves(store.db, 'sqlite', [{ from: 'a', to: 'b' }], '2026-01-01T00:00:00.000Z');
    await recordPersonIdMoves(store.db, 'sqlite', [{ from: 'b', to: 'a' }], '2026-02-01T00:00:00.000Z');
    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    expect(await recordPersonIdMoves(store.db, 'sqlite', [{ from: 'a', to: 'b' }], '2026-03-01T00:00:00.000Z')).toBe(1);
    // The same move at the same time again (a retried write) is noted once.
    expect(await recordPersonIdMoves(store.db, 'sqlite', [{ from: 'a', to: 'b' }], '2026-03-01T00:00:00.000Z')).toBe(0);
    const moves = store.db.selectFrom('person_id_move').select(['from_person_id', 'to_person_id', 'moved_at']);
    expect(await moves.orderBy('moved_at').execute()).toEqual([
      { from_person_id: 'a', to_person_id: 'b', moved_at: '2026-01-01T00:00:00.000Z' },
      { from_person_id: 'b', to_person_id: 'a', moved_at: '2026-02-01T00:00:00.000Z' },
      { from_person_id: 'a', to_person_id: 'b', moved_at: '2026-03-01T00:00:00.000Z' },
    ]);

    // Down again: one row a pair, its first move, as before.
    expect((await migrator.migrateTo('0014-person-id-moves')).error).toBeUndefined();
    expect(await store.db.selectFrom('person_id_move').selectAll().orderBy('moved_at').execute()).toEqual([
      { from_person_id: 'a', to_person_id: 'b', moved_at: '2026-01-01T00:00:00.000Z' },
      { from_person_id: 'b', to_person_id: 'a', moved_at: '2026-02-01T00:00:00.000Z' },
    ]);
  } finally {
    await store.close();
  }
});
