import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lastPassSourcesQuery,
  lastPassStartQuery,
  linkPeople,
  nextLinkedAgreementQuery,
} from '../../../shared/linkage/link-people.js';
import { pendingDatasetQueries } from '../../../shared/linkage/pending-links.js';
import { rememberedContentQuery } from '../../../shared/agreements/remembered-agreements.js';
import type { Services } from '../../../shared/services.js';
import { insertRecord, keywaysApplicant } from '../../support/records.js';
import { recordedQueries, sqlitePlanOf } from '../../support/recorded-queries.js';
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
      const detail = await sqlitePlanOf(h.store.db, query.compile());
      plans.push(detail);
      expect(detail).not.toMatch(/SCAN source_record(?! USING)/);
      expect(detail).toMatch(/USING (COVERING )?INDEX/);
    }
    expect(plans[0]).toMatch(/source_record_person/);
    expect(plans[1]).toMatch(/source_record_carried/);
  });

  // An incremental pass asks when the agreement's last pass began; link_run gains a row a pass.
  it("reads the agreement's last pass start by a seek on link_run_agreement, not a scan of every pass", async () => {
    const detail = await sqlitePlanOf(
      h.store.db,
      lastPassStartQuery(h.store.db, 'social-care-education-housing').compile(),
    );
    expect(detail).toMatch(/SEARCH link_run USING COVERING INDEX link_run_agreement/);
    expect(detail).not.toMatch(/SCAN link_run/);
  });

  // The timer asks it of every agreement, every five minutes, to find one re-signed since.
  it("reads the sources the agreement's last pass linked under by a seek on link_run_agreement", async () => {
    const detail = await sqlitePlanOf(
      h.store.db,
      lastPassSourcesQuery(h.store.db, h.store.dialect, 'social-care-education-housing').compile(),
    );
    expect(detail).toMatch(/SEARCH link_run USING INDEX link_run_agreement/);
    expect(detail).not.toMatch(/SCAN link_run|TEMP B-TREE/);
  });

  // The timer asks it of an agreement whose last pass noted other files, every five minutes while
  // two hosts on other files under one version share the store.
  it('reads the content the store remembers of the agreement by a seek on its primary key', async () => {
    const detail = await sqlitePlanOf(
      h.store.db,
      rememberedContentQuery(h.store.db, 'social-care-education-housing').compile(),
    );
    expect(detail).toMatch(/SEARCH agreement_party USING INDEX sqlite_autoindex_agreement_party_1 \(agreement_id=\?\)/);
    expect(detail).not.toMatch(/SCAN agreement_party/);
  });

  // link_run gains a row a pass, every five minutes for every agreement, for ever: a pass reads
  // it by seeks alone. Asking it for its distinct agreement ids (which agreements may hold links
  // of this pass's sources) read the whole of link_run_agreement at every pass.
  it("links a pass without reading every earlier pass's row of link_run", async () => {
    const keyways = 'keyways-housing-allocation';
    const services = { store: h.store, secrets: h.secrets } as unknown as Services;
    await insertRecord(services, keywaysApplicant('corby-borough-council', 'Ada', 'Byrne', '1980-01-01'));
    await insertRecord(services, keywaysApplicant('kettering-borough-council', 'Ada', 'Byrne', '1980-01-01'));
    for (const id of [keyways, 'social-care-education-housing', keyways]) await linkPeople(h.linkDeps(), id, 'full');

    const { db, sent } = recordedQueries(h.store.db);
    await linkPeople({ ...h.linkDeps(), store: { ...h.store, db } }, keyways, 'incremental');

    const reads = sent.filter((q) => /^select\b/i.test(q.sql) && /"link_run"/.test(q.sql));
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      const detail = await sqlitePlanOf(h.store.db, read);
      expect({ sql: read.sql, plan: detail }).toEqual({
        sql: read.sql,
        plan: expect.not.stringMatching(/SCAN link_run\b/),
      });
    }
  });

  it('finds the next agreement holding links by a seek on record_link_sources', async () => {
    const detail = await sqlitePlanOf(
      h.store.db,
      nextLinkedAgreementQuery(h.store.db, h.store.dialect, 'keyways-housing-allocation').compile(),
    );
    expect(detail).toMatch(/SEARCH record_link USING COVERING INDEX record_link_sources \(agreement_id>\?\)/);
    expect(detail).not.toMatch(/SCAN|TEMP B-TREE/);
  });
});
