import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../shared/api/openapi.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The partner API answers the same request the same way on every endpoint (found by a review:
 * a list endpoint refused a query parameter the others pass over).
 */
/** A request whose headers are sent line by line: a header given an array is sent once per value. */
function rawCall(
  url: string,
  method: string,
  headers: Record<string, string | string[]>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('partner API request consistency', () => {
  let t: TestHost;

  /**
   * A senior officer's search for an NI number under housing-allocation, as JSON, `headers` sent
   * over those (line by line, as rawCall sends them).
   */
  const officerSearch = async (headers: Record<string, string | string[]>) =>
    rawCall(
      `${t.url}/api/v1/people/search`,
      'POST',
      {
        authorization: `Bearer ${await t.token('kettering-borough-council', ['senior-officer'])}`,
        'x-purpose': 'housing-allocation',
        'content-type': 'application/json',
        ...headers,
      },
      JSON.stringify({ niNumber: 'JG103759A' }),
    );

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

  it('refuses a credential, purpose or content type sent twice, 400 naming the header and never its value', async () => {
    const officer = await t.token('kettering-borough-council', ['senior-officer']);
    const dpo = await t.token('la-housing', ['dpo']);
    const search = `${t.url}/api/v1/people/search`;
    const body = JSON.stringify({ niNumber: 'JG103759A' });
    const json = 'application/json';
    const cases: [string, string, Record<string, string | string[]>][] = [
      // Node keeps the first Authorization and Content-Type line and joins repeated X-Purpose
      // lines; the Functions host joins every repeated header into one value.
      [
        'Authorization',
        'two lines',
        {
          authorization: [`Bearer ${officer}`, `Bearer ${dpo}`],
          'x-purpose': 'housing-allocation',
          'content-type': json,
        },
      ],
      [
        'Authorization',
        'joined',
        { authorization: `Bearer ${officer}, Bearer ${dpo}`, 'x-purpose': 'housing-allocation', 'content-type': json },
      ],
      [
        'X-Purpose',
        'two lines',
        {
          authorization: `Bearer ${officer}`,
          'x-purpose': ['housing-allocation', 'fraud-prevention'],
          'content-type': json,
        },
      ],
      [
        'X-Purpose',
        'joined',
        {
          authorization: `Bearer ${officer}`,
          'x-purpose': 'housing-allocation, fraud-prevention',
          'content-type': json,
        },
      ],
      [
        'Content-Type',
        'two lines',
        { authorization: `Bearer ${officer}`, 'x-purpose': 'housing-allocation', 'content-type': [json, 'text/plain'] },
      ],
      [
        'Content-Type',
        'joined',
        {
          authorization: `Bearer ${officer}`,
          'x-purpose': 'housing-allocation',
          'content-type': `${json}, text/plain`,
        },
      ],
    ];
    for (const [name, how, headers] of cases) {
      const res = await rawCall(search, 'POST', headers, body);
      expect(res.status, `${name} ${how}: ${res.text}`).toBe(400);
      expect(res.body.type).toBe('urn:lintel:problem:invalid-request');
      expect(res.body.detail).toContain(name);
      for (const value of [officer, dpo, 'fraud-prevention', 'text/plain', 'JG103759A'])
        expect(res.text).not.toContain(value);
    }
    // Sent once, each is taken as before: the lookup runs (and finds nobody on an empty store).
    const once = { authorization: `Bearer ${officer}`, 'x-purpose': 'housing-allocation', 'content-type': json };
    expect((await rawCall(search, 'POST', once, body)).status).toBe(404);
  });

  it('reads a comma inside a quoted Content-Type parameter as part of one media type, and only one outside quotes as a second', async () => {
    const call = (contentType: string | string[]) => officerSearch({ 'content-type': contentType });
    // RFC 9110 §5.6.4: a quoted-string may hold a comma. One unknown parameter is passed over,
    // whatever its value: the lookup runs (and finds nobody on an empty store).
    const unknownParameter = (await call('application/json; foo=b')).status;
    expect(unknownParameter).toBe(404);
    for (const contentType of ['application/json; foo="a,b"', 'application/json; foo="a\\",b"; charset=utf-8']) {
      const res = await call(contentType);
      expect(res.status, `${contentType}: ${res.text}`).toBe(unknownParameter);
    }
    // A comma outside the quotes is a second value, sent joined or on two lines.
    for (const contentType of [
      'application/json; foo="a,b", text/plain',
      ['application/json; foo="a,b"', 'text/plain'],
    ]) {
      const res = await call(contentType);
      expect(res.status, `${String(contentType)}: ${res.text}`).toBe(400);
      expect(res.body.type).toBe('urn:lintel:problem:invalid-request');
      expect(res.body.detail).toContain('Content-Type');
      expect(res.text).not.toContain('text/plain');
    }
  });
  it('refuses a body whose Content-Encoding is sent twice with any coding but identity, as one coding it cannot undo', async () => {
    const call = (contentEncoding: string | string[]) => officerSearch({ 'content-encoding': contentEncoding });
    const gzip = await call('gzip');
    expect(gzip.status).toBe(415);
    for (const contentEncoding of [['identity', 'gzip'], ['gzip', 'identity'], 'identity, gzip', 'gzip, identity']) {
      const res = await call(contentEncoding);
      expect(res.status, `${String(contentEncoding)}: ${res.text}`).toBe(gzip.status);
      expect(res.body).toEqual(gzip.body);
      expect(res.headers['accept-encoding']).toBe('identity');
    }
    // Identity twice leaves the body as sent: read as with none.
    expect((await call(['identity', 'identity'])).status).toBe(404);
  });

  it('answers an X-Request-Id sent twice as one that is not a UUID: a fresh id, echoed and logged alike', async () => {
    const first = '11111111-1111-4111-8111-111111111111';
    const second = '22222222-2222-4222-8222-222222222222';
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const call = (requestId: string | string[]) => officerSearch({ 'x-request-id': requestId });
    // As today for an id that is no UUID.
    const notUuid = await call('case 42');
    expect(notUuid.headers['x-request-id']).toMatch(uuid);
    for (const requestId of [[first, second], `${first}, ${second}`, [first, first]]) {
      const res = await call(requestId);
      expect(res.status, `${String(requestId)}: ${res.text}`).toBe(notUuid.status);
      const echoed = res.headers['x-request-id'] as string;
      expect(echoed, String(requestId)).toMatch(uuid);
      expect([first, second]).not.toContain(echoed);
      const logged = await t.host.services.store.db
        .selectFrom('access_log')
        .select('request_id')
        .where('request_id', 'in', [echoed, first, second])
        .execute();
      expect(logged.map((row) => row.request_id)).toEqual([echoed]);
    }
  });
});
