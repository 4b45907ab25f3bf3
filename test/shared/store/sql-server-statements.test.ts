import type { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { listCandidates } from '../../../shared/linkage/review-queue.js';
import { readStoreSources } from '../../../shared/linkage/store-sources.js';
import { refusedBySqlServer, sqlServerStatements } from '../../support/sql-server-statements.js';

/**
 * What the product sends Azure SQL, compiled by Kysely's SQL Server compiler from the product's
 * own code (no SQL Server can run here: test/support/sql-server-statements.ts), checked against
 * the rules SQL Server enforces whatever the data.
 */

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';

function expectAccepted(statements: readonly CompiledQuery[]): void {
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements)
    expect({ sql: statement.sql, refused: refusedBySqlServer(statement) }).toEqual({
      sql: statement.sql,
      refused: [],
    });
}

describe('statements sent to Azure SQL', () => {
  it('lists the link-review queue, first page and later ones, with statements SQL Server accepts', async () => {
    const { store, statements } = sqlServerStatements();
    await listCandidates(store, AGREEMENT, [DATASET], { limit: 20 });
    await listCandidates(store, AGREEMENT, [DATASET], {
      limit: 20,
      after: '0.75_0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    });
    expect(statements).toHaveLength(2);
    expectAccepted(statements);
    // The page's rows, most probable first, bounded as SQL Server bounds a read.
    expect(statements[0]!.sql).toMatch(/^select top\(501\) .* order by "score" desc, "id"$/);
  });

  it("reads a linking pass's records and identifiers in pages SQL Server accepts", async () => {
    const { store, statements } = sqlServerStatements();
    await readStoreSources(store.db, [DATASET], 'v1', store.dialect);
    expect(statements).toHaveLength(2);
    expectAccepted(statements);
    for (const statement of statements) expect(statement.sql).toMatch(/^select top\(20000\) .* order by /);
  });
});
