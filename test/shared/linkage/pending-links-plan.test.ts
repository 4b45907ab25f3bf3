import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastPassStartQuery } from '../../../shared/linkage/link-people.js';
import { lastPassSourcesQuery, pendingDatasetQueries } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

/** The linking timers' queries are answered from indexes, never a scan of a whole table. */
describe('linking queries on SQLite', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await createImportHarness();
  });
  afterAll(async () => h.close());

  it('has the partial index of migration 0011', async () => {
    const { rows } = await h.store.db.executeQuery<{ sql: string }>(
      CompiledQuery.raw(`select sql from sqlite_master where type = 'index' and name = 'source_record_carried'`),
    );
    expect(rows[0]?.sql).toMatch(/where\s+"?carried_person_id"? is not null/i);
  });

  it('plans each query on an index', async () => {
    const queries = pendingDatasetQueries(h.store.db);
    expect(queries).toHaveLength(2);
    const plans: string[] = [];
    for (const query of queries) {
      const compiled = query.compile();
      const { rows } = await h.store.db.executeQuery<{ detail: string }>(
        CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
      );
      const detail = rows.map((r) => r.detail).join('\n');
      plans.push(detail);
      expect(detail).not.toMatch(/SCAN source_record(?! USING)/);
      expect(detail).toMatch(/USING (COVERING )?INDEX/);
    }
    expect(plans[0]).toMatch(/source_record_person/);
    expect(plans[1]).toMatch(/source_record_carried/);
  });

  // An incremental pass asks when the agreement's last pass began; link_run gains a row a pass.
  it("reads the agreement's last pass start by a seek on link_run_agreement, not a scan of every pass", async () => {
    const compiled = lastPassStartQuery(h.store.db, 'social-care-education-housing').compile();
    const { rows } = await h.store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
    );
    const detail = rows.map((r) => r.detail).join('\n');
    expect(detail).toMatch(/SEARCH link_run USING COVERING INDEX link_run_agreement/);
    expect(detail).not.toMatch(/SCAN link_run/);
  });

  // The timer asks it of every agreement, every five minutes, to find one re-signed since.
  it("reads the sources the agreement's last pass linked under by a seek on link_run_agreement", async () => {
    const compiled = lastPassSourcesQuery(h.store.db, h.store.dialect, 'social-care-education-housing').compile();
    const { rows } = await h.store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
    );
    const detail = rows.map((r) => r.detail).join('\n');
    expect(detail).toMatch(/SEARCH link_run USING INDEX link_run_agreement/);
    expect(detail).not.toMatch(/SCAN link_run|TEMP B-TREE/);
  });
});
