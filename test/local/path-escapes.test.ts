import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/test-host.js';
import { rawRequest } from './raw-http.js';

/**
 * Percent escapes in a route parameter as the Functions host hands them on. Kestrel decodes the
 * path once before routing (its UrlDecoder), leaving as written an escape that is no hex pair
 * (`%ZZ`, a `%4` at the end) and a byte sequence that is not UTF-8, and ASP.NET routing gives a
 * parameter the segment of that path as it stands: the function sees the value, and answers it.
 */
describe('percent escapes in route parameters', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  // The host closes each connection once it has answered, so a long wait costs nothing but lets
  // a loaded machine answer the first lookup (which fetches the issuer's keys).
  const get = (path: string, headers: string) =>
    rawRequest(t.url, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`, {
      waitMs: 15_000,
    });
  const typeOf = (body: string) => (JSON.parse(body) as { type?: string }).type;

  it('hands a parameter with an invalid escape to its function, which answers it, as under the Functions host', async () => {
    const token = await t.token('kettering-borough-council', ['housing-officer']);
    const officer = `Authorization: Bearer ${token}\r\nX-Purpose: housing-allocation\r\n`;
    // `abc%2Fdef` too: the function gets it with its %2F, and answers it the same.
    for (const ref of ['abc%ZZdef', 'abc%4', 'abc%C3%28', 'abc%2Fdef']) {
      const before = await t.accessLogSize();
      const res = await get(`/api/v1/people/${ref}`, officer);
      // The people view's own answer to a reference it does not know, logged as every lookup is,
      // not the router's not-found for a path no function serves.
      expect(res.status, ref).toBe(404);
      expect(typeOf(res.body), ref).toBe('urn:lintel:problem:no-match');
      expect(await t.accessLogSize(), ref).toBe(before + 1);
    }
    const dpo = `Authorization: Bearer ${await t.token('kettering-borough-council', ['dpo'])}\r\n`;
    const activity = await get(
      '/api/v1/audit/clients/dev%ZZclient/activity?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
      dpo,
    );
    expect(activity.status).toBe(400);
    expect(typeOf(activity.body)).toBe('urn:lintel:problem:invalid-request');
  });

  it('refuses a path holding the escape of a NUL 400 before any function, as Kestrel refuses its target', async () => {
    const token = await t.token('kettering-borough-council', ['housing-officer']);
    const officer = `Authorization: Bearer ${token}\r\nX-Purpose: housing-allocation\r\n`;
    const before = await t.accessLogSize();
    for (const path of ['/api/v1/people/abc%00def', '/api/health%00', '/api/v1/people/%C3%00', '/api/v1/people/%%00']) {
      const res = await get(path, officer);
      expect(res.status, path).toBe(400);
      expect(typeOf(res.body), path).toBe('urn:lintel:problem:invalid-request');
      expect(res.headers['x-request-id'], path).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(await t.accessLogSize()).toBe(before);
    // Decoded once, `%2500` is a percent and two zeros, and `%%30%30` a percent and two digits.
    for (const ref of ['abc%2500', '%%30%30']) {
      const res = await get(`/api/v1/people/${ref}`, officer);
      expect(res.status, ref).toBe(404);
      expect(typeOf(res.body), ref).toBe('urn:lintel:problem:no-match');
    }
    // The query is not the path: Kestrel does not decode it.
    expect((await get('/api/health?x=%00', '')).status).toBe(200);
  });
});
