import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLogRecord } from '../../shared/audit/access-log.js';
import { numberedEntries, toRow } from '../../shared/audit/access-log-rows.js';
import { openStore } from '../../shared/store/database.js';
import { migrationsFor } from '../../shared/store/migrations/index.js';
import { aishaOnKeyways, AISHA_NI, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * README: a subject access request lists who accessed the person. An entry about several people
 * (a link review's decision on two records) names them all in one subject, and is found for each
 * of them by the index of their ids (migration 0050): for an entry written before that index
 * existed too, which the migration fills in, and for one written since, which the log's writer
 * indexes as it appends it.
 */
describe('a subject access request for a person an entry names beside another', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const [other, aisha] = [randomUUID(), randomUUID()];
  const decision = (requestId: string): AccessLogRecord => ({
    requestId,
    partyId: 'keyways-registered-providers',
    clientId: 'keyways-rp-client',
    roles: ['rp-lettings'],
    purpose: 'housing-allocation',
    action: 'link.confirm',
    subjectRef: `${other} ${aisha}`,
    datasets: ['keyways-housing-register'],
    fields: [],
    decision: 'allow',
    reasonCode: 'granted',
  });

  beforeAll(async () => {
    // The store as it stood before 0050: its log holds an entry naming Aisha second.
    const path = join(mkdtempSync(join(tmpdir(), 'lintel-sar-several-')), 'lintel.db');
    const before = openStore({ engine: 'sqlite', path });
    const migrator = new Migrator({
      db: before.db,
      provider: { getMigrations: async () => migrationsFor(before.dialect) },
      migrationTableName: 'lintel_migration',
      migrationLockTableName: 'lintel_migration_lock',
    });
    expect((await migrator.migrateTo('0049-lock-epochs')).error).toBeUndefined();
    const [entry] = numberedEntries([decision('decided-before')], 1, '2026-11-02T10:00:00.000Z');
    await before.db.insertInto('access_log').values(toRow(entry!)).execute();
    await before.close();
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', SQLITE_PATH: path });
    await insertRecord(t.host.services, { ...aishaOnKeyways(), personId: aisha });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the decisions naming her second, made before the index of subjects and since', async () => {
    await t.host.services.accessLog.append(decision('decided-since'));
    const sar = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { niNumber: AISHA_NI } });
    expect(sar.status).toBe(200);
    expect(
      (sar.body.entries as { action: string; requestId: string }[])
        .filter((e) => e.action === 'link.confirm')
        .map((e) => e.requestId),
    ).toEqual(['decided-before', 'decided-since']);
  });
});
