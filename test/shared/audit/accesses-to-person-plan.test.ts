import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { housingLinkConfirmation } from '../../support/link-confirmations.js';
import { accessesToPerson, auditScope } from '../../../shared/audit/dpo-views.js';
import { createLogger } from '../../../shared/logging.js';
import { recordedQueries, sqlitePlanOf } from '../../support/recorded-queries.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

const agreements = loadAgreements(resolve('agreements'));
const scope = auditScope(agreements, ['social-care-education-housing']);
const [person, before, after, between] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

const entry = housingLinkConfirmation;

/** The person alone, first, last and between two others; and an entry about others only. */
async function writeEntries(store: Store): Promise<void> {
  const log = new AccessLog(store, createLogger('error'));
  // One batch, numbered in the order appended.
  await Promise.all([
    log.append(entry('alone', person)),
    log.append(entry('first', `${person} ${after}`)),
    log.append(entry('others', `${before} ${after}`)),
    log.append(entry('last', `${before} ${person}`)),
    log.append(entry('between', `${before} ${person} ${between}`)),
  ]);
  await log.close();
}

/**
 * A DPO's subject access request asks the access log for the entries about one person. The log is
 * never shortened and grows by an entry a call: an entry about several people, which names the
 * person after another, is found through the index of their ids, not by reading the whole log.
 */
describe("a subject access request's read of the access log", () => {
  it('finds the entries naming the person among several by seeks, with no scan of the log', async () => {
    const store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-sar-plan-')), 'l.db') });
    try {
      await migrateToLatest(store);
      await writeEntries(store);
      const { db, sent } = recordedQueries(store.db);
      const page = await accessesToPerson({ ...store, db }, scope, person, { after: 0, limit: 10 });
      expect(page.entries.map((e) => e.requestId)).toEqual(['alone', 'first', 'last', 'between']);
      const reads = sent.filter((q) => /^select \* from "access_log"/.test(q.sql));
      expect(reads).toHaveLength(1);
      const plan = await sqlitePlanOf(store.db, reads[0]!);
      // Not a read of the whole log: neither a scan nor a walk of it by sequence number from `after`.
      expect(plan).not.toMatch(/SCAN access_log\b|SEARCH access_log USING INTEGER PRIMARY KEY \(rowid>\?\)/);
      expect(plan).toMatch(/SEARCH access_log USING INDEX access_log_subject \(subject_ref=\?/);
      expect(plan).toMatch(/SEARCH access_log_subject_id/);
    } finally {
      await store.close();
    }
  });

  // In memory, as on SQL Server, the log is written on the store's own connection, not its thread.
  it("finds them where the log is written on the store's own connection", async () => {
    const store = openStore({ engine: 'sqlite', path: ':memory:' });
    try {
      await migrateToLatest(store);
      await writeEntries(store);
      const page = await accessesToPerson(store, scope, person, { after: 0, limit: 10 });
      expect(page.entries.map((e) => e.requestId)).toEqual(['alone', 'first', 'last', 'between']);
      const firstPage = await accessesToPerson(store, scope, person, { after: 0, limit: 2 });
      expect(firstPage.entries.map((e) => e.requestId)).toEqual(['alone', 'first']);
      const rest = await accessesToPerson(store, scope, person, { after: firstPage.next!, limit: 2 });
      // A full page says where to go on, by sequence number, though nothing may follow.
      expect({ entries: rest.entries.map((e) => e.requestId), next: rest.next }).toEqual({
        entries: ['last', 'between'],
        next: 5,
      });
      expect(await accessesToPerson(store, scope, person, { after: 5, limit: 2 })).toMatchObject({
        entries: [],
        next: null,
      });
    } finally {
      await store.close();
    }
  });
});
