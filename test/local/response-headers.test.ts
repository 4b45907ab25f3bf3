import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/test-host.js';
import { rawRequest, type RawResponse } from './raw-http.js';

const HOST_JSON = JSON.parse(readFileSync(join(import.meta.dirname, '../../host.json'), 'utf8')) as {
  extensions: { http: { customHeaders?: Record<string, string> } };
};

/** A value for each path parameter the OpenAPI document names: well formed, naming nothing held. */
const PARAMETER_VALUES: Record<string, string> = {
  personRef: 'A'.repeat(44),
  consentId: '6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11',
  candidateId: '6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11',
  alertId: '6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11',
  breachId: '6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11',
  clientId: 'dev-client-la-housing',
  asset: 'swagger-ui.css',
};

/** The routes that hold nothing of anyone: the health report, the OpenAPI document and its reference page. */
const PUBLIC_PATHS = /^\/api\/(?:health|openapi\.json|docs(?:\/.*)?)$/;

/**
 * What a council's penetration tester checks of every answer, over the real local host: every
 * route the OpenAPI document lists, called with and without a token, a path no function has and
 * a method a route does not take.
 */
describe('the response headers of every route', () => {
  let t: TestHost;
  let paths: [path: string, methods: string[]][];

  beforeAll(async () => {
    t = await startTestHost();
    const doc = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    paths = Object.entries(doc.paths).map(([path, operations]) => [
      path.replace(/\{(\w+)\}/g, (_, name: string) => PARAMETER_VALUES[name]!),
      Object.keys(operations).map((m) => m.toUpperCase()),
    ]);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const call = (method: string, path: string, headers = '') =>
    rawRequest(
      t.url,
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}` +
        (method === 'POST' ? 'Content-Type: application/json\r\nContent-Length: 2\r\n' : '') +
        'Connection: close\r\n\r\n',
      // Each answer closes the connection, which ends the wait: the cap is for a host that never answers.
      { waitMs: 30_000, ...(method === 'POST' ? { body: '{}' } : {}) },
    );

  function expectSafeHeaders(res: RawResponse, label: string, path: string): void {
    expect(res.status, label).toBeDefined();
    const h = res.headers;
    expect(h['x-content-type-options'], label).toBe('nosniff');
    // Six months at least (15,768,000 s), the shortest a header scanner passes.
    expect(h['strict-transport-security'], label).toEqual(expect.stringMatching(/^max-age=\d+/));
    expect(Number(/max-age=(\d+)/.exec(h['strict-transport-security']!)![1]), label).toBeGreaterThanOrEqual(15_768_000);
    if (!PUBLIC_PATHS.test(path) || res.status! >= 400) expect(h['cache-control'], label).toBe('no-store');
    if (res.status! >= 400) expect(h['content-type'], label).toBe('application/problem+json');
    expect(h['x-powered-by'], label).toBeUndefined();
    expect(h.server, label).toBeUndefined();
    expect(h['access-control-allow-origin'], label).toBeUndefined();
    if (res.status === 401) expect(h['www-authenticate'], label).toMatch(/^Bearer/);
    else expect(h['www-authenticate'], label).toBeUndefined();
    if (res.status === 405) expect(h.allow, label).toMatch(/^[A-Z]+(?:, [A-Z]+)*$/);
  }

  it('sends HSTS, nosniff, no-store where anyone is spoken of, and nothing that names the server', async () => {
    const officer = await t.token('kettering-borough-council', ['housing-officer']);
    const dpo = await t.token('kettering-borough-council', ['dpo']);
    const origin = 'Origin: https://elsewhere.example\r\n';
    let checked = 0;
    for (const [path, methods] of paths) {
      const token = path.includes('/audit/') ? dpo : officer;
      for (const method of methods) {
        if (method === 'HEAD') continue;
        const label = `${method} ${path}`;
        expectSafeHeaders(await call(method, path, origin), `${label} without a token`, path);
        const withToken = `Authorization: Bearer ${token}\r\nX-Purpose: housing-allocation\r\n${origin}`;
        expectSafeHeaders(await call(method, path, withToken), `${label} with a token`, path);
        checked++;
      }
      expectSafeHeaders(await call('PATCH', path), `PATCH ${path}`, path);
    }
    expect(checked).toBeGreaterThanOrEqual(25);
    expectSafeHeaders(await call('GET', '/api/v1/nothing-here'), 'a path no function has', '/api/v1/nothing-here');
  });

  it('takes its Strict-Transport-Security from host.json, as the Functions host adds it to every answer', async () => {
    const sent = HOST_JSON.extensions.http.customHeaders?.['Strict-Transport-Security'];
    expect(sent).toMatch(/^max-age=\d+/);
    expect((await call('GET', '/api/health')).headers['strict-transport-security']).toBe(sent);
  });
});
