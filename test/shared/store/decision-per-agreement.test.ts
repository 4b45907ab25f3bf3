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

it('holds a pair key to one decision made before 0025 on SQLite, as SQL Server does, keeping the latest of any two', async () => {
  const store = openStore({ engine: 'sqlite', path: ':memory:' });
  try {
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => migrationsFor(store.dialect) },
    });
    expect((await migrator.migrateTo('0046-agreement-content-hash')).error).toBeUndefined();
    // Two rows naming no agreement under one pair key, which SQLite's index of 0044 let in and
    // SQL Server's refuses: a writer that left them passed here and failed on Azure SQL, and a pass
    // read whichever it read last as the officer's word.
    const earlier = decision(null, 'confirmed', '2025-01-01T00:00:00.000Z');
    const later = decision(null, 'rejected', '2025-02-01T00:00:00.000Z');
    await store.db.insertInto('link_decision').values([later, earlier]).execute();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    const rows = () => store.db.selectFrom('link_decision').selectAll().orderBy('decided_at').execute();
    expect(await rows()).toEqual([later]);
    await expect(store.db.insertInto('link_decision').values(earlier).execute()).rejects.toThrow(/UNIQUE/);
    // Each agreement's decision beside it, as before.
    const own = decision('agreement-a', 'confirmed', '2026-01-01T00:00:00.000Z');
    await store.db.insertInto('link_decision').values(own).execute();
    expect(await rows()).toEqual([later, own]);
  } finally {
    await store.close();
  }
});
