import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/test-host.js';
import { rawRequest } from './raw-http.js';

/**
 * RFC 9110 §9.3.6: CONNECT asks for a tunnel, which only a proxy gives. lintel is no proxy and
 * no route takes CONNECT, so it is a method the server does not implement for any resource
 * (§15.6.2, 501), not one a resource lacks (405, whose Allow would name a resource's methods: an
 * authority-form target names none). Node hands a CONNECT to a `connect` listener and, without
 * one, closes the connection unanswered.
 */
describe('CONNECT requests', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers CONNECT 501 problem+json, whatever its target, with no access-log entry', async () => {
    const token = await t.token('kettering-borough-council', ['housing-officer']);
    const before = await t.accessLogSize();
    for (const target of ['example.org:443', '/api/v1/people/search', '/api/health']) {
      const res = await rawRequest(
        t.url,
        `CONNECT ${target} HTTP/1.1\r\nHost: example.org:443\r\nAuthorization: Bearer ${token}\r\n` +
          'X-Purpose: housing-allocation\r\nX-Request-Id: 6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11\r\n\r\n',
      );
      expect(res.status, target).toBe(501);
      expect(res.headers['content-type'], target).toBe('application/problem+json');
      expect(res.headers['x-request-id'], target).toBe('6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11');
      expect(res.closedByServer, target).toBe(true);
      expect(JSON.parse(res.body), target).toMatchObject({
        type: 'urn:lintel:problem:method-not-implemented',
        status: 501,
      });
      expect(res.body, target).not.toContain('example.org');
    }
    expect(await t.accessLogSize()).toBe(before);
  });
});
