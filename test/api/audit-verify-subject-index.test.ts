import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSubjectIndexRows, housingLinkConfirmation, requestsFoundFor } from '../support/link-confirmations.js';
import { loggedWhile } from '../support/logged-lines.js';
import { callApi, ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

const DPO = { party: 'la-housing', roles: ['dpo'] };
const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];

const entry = housingLinkConfirmation;

/**
 * An instance still running the code before migration 0050 (a rolling deployment) appends entries
 * about several people without their rows of the index of subjects: a subject access request for a
 * person named after another then misses them. Verification fills the rows and says how many.
 */
describe('verify fills the index of the people an entry about several names', () => {
  let t: TestHost;
  const requestsFound = (personId: string) => requestsFoundFor(t.host.services.store, personId);

  beforeAll(async () => {
    t = (await loggedWhile(() => startTestHost({ LINTEL_DEMO_SEED: 'off', LOG_LEVEL: 'warn' }))).result;
    await ownAnchorContainer(t);
    const { accessLog, store } = t.host.services;
    await accessLog.append(entry('two', `${first} ${second}`));
    await accessLog.append(entry('three', `${third} ${first} ${second}`));
    // As the previous code left them: the entries without their rows (the table is append-only).
    await dropSubjectIndexRows(store);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('reports the rows it filled, not as tampering, and the subject access request then finds the entries', async () => {
    expect(await requestsFound(second)).toEqual([]);

    const { result: verified, lines } = await loggedWhile(() => callApi(t, '/v1/audit/verify', DPO));
    expect(verified.status, verified.text).toBe(200);
    expect(verified.body).toMatchObject({ ok: true, problems: [], subjectIndexFilled: 5 });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'audit.subject-index-filled', rows: 5 }));

    expect(await requestsFound(second)).toEqual(['two', 'three']);
    expect(await requestsFound(first)).toEqual(['two', 'three']);
    expect(await requestsFound(third)).toEqual(['three']);

    // Filled once: a second verify writes nothing.
    const again = await callApi(t, '/v1/audit/verify', DPO);
    expect(again.body).toMatchObject({ ok: true, subjectIndexFilled: 0 });
  });
});
