import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
