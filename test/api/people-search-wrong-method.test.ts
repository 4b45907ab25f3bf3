import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A partner developer's plausible mistake: GET (or another method) on the search, which is
 * POST. It names no person, so it is the router's 405, not a view of a personRef "search" that
 * the access log would record as a refused lookup and the watch rules count against the partner.
 */
describe('a wrong method on the people search', () => {
  let t: TestHost;
  const party = 'kettering-borough-council';
  const caller = { party, roles: ['housing-officer'], purpose: 'housing-allocation' };

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers GET /people/search 405 with Allow: POST, and logs no lookup', async () => {
    const before = await t.accessLogSize();
    for (const path of ['/v1/people/search', '/v1/people/Search', '/v1/people/search/']) {
      const res = await callApi(t, path, { ...caller, method: 'GET' });
      expect(res.status, path).toBe(405);
      expect(res.type, path).toBe('application/problem+json');
      expect(res.body, path).toMatchObject({ type: 'urn:lintel:problem:method-not-allowed', status: 405 });
      expect(res.headers.get('allow'), path).toBe('POST');
    }
    expect(await t.accessLogSize()).toBe(before);
    expect(await reasonCodesOf(t, party, 'person.view')).toEqual([]);
  });

  it('lists only POST as allowed for any other method on /people/search', async () => {
    for (const method of ['PATCH', 'PUT', 'DELETE']) {
      const res = await callApi(t, '/v1/people/search', { ...caller, method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow'), method).toBe('POST');
    }
  });

  it('answers GET /people/search%0A 404 not-found as the Functions host routes it, and logs no lookup', async () => {
    // .NET's `$` also matches before a final newline, so under Azure the constraint refuses the
    // personRef "search\n" too and the router answers 404; it was a logged refused lookup here.
    const before = await t.accessLogSize();
    for (const path of ['/v1/people/search%0A', '/v1/people/SEARCH%0a']) {
      const res = await callApi(t, path, { ...caller, method: 'GET' });
      expect(res.status, path).toBe(404);
      expect(res.body, path).toMatchObject({ type: 'urn:lintel:problem:not-found', status: 404 });
    }
    expect(await t.accessLogSize()).toBe(before);
    expect(await reasonCodesOf(t, party, 'person.view')).toEqual([]);
    // Only a final newline: one inside, or two, leave a value that is not "search".
    const inside = await callApi(t, '/v1/people/search%0A%0A', { ...caller, method: 'GET' });
    expect(inside.body).toMatchObject({ type: 'urn:lintel:problem:no-match' });
  });

  it('still takes any other last segment as a personRef to look up', async () => {
    const before = await reasonCodesOf(t, party, 'person.view');
    const res = await callApi(t, '/v1/people/searching', { ...caller, method: 'GET' });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:no-match' });
    expect(await reasonCodesOf(t, party, 'person.view')).toEqual([...before, 'person-ref-unknown']);
  });
});
