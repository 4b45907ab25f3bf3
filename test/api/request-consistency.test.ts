import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../shared/api/openapi.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The partner API answers the same request the same way on every endpoint (found by a review:
 * a list endpoint refused a query parameter the others pass over).
 */
describe('partner API request consistency', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('passes over a query parameter it does not define (a cache-buster) on every list, as the document says', async () => {
    // Power Query and many HTTP tools add `_=<time>` to defeat caches.
    const reviewer = { party: 'la-housing', roles: ['reviewer'], purpose: 'homelessness-prevention' };
    const dpo = { party: 'la-housing', roles: ['dpo'] };
    const lists: [string, typeof reviewer | typeof dpo][] = [
      ['/v1/link-candidates?_=1700000000000&limit=5', reviewer],
      ['/v1/audit/alerts?_=1700000000000&limit=5', dpo],
      ['/v1/audit/breaches?_=1700000000000&limit=5', dpo],
    ];
    for (const [path, caller] of lists) {
      const res = await callApi(t, path, caller);
      expect(res.status, `${path}: ${res.text}`).toBe(200);
    }
    const doc = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as OpenApiDocument;
    expect((doc.info as { description: string }).description).toMatch(/query parameter[^.]*not define[^.]*ignored/i);
  });
});
