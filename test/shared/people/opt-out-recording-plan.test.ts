import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { purposeOfOptOutRecording } from '../../../shared/people/person-agreement.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { recordedQueries, sqlitePlanOf } from '../../support/recorded-queries.js';
import { sqlServerStatements } from '../../support/sql-server-statements.js';

const agreements = loadAgreements(resolve('agreements'));
const recordedBy = 'northamptonshire-children-trust';
const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
const opt = { consentId: randomUUID(), recordedBy };

/**
 * The withdrawal of an opt-out whose person nothing else places asks the access log for the entry
 * that recorded it. The log is never shortened, and grows by an entry a call: the entry is sought
 * through an index, not found by reading the whole log.
 */
describe("finding an opt-out's recording entry", () => {
  let store: Store;

  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-recording-')), 'lintel.db') });
    await migrateToLatest(store);
    // An opt-out recorded for three people at once: one entry names them all.
    await store.db
      .insertInto('consent_event')
      .values(
        [first, second, third].map((subject) => ({
          event_id: randomUUID(),
          consent_id: opt.consentId,
          subject_key: subject,
          kind: 'opt-out' as const,
          purpose_id: null,
          action: 'record' as const,
          party_id: recordedBy,
          client_id: 'children-trust-dpo',
          evidence_ref: null,
          at: '2026-11-02T10:00:00.000Z',
        })),
      )
      .execute();
    const log = new AccessLog(store, createLogger('error'));
    const entry = { partyId: recordedBy, clientId: 'children-trust-dpo', roles: ['dpo'], datasets: [], fields: [] };
    await log.append({
      ...entry,
      requestId: randomUUID(),
      purpose: 'housing-allocation',
      action: 'person.search',
      subjectRef: first,
      decision: 'allow',
      reasonCode: 'granted',
    });
    await log.append({
      ...entry,
      requestId: randomUUID(),
      purpose: 'homelessness-prevention',
      action: 'consent.record',
      subjectRef: `${first} ${second} ${third}`,
      decision: 'allow',
      reasonCode: 'opt-out-recorded',
    });
    await log.close();
  });
  afterAll(async () => store?.close());

  it('finds it by a seek on the subject index, not a scan of the log', async () => {
    const { db, sent } = recordedQueries(store.db);
    expect(await purposeOfOptOutRecording({ ...store, db }, agreements, opt)).toEqual({
      purposeId: 'homelessness-prevention',
      agreementId: 'social-care-education-housing',
    });
    const reads = sent.filter((q) => /"access_log"/.test(q.sql));
    expect(reads).toHaveLength(1);
    const plan = await sqlitePlanOf(store.db, reads[0]!);
    expect(plan).toMatch(/SEARCH access_log USING INDEX access_log_subject /);
    expect(plan).toMatch(/SEARCH access_log_subject_id USING (COVERING |PRIMARY KEY|INDEX)/);
    expect(plan).not.toMatch(/SCAN access_log\b/);
  });

  // A withdrawal that asks this of an opt-out recorded for more than about a thousand people was
  // answered 500: SQLite refuses an OR of more terms than its expression tree may be deep.
  it('finds it for an opt-out recorded for 1,200 people on SQLite', async () => {
    const many = { consentId: randomUUID(), recordedBy };
    const people = Array.from({ length: 1200 }, () => randomUUID()).sort();
    await store.db
      .insertInto('consent_event')
      .values(
        people.map((subject) => ({
          event_id: randomUUID(),
          consent_id: many.consentId,
          subject_key: subject,
          kind: 'opt-out' as const,
          purpose_id: null,
          action: 'record' as const,
          party_id: recordedBy,
          client_id: 'children-trust-dpo',
          evidence_ref: null,
          at: '2026-11-03T10:00:00.000Z',
        })),
      )
      .execute();
    const log = new AccessLog(store, createLogger('error'));
    await log.append({
      partyId: recordedBy,
      clientId: 'children-trust-dpo',
      roles: ['dpo'],
      datasets: [],
      fields: [],
      requestId: randomUUID(),
      purpose: 'homelessness-prevention',
      action: 'consent.record',
      // As an entry names them: the first ten, the rest left off.
      subjectRef: people.slice(0, 10).join(' '),
      decision: 'allow',
      reasonCode: 'opt-out-recorded',
    });
    await log.close();
    expect(await purposeOfOptOutRecording(store, agreements, many)).toEqual({
      purposeId: 'homelessness-prevention',
      agreementId: 'social-care-education-housing',
    });
  });

  // The index sits beside the hash chain: a row planted there, before anyone runs verify, would
  // file the withdrawal of an opt-out no entry recorded under the purpose of another's recording.
  it("finds no recording for a person through a row planted in the subjects' index that the entry does not name", async () => {
    const victim = randomUUID();
    const planted = { consentId: randomUUID(), recordedBy };
    await store.db
      .insertInto('consent_event')
      .values({
        event_id: randomUUID(),
        consent_id: planted.consentId,
        subject_key: victim,
        kind: 'opt-out',
        purpose_id: null,
        action: 'record',
        party_id: recordedBy,
        client_id: 'children-trust-dpo',
        evidence_ref: null,
        at: '2026-11-04T10:00:00.000Z',
      })
      .execute();
    const recording = await store.db
      .selectFrom('access_log')
      .select('seq')
      .where('subject_ref', '=', `${first} ${second} ${third}`)
      .executeTakeFirstOrThrow();
    await store.db.insertInto('access_log_subject_id').values({ person_id: victim, seq: recording.seq }).execute();
    expect(await purposeOfOptOutRecording(store, agreements, planted)).toBeUndefined();
  });

  // SQL Server scans for a LIKE whose pattern begins with a wildcard: none is sent.
  it('asks SQL Server by seeks alone, each id by its subject and by the index of entries about several', async () => {
    const { store: mssql, statements } = sqlServerStatements((query) =>
      /consent_event/.test(query.sql) ? [{ subject_key: first }, { subject_key: second }] : [],
    );
    await purposeOfOptOutRecording(mssql, agreements, opt);
    const read = statements.find((q) => /\baccess_log\b/.test(q.sql));
    expect(read).toBeDefined();
    expect(read!.sql).not.toContain(' like ');
    expect(read!.parameters.filter((p) => p === first || p === second)).toEqual([first, first, second, second]);
  });
});
