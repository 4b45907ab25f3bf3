import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/test-host.js';
import { rawRequest } from './raw-http.js';

/**
 * RFC 9110 §9.3.2: HEAD is GET without the body, and a server must support it for what it
 * serves by GET. Monitors and link checkers send it to the endpoints that hold no personal data.
 * A HEAD on a lookup is refused: it would leave an access-log entry for data never sent.
 */
describe('HEAD requests', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const raw = (method: string, path: string, headers = '') =>
    rawRequest(t.url, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);

  it('answers HEAD on health, the OpenAPI document and the docs with the headers of GET and no body', async () => {
    for (const path of ['/api/health', '/api/openapi.json', '/api/docs', '/api/docs/swagger-ui.css']) {
      const get = await raw('GET', path);
      const head = await raw('HEAD', path, 'X-Request-Id: 6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11\r\n');
      expect(get.status, path).toBe(200);
      expect(head.status, path).toBe(200);
      expect(head.body, path).toBe('');
      expect(head.headers['content-type'], path).toBe(get.headers['content-type']);
      expect(head.headers['content-length'], path).toBe(String(Buffer.byteLength(get.body)));
      expect(head.headers['x-request-id'], path).toBe('6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11');
    }
  });

  it('still refuses HEAD on the routes that look people up, with no access-log entry', async () => {
    const token = await t.token('kettering-borough-council', ['housing-officer']);
    const auth = `Authorization: Bearer ${token}\r\nX-Purpose: housing-allocation\r\n`;
    const before = await t.accessLogSize();
    for (const [path, allow] of [
      ['/api/v1/people/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'GET'],
      ['/api/v1/people/search', 'POST'],
      ['/api/v1/audit/people/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/accesses', 'GET'],
    ] as const) {
      const head = await raw('HEAD', path, auth);
      expect(head.status, path).toBe(405);
      expect(head.headers.allow, path).toBe(allow);
      expect(head.headers['content-type'], path).toBe('application/problem+json');
      expect(head.body, path).toBe('');
    }
    expect(await t.accessLogSize()).toBe(before);
  });
});
