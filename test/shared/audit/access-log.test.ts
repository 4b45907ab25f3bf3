import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessLog, AccessLogUnavailableError, type AccessLogRecord } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

const record = (n: number): AccessLogRecord => ({
  requestId: `req-${n}`,
  partyId: 'clarion-housing',
  clientId: '00000000-0000-0000-0000-000000000001',
  roles: ['rp-lettings'],
  purpose: 'housing-allocation',
  action: 'person.search',
  subjectRef: n % 2 === 0 ? `subject-${n}` : null,
  datasets: ['housing-register'],
  fields: ['inTemporaryAccommodation'],
  decision: 'allow',
  reasonCode: 'granted',
});

describe('access log on SQLite', () => {
  let store: Store;
  let log: AccessLog;

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-log-')), 'log.db') });
    await migrateToLatest(store);
    log = new AccessLog(store, createLogger('error'));
  });
  afterEach(async () => {
    await store.close();
  });

  it('gives concurrent appends one strict gap-free sequence', async () => {
    const entries = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(record(i))));
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const more = await log.append(record(500));
    expect(more.seq).toBe(501);
    const stored = await store.db.selectFrom('access_log').select(['seq']).orderBy('seq').execute();
    expect(stored.map((r) => Number(r.seq))).toEqual(Array.from({ length: 501 }, (_, i) => i + 1));
  });

  it('refuses UPDATE and DELETE in the database itself', async () => {
    await log.append(record(1));
    await expect(sql`update access_log set decision = 'deny'`.execute(store.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from access_log`.execute(store.db)).rejects.toThrow(/append-only/);
  });

  it('rejects every caller in a batch when the log cannot be written', async () => {
    await sql`drop table access_log`.execute(store.db);
    const results = await Promise.allSettled([log.append(record(1)), log.append(record(2))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AccessLogUnavailableError);
    }
  });
});
