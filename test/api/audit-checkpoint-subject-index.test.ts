import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastAnchoredCheckpoint } from '../../shared/audit/anchored-checkpoints.js';
import { checkpointNow } from '../../shared/audit/audit-service.js';
import { dropSubjectIndexRows, housingLinkConfirmation, requestsFoundFor } from '../support/link-confirmations.js';
import { loggedWhile } from '../support/logged-lines.js';
import { callApi, ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

const DPO = { party: 'la-housing', roles: ['dpo'] };
const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];

const entry = housingLinkConfirmation;

/**
 * An instance still running the code before migration 0050 (a rolling deployment) appends entries
 * about several people without their rows of the index of subjects. The periodic checkpoint fills
 * the rows of the entries since the last checkpoint, so a subject access request finds them without
 * an operator running verify; it does not read the log before that checkpoint again, which verify
 * still fills behind it.
 */
describe('the checkpoint fills the index of the people the entries since the last one name', () => {
  let t: TestHost;
  const requestsFound = (personId: string) => requestsFoundFor(t.host.services.store, personId);

  beforeAll(async () => {
    t = (await loggedWhile(() => startTestHost({ LINTEL_DEMO_SEED: 'off', LOG_LEVEL: 'warn' }))).result;
    await ownAnchorContainer(t);
    const { accessLog, store } = t.host.services;
    await accessLog.append(entry('older', `${first} ${second}`));
    expect((await checkpointNow(t.host.services)).checkpoint?.treeSize).toBe(1);
    await accessLog.append(entry('newer', `${third} ${second}`));
    await accessLog.append(entry('newest', `${third} ${first} ${second}`));
    // As the previous code left them: the entries without their rows (the table is append-only),
    // the one under the last checkpoint too, as one a checkpoint before this code did not fill.
    await dropSubjectIndexRows(store);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('fills the rows of the entries since the last checkpoint alone, says how many, and the subject access request finds them', async () => {
    expect(await requestsFound(second)).toEqual([]);

    const { result: outcome, lines } = await loggedWhile(() => checkpointNow(t.host.services));
    // The two entries since the checkpoint name five people; the older one's two rows are not
    // written, as its entry is not read again.
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 3 }, subjectIndexFilled: 5 });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'audit.subject-index-filled', rows: 5 }));
    expect(await requestsFound(second)).toEqual(['newer', 'newest']);
    expect(await requestsFound(first)).toEqual(['newest']);

    // Verify, over the whole log, fills what lies before the last checkpoint.
    const verified = await callApi(t, '/v1/audit/verify', DPO);
    expect(verified.body).toMatchObject({ ok: true, subjectIndexFilled: 2 });
    expect(await requestsFound(second)).toEqual(['older', 'newer', 'newest']);
    expect(await requestsFound(first)).toEqual(['older', 'newest']);
  });
});

/**
 * A run fills the index after it has anchored (not before its checks): one whose fill failed then
 * left the entries since the checkpoint before it unfilled, and each later run filled only past its
 * own predecessor, so that range waited for a DPO to run verify (found by a review).
 */
describe('a checkpoint whose fill of the index of subjects failed once it had anchored', () => {
  let t: TestHost;
  const requestsFound = (personId: string) => requestsFoundFor(t.host.services.store, personId);
  // A real failure of the fill's insert, in the log's file beside the index it guards.
  const refuseIndexRows = () =>
    sql`create trigger audit.subject_index_refused before insert on access_log_subject_id
      begin select raise(abort, 'subject index refused'); end`.execute(t.host.services.store.db);
  const allowIndexRows = () => sql`drop trigger audit.subject_index_refused`.execute(t.host.services.store.db);

  beforeAll(async () => {
    t = (await loggedWhile(() => startTestHost({ LINTEL_DEMO_SEED: 'off', LOG_LEVEL: 'warn' }))).result;
    await ownAnchorContainer(t);
    const { accessLog, store } = t.host.services;
    // About one person: found by its subject, with no row of the index.
    await accessLog.append(entry('alone', first));
    expect((await checkpointNow(t.host.services)).checkpoint?.treeSize).toBe(1);
    await accessLog.append(entry('unfilled', `${second} ${third}`));
    await dropSubjectIndexRows(store);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('leaves its range to the next checkpoint, which fills it, and the subject access request finds the entry', async () => {
    const { accessLog, store } = t.host.services;
    await refuseIndexRows();
    await expect(checkpointNow(t.host.services)).rejects.toThrow(/subject index refused/);
    await allowIndexRows();
    expect((await lastAnchoredCheckpoint(store))?.checkpoint.treeSize).toBe(2);
    expect(await requestsFound(second)).toEqual([]);

    await accessLog.append(entry('later', first));
    const { result: outcome, lines } = await loggedWhile(() => checkpointNow(t.host.services));
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 3 }, subjectIndexFilled: 2 });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'audit.subject-index-filled', rows: 2 }));
    expect(await requestsFound(second)).toEqual(['unfilled']);
    expect(await requestsFound(third)).toEqual(['unfilled']);
  });

  it('leaves its range to the next run when no entry has come since, which fills it without signing', async () => {
    const { accessLog, store } = t.host.services;
    const fourth = randomUUID();
    await accessLog.append(entry('unfilled-too', `${fourth} ${second}`));
    await sql`delete from access_log_subject_id where seq = 4`.execute(store.db);
    await refuseIndexRows();
    await expect(checkpointNow(t.host.services)).rejects.toThrow(/subject index refused/);
    await allowIndexRows();
    expect(await requestsFound(fourth)).toEqual([]);

    expect(await checkpointNow(t.host.services)).toMatchObject({
      alarm: false,
      checkpoint: undefined,
      subjectIndexFilled: 2,
    });
    expect(await requestsFound(fourth)).toEqual(['unfilled-too']);
    expect(await requestsFound(second)).toEqual(['unfilled', 'unfilled-too']);
    // Recorded as filled: the run after reads nothing again.
    expect(await checkpointNow(t.host.services)).toEqual({ checkpoint: undefined, alarm: false });
  });
});

/**
 * Before this code's first checkpoint, the index was filled by migration 0050 alone: the entries an
 * instance on older code appended after it, up to the last checkpoint older code anchored, were
 * under the checkpoint the first run extended, and only verify filled them (found by a review).
 */
describe('the first checkpoint to record how far the index of subjects is filled', () => {
  let t: TestHost;
  const requestsFound = (personId: string) => requestsFoundFor(t.host.services.store, personId);

  beforeAll(async () => {
    t = (await loggedWhile(() => startTestHost({ LINTEL_DEMO_SEED: 'off', LOG_LEVEL: 'warn' }))).result;
    await ownAnchorContainer(t);
    const { accessLog, store } = t.host.services;
    await accessLog.append(entry('older', `${first} ${second}`));
    await accessLog.append(entry('old', `${third} ${second}`));
    expect((await checkpointNow(t.host.services)).checkpoint?.treeSize).toBe(2);
    // As a checkpoint older code anchored leaves them: the entries under it without their rows,
    // and nothing recorded of a fill (the table is append-only, so its guard goes first).
    await dropSubjectIndexRows(store);
    await sql`drop trigger access_log_subject_id_filled_no_delete`.execute(store.db);
    await sql`delete from access_log_subject_id_filled`.execute(store.db);
    await accessLog.append(entry('new', third));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('fills the rows of the entries below the checkpoint it extends, once, and the subject access request finds them', async () => {
    expect(await requestsFound(second)).toEqual([]);

    const outcome = await checkpointNow(t.host.services);
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 3 }, subjectIndexFilled: 4 });
    expect(await requestsFound(second)).toEqual(['older', 'old']);
    expect(await requestsFound(third)).toEqual(['old', 'new']);

    await t.host.services.accessLog.append(entry('newer', first));
    expect(await checkpointNow(t.host.services)).toMatchObject({ checkpoint: { treeSize: 4 } });
    expect(await checkpointNow(t.host.services)).not.toHaveProperty('subjectIndexFilled');
  });
});
