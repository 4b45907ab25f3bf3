import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { sourceRecordRow } from '../../support/records.js';

/**
 * Commits no longer copy the WAL back into the database file themselves (that stalled the commit
 * that crossed the threshold); a thread of the store does, while the store stays open. What an
 * operator notices: the database file takes the committed pages within a second or so, and the
 * WAL does not grow without bound.
 */
describe('WAL checkpoints on their own thread', () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('copies committed pages into the store file while it stays open', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-wal-')), 'lintel.db');
    store = openStore({ engine: 'sqlite', path });
    await migrateToLatest(store);
    await new Promise((r) => setTimeout(r, 500));
    const before = statSync(path).size;
    for (let start = 0; start < 4000; start += 40) {
      await store.db
        .insertInto('source_record')
        .values(
          Array.from({ length: 40 }, (_, i) =>
            sourceRecordRow(`r-${start + i}`, `p-${start + i}`, {
              attributes: JSON.stringify({ note: 'x'.repeat(500) }),
            }),
          ),
        )
        .execute();
    }
    const deadline = Date.now() + 5000;
    while (statSync(path).size < before + 2_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(statSync(path).size).toBeGreaterThan(before + 2_000_000);
  });
});
