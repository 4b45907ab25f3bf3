import { Migrator } from 'kysely';
import { expect, it } from 'vitest';
import { openStore } from '../../../shared/store/database.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';

const decision = (agreementId: string | null, decision: 'confirmed' | 'rejected', decidedAt: string) => ({
  pair_key: 'a-pair-key',
  decision,
  party_id: 'a-party',
  client_id: 'a-client',
  request_id: `request-${decidedAt}`,
  score: 0.5,
  decided_at: decidedAt,
  identity_key: 'an-identity-key',
  print_a: null,
  print_b: null,
  agreement_id: agreementId,
});

it("migration 0044 keeps the decisions made before it, and keeps each agreement's decision on a pair beside another's", async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0043-link-run-agreement-sources')).error).toBeUndefined();
    const before = decision('agreement-a', 'confirmed', '2026-01-01T00:00:00.000Z');
    await store.db.insertInto('link_decision').values(before).execute();
    await store.db
      .insertInto('link_decision')
      .values({ ...decision(null, 'rejected', '2025-01-01T00:00:00.000Z'), pair_key: 'a-pair-before-0025' })
      .execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    const after = decision('agreement-b', 'rejected', '2026-02-01T00:00:00.000Z');
    await store.db.insertInto('link_decision').values(after).execute();
    const rows = () => store.db.selectFrom('link_decision').selectAll().orderBy('decided_at').execute();
    expect(await rows()).toEqual([
      { ...decision(null, 'rejected', '2025-01-01T00:00:00.000Z'), pair_key: 'a-pair-before-0025' },
      before,
      after,
    ]);
    // Still one decision an agreement on a pair.
    await expect(
      store.db
        .insertInto('link_decision')
        .values(decision('agreement-a', 'rejected', '2026-03-01T00:00:00.000Z'))
        .execute(),
    ).rejects.toThrow(/UNIQUE/);

    // Down again: one decision a pair key, the latest, as the table held before.
    expect((await migrator.migrateTo('0043-link-run-agreement-sources')).error).toBeUndefined();
    expect(await rows()).toEqual([
      { ...decision(null, 'rejected', '2025-01-01T00:00:00.000Z'), pair_key: 'a-pair-before-0025' },
      after,
    ]);
  } finally {
    await store.close();
  }
});
