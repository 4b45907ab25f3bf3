import type { Selectable } from 'kysely';
import type { Store } from '../store/database.js';
import type { AccessLogTable } from '../store/schema.js';

const PAGE = 5000;

/**
 * Every access-log row in sequence order, read in keyset pages so memory stays flat however
 * long the log grows. Yields rows as stored — including any gaps or tampering, which is what
 * the verifier needs to see.
 */
export async function* accessLogRows(
  store: Store,
  uptoSeq = Number.MAX_SAFE_INTEGER,
): AsyncGenerator<Selectable<AccessLogTable>> {
  let after = 0;
  for (;;) {
    const page = await store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .selectAll()
          .where('seq', '>', after)
          .where('seq', '<=', uptoSeq)
          .orderBy('seq'),
        PAGE,
      )
      .execute();
    for (const row of page) yield row;
    if (page.length < PAGE) return;
    after = Number(page[page.length - 1]!.seq);
  }
}

/** Stored leaf hashes for seq 1..treeSize, for proofs. */
export async function leafHashes(store: Store, treeSize: number): Promise<Buffer[]> {
  const hashes: Buffer[] = [];
  let after = 0;
  while (hashes.length < treeSize) {
    const page = await store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .select(['seq', 'leaf_hash'])
          .where('seq', '>', after)
          .where('seq', '<=', treeSize)
          .orderBy('seq'),
        PAGE * 4,
      )
      .execute();
    if (page.length === 0) break;
    for (const row of page) hashes.push(Buffer.from(row.leaf_hash));
    after = Number(page[page.length - 1]!.seq);
  }
  return hashes;
}

export async function logSize(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('access_log')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}
