import { request } from 'node:http';
import { once } from 'node:events';
import { connect } from 'node:net';
import functions from '@azure/functions';
import type { HttpHandler, HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { respond } from '../../functions/http-result.js';
import type { HttpRegistration } from '../../functions/registry.js';
import { startHttpServer, type LocalHttpServer } from '../../local/http-server.js';
import { createLogger } from '../../shared/logging.js';
import { rawRequest } from './raw-http.js';

const { HttpResponse } = functions;

/** What a handler saw of its request, sent back as JSON. */
async function describeRequest(request: HttpRequest) {
  const text = await request.text();
  let secondRead: string;
  try {
    await request.text();
    secondRead = 'allowed';
  } catch (err) {
    secondRead = (err as Error).name;
  }
  return {
    method: request.method,
    url: request.url,
    purpose: request.headers.get('X-Purpose'),
    hasAuthorization: request.headers.has('authorization'),
    missing: request.headers.get('x-not-sent'),
    query: Object.fromEntries(request.query),
    params: request.params,
    text,
    secondRead,
    bodyUsed: request.bodyUsed,
  };
}

function route(
  name: string,
  path: string,
  handler: HttpHandler,
  methods: HttpRegistration['methods'] = ['GET', 'POST'],
): HttpRegistration {
  return { kind: 'http', name, route: path, methods, handler };
}

describe('local HTTP server', () => {
  let server: LocalHttpServer;

  beforeAll(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('error', () => undefined),
      registrations: [
        route('echo', 'echo/{id}', async (request) => ({ jsonBody: await describeRequest(request) })),
        route('text', 'text', async () => ({ body: 'plain words' })),
        route('problem', 'problem', async () => ({
          status: 418,
          headers: { 'Content-Type': 'application/problem+json', 'X-Extra': 'yes' },
          body: '{"status":418}',
        })),
        route('empty', 'empty', async () => ({ status: 204, jsonBody: { dropped: true } })),
        route(
          'runtime',
          'runtime',
          async () =>
            new HttpResponse({ status: 201, jsonBody: { via: 'HttpResponse' }, headers: { 'x-kind': 'runtime' } }),
        ),
        route('headers', 'headers', async () => ({ headers: new Headers({ 'x-from': 'Headers' }), body: 'ok' })),
        route('entries', 'entries', async (request) => ({
          jsonBody: [...request.headers].filter(([name]) => name.startsWith('x-')),
        })),
        route('clone', 'clone', async (request) => ({
          jsonBody: { clone: await request.clone().text(), original: await request.text() },
        })),
        route(
          'boom',
          'boom',
          (request, context) =>
            respond(
              context,
              async () => {
                throw new Error('the use case failed');
              },
              request,
            ),
          ['GET'],
        ),
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('hands a function the method, url, headers, query, route parameters and body it was sent', async () => {
    const res = await fetch(`${server.url}/api/echo/a%20b?x=1&y=2&x=3`, {
      method: 'POST',
      headers: { 'x-purpose': 'housing-allocation', authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '\uFEFF{"name":"Zoë"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      method: 'POST',
      url: `${server.url}/api/echo/a%20b?x=1&y=2&x=3`,
      purpose: 'housing-allocation',
      hasAuthorization: true,
      missing: null,
      query: { x: '3', y: '2' },
      params: { id: 'a b' },
      text: '{"name":"Zoë"}',
      secondRead: 'TypeError',
      bodyUsed: true,
    });
  });

  it('routes a request target as the URL parser normalises it, plain or not', async () => {
    // fetch normalises paths before sending; a raw request sends them as written.
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${server.url}${path}`, { method: 'GET' }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const seen = async (path: string) => {
      const { status, body } = await raw(path);
      return status === 200 ? (JSON.parse(body) as { url: string; params: unknown; query: unknown }) : status;
    };
    expect(await seen('/api/echo/ref-1.v2?x=1')).toMatchObject({
      params: { id: 'ref-1.v2' },
      query: { x: '1' },
      url: `${server.url}/api/echo/ref-1.v2?x=1`,
    });
    expect(await seen('/api/other/../echo/7?q=../x')).toMatchObject({
      params: { id: '7' },
      query: { q: '../x' },
      url: `${server.url}/api/echo/7?q=../x`,
    });
    expect(await seen('/api/./echo/%41')).toMatchObject({ params: { id: 'A' } });
    expect(await seen('/api/echo/a/b')).toBe(404);
  });

  it('routes a path whose fixed segments are percent-encoded as Kestrel decodes them, %2F still no separator', async () => {
    // Kestrel decodes the escapes of unreserved characters before routing: POST .../searc%68
    // runs the search in Azure, where the local host answered it 404.
    const send = (path: string) =>
      rawRequest(server.url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    const text = await send('/api/tex%74');
    expect(text.status).toBe(200);
    expect(text.body).toBe('plain words');
    expect((await send('/%61pi/%45CHO/1')).status).toBe(200);
    // A parameter is decoded once, as before: the %25 of `%2541` is a percent, not the start of an escape.
    const echoed = await send('/api/%65cho/%7Eab%2541');
    expect(echoed.status).toBe(200);
    expect(JSON.parse(echoed.body)).toMatchObject({ params: { id: '~ab%41' } });
    expect((await send('/api/te%2Fxt')).status).toBe(404);
    expect((await send('/api/echo%2F1')).status).toBe(404);
  });

  it('hands a parameter its %2F as sent, as Kestrel leaves it in the path and ASP.NET routing hands it on', async () => {
    // Kestrel decodes every escape of the path but %2F, so a segment's slash stays one; routing
    // then takes the segment as it stands, without decoding it again.
    const send = (path: string) =>
      rawRequest(server.url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    for (const [sent, seen] of [
      ['abc%2Fdef', 'abc%2Fdef'],
      ['abc%2fdef', 'abc%2fdef'],
      ['%2F%41', '%2FA'],
      ['%252F', '%2F'],
    ]) {
      const res = await send(`/api/echo/${sent}`);
      expect(res.status, sent).toBe(200);
      expect(JSON.parse(res.body), sent).toMatchObject({ params: { id: seen } });
    }
  });
  it('lets a request without a body be read as empty, more than once', async () => {
    const body = (await (await fetch(`${server.url}/api/echo/1`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ method: 'GET', text: '', secondRead: 'allowed', bodyUsed: false });
  });

  it('lets every header be listed, as Headers does', async () => {
    const res = await fetch(`${server.url}/api/entries`, { headers: { 'X-One': '1', 'x-two': '2' } });
    expect(await res.json()).toEqual([
      ['x-forwarded-for', expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
      ['x-one', '1'],
      ['x-two', '2'],
    ]);
  });

  it("appends the caller's address and port to X-Forwarded-For, as the Functions front end does", async () => {
    const res = await fetch(`${server.url}/api/entries`, { headers: { 'X-Forwarded-For': '203.0.113.9' } });
    expect(await res.json()).toEqual([
      ['x-forwarded-for', expect.stringMatching(/^203\.0\.113\.9, 127\.0\.0\.1:\d+$/)],
    ]);
  });

  it('answers a request on a connection its client left idle for longer than 5 s', async () => {
    // A client that pools connections (a reverse proxy, a load test) reuses one it has kept idle
    // for seconds; a host closing it first meets that reuse with a reset. Node closes an idle
    // connection a second after its keep-alive timeout, so a 5 s timeout closed this at 6 s.
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    const closed = once(socket, 'close').then(() => 'closed by the host' as const);
    const answerFor = async (nth: number) => {
      const complete = () => received.split('plain words').length > nth;
      while (!complete()) {
        const ended = await Promise.race([once(socket, 'data').then(() => undefined), closed]);
        if (ended && !complete()) return ended;
      }
      return 'answered';
    };
    const get = 'GET /api/text HTTP/1.1\r\nHost: localhost\r\n\r\n';
    socket.write(get);
    expect(await answerFor(1)).toBe('answered');

    // Idle for 6.5 s, or until the host closes the connection, whichever comes first.
    const idle = new Promise<'idle'>((resolve) => setTimeout(() => resolve('idle'), 6_500));
    expect(await Promise.race([idle, closed])).toBe('idle');
    socket.write(get);
    expect(await answerFor(2)).toBe('answered');
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*HTTP\/1\.1 200 OK\r\n/);
    socket.destroy();
  });

  it('gives a clone its own copy of the body', async () => {
    const res = await fetch(`${server.url}/api/clone`, { method: 'POST', body: 'twice' });
    expect(await res.json()).toEqual({ clone: 'twice', original: 'twice' });
  });

  it('writes responses as the Functions runtime would', async () => {
    const text = await fetch(`${server.url}/api/text`);
    expect([text.status, text.headers.get('content-type'), await text.text()]).toEqual([
      200,
      'text/plain;charset=UTF-8',
      'plain words',
    ]);

    const problem = await fetch(`${server.url}/api/problem`);
    expect([
      problem.status,
      problem.headers.get('content-type'),
      problem.headers.get('x-extra'),
      await problem.text(),
    ]).toEqual([418, 'application/problem+json', 'yes', '{"status":418}']);

    const empty = await fetch(`${server.url}/api/empty`);
    expect([empty.status, await empty.text()]).toEqual([204, '']);

    const runtime = await fetch(`${server.url}/api/runtime`);
    expect([
      runtime.status,
      runtime.headers.get('x-kind'),
      runtime.headers.get('content-type'),
      await runtime.json(),
    ]).toEqual([201, 'runtime', 'application/json', { via: 'HttpResponse' }]);

    const headers = await fetch(`${server.url}/api/headers`);
    expect([headers.headers.get('x-from'), await headers.text()]).toEqual(['Headers', 'ok']);
  });

  it("gives a function's unhandled error (a 500) the caller's X-Request-Id, or a fresh one", async () => {
    const sent = '0F8FAD5B-D9CB-469F-A165-70867728950E';
    const res = await fetch(`${server.url}/api/boom`, { headers: { 'x-request-id': sent } });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ type: 'urn:lintel:problem:internal-error' });
    expect(res.headers.get('x-request-id')).toBe(sent.toLowerCase());

    const fresh = await fetch(`${server.url}/api/boom`, { headers: { 'x-request-id': 'case 123/NI AB123456C' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it.each([
    ['a control character in a header', 'X-Request-Id: NI AB123456C\x01\r\n', 400, 'invalid-request'],
    [
      'a header block over 16 KiB',
      `X-Request-Id: AB123456C${'a'.repeat(20_000)}\r\n`,
      431,
      'request-header-fields-too-large',
    ],
    ['a malformed Content-Length', 'Content-Length: 12 AB123456C\r\n', 400, 'invalid-request'],
  ])(
    "answers a request Node's parser refuses (%s) as problem+json with an X-Request-Id, echoing nothing",
    async (_what, header, status, code) => {
      const res = await rawRequest(server.url, `POST /api/echo/1 HTTP/1.1\r\nHost: x\r\n${header}\r\n{}`);
      expect(res).toMatchObject({ status, closedByServer: true });
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(JSON.parse(res.body)).toMatchObject({ type: `urn:lintel:problem:${code}`, status });
      expect(res.body).not.toContain('AB123456C');
    },
  );

  it('answers a URL over 16 KiB 414 uri-too-long, not as headers too large, echoing nothing', async () => {
    const res = await rawRequest(
      server.url,
      `GET /api/echo/AB123456C${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(res).toMatchObject({ status: 414, closedByServer: true });
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:lintel:problem:uri-too-long', status: 414 });
    expect(res.body).not.toContain('AB123456C');
    // A URL still arriving when the limit is reached (its line not ended yet) is the URL too.
    const query = await rawRequest(server.url, `GET /api/echo/1?q=${'a'.repeat(20_000)}`);
    expect(query.status).toBe(414);
    // A long URL in the second of two requests sent together (pipelined) is the URL too.
    const pipelined = await rawRequest(
      server.url,
      `GET /api/echo/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/echo/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(pipelined.body).toContain('"status":414');
    // A short URL with headers over the limit stays 431.
    const headers = await rawRequest(
      server.url,
      `GET /api/echo/${'a'.repeat(8_000)} HTTP/1.1\r\nHost: x\r\nX-Padding: ${'b'.repeat(9_000)}\r\n\r\n`,
    );
    expect(headers.status).toBe(431);
  });

  it('answers a request line of an HTTP version other than 1.0 or 1.1 505 http-version-not-supported, as Kestrel does', async () => {
    // HTTP/2.0 and 0.9 Node's parser reads and hands on; 1.2 and 3.0 it refuses itself.
    for (const version of ['HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/3.0']) {
      const res = await rawRequest(server.url, `POST /api/text ${version}\r\nHost: localhost\r\n\r\n`);
      expect(res.status, version).toBe(505);
      expect(res.headers['content-type'], version).toBe('application/problem+json');
      expect(JSON.parse(res.body), version).toMatchObject({
        type: 'urn:lintel:problem:http-version-not-supported',
        status: 505,
      });
      expect(res.closedByServer, version).toBe(true);
    }
    const one = await rawRequest(server.url, 'POST /api/text HTTP/1.0\r\n\r\n');
    expect(one.status).toBe(200);
  });

  it('answers a method it does not know 501 method-not-implemented, and bytes that are no method 400', async () => {
    // RFC 9110 §9.1: a method the server does not recognise SHOULD be 501. Methods are
    // case-sensitive, so `get` is one it does not know.
    for (const method of ['BREW', 'get']) {
      const res = await rawRequest(server.url, `${method} /api/echo/1 HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(res, method).toMatchObject({ status: 501, closedByServer: true });
      expect(res.headers['content-type'], method).toBe('application/problem+json');
      expect(JSON.parse(res.body), method).toMatchObject({
        type: 'urn:lintel:problem:method-not-implemented',
        status: 501,
      });
    }
    // A TLS handshake sent to the plain-HTTP port names no method at all.
    const tls = await rawRequest(server.url, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 /\r\n\r\n');
    expect(tls.status).toBe(400);
  });

  it('builds the request URL on its own address, never on the Host header', async () => {
    const res = await rawRequest(
      server.url,
      'GET /api/echo/%7Eabc?x=1 HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ url: `${server.url}/api/echo/%7Eabc?x=1`, params: { id: '~abc' } });

    const elsewhere = await rawRequest(
      server.url,
      'GET /api/echo/1 HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n',
    );
    expect(JSON.parse(elsewhere.body)).toMatchObject({ url: `${server.url}/api/echo/1` });
  });

  it('answers a Host that is no host name, address or port 400 invalid-request (RFC 9112 §3.2), any valid one served', async () => {
    const send = (host: string) =>
      rawRequest(server.url, `GET /api/echo/1 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    for (const host of ['a b', 'a/b', 'user@example.org', 'example.org:80:80', 'example.org:x', '[::1', 'ex%zzample']) {
      const res = await send(host);
      expect(res.status, host).toBe(400);
      expect(JSON.parse(res.body), host).toMatchObject({ type: 'urn:lintel:problem:invalid-request', status: 400 });
      // The value sent is caller input: it is not repeated.
      expect(res.body, host).not.toContain(host);
    }
    for (const host of ['', 'example.org', 'example.org:8080', '127.0.0.1:7071', '[::1]:7071', 'ex%41mple', 'a_b~c'])
      expect((await send(host)).status, host).toBe(200);
  });

  it('answers the requests Node would refuse with a bare status line (no Host, an unknown Expect) as problem+json', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const noHost = await rawRequest(server.url, 'GET /api/echo/1 HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(noHost.status).toBe(400);
    expect(noHost.headers['content-type']).toBe('application/problem+json');
    expect(noHost.headers['x-request-id']).toMatch(uuid);
    expect(JSON.parse(noHost.body)).toMatchObject({ type: 'urn:lintel:problem:invalid-request', status: 400 });
    // RFC 9112 §3.2: more than one Host line is refused too (which one names the server?).
    for (const hosts of ['Host: x\r\nHost: y\r\n', 'Host: x\r\nhost: x\r\n']) {
      const twice = await rawRequest(server.url, `GET /api/echo/1 HTTP/1.1\r\n${hosts}Connection: close\r\n\r\n`);
      expect(twice.status, hosts).toBe(400);
      expect(twice.headers['content-type'], hosts).toBe('application/problem+json');
      expect(JSON.parse(twice.body), hosts).toMatchObject({ type: 'urn:lintel:problem:invalid-request', status: 400 });
    }
    const twiceOld = await rawRequest(server.url, 'GET /api/echo/1 HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n');
    expect(twiceOld.status).toBe(400);
    // HTTP/1.0 has no Host to require.
    expect((await rawRequest(server.url, 'GET /api/echo/1 HTTP/1.0\r\n\r\n')).status).toBe(200);

    const expectation = await rawRequest(
      server.url,
      'POST /api/echo/1 HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n' +
        'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    expect(expectation.status).toBe(417);
    expect(expectation.headers['content-type']).toBe('application/problem+json');
    expect(expectation.headers['x-request-id']).toMatch(uuid);
    expect(expectation.headers.connection).toBe('close');
    expect(JSON.parse(expectation.body)).toMatchObject({ type: 'urn:lintel:problem:expectation-failed', status: 417 });
  });
});

describe('local HTTP server logging', () => {
  let server: LocalHttpServer;
  const lines: { level: string; event: string }[] = [];
  const logged = (event: string) => lines.filter((line) => line.event === event);

  beforeAll(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('debug', (line) => lines.push(JSON.parse(line) as { level: string; event: string })),
      registrations: [
        route('echo', 'echo/{id}', async (request) => ({ jsonBody: await describeRequest(request) })),
        route('broken', 'broken', async () => {
          throw new Error('not caught by the function');
        }),
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('logs a client that hangs up mid-body as gone, not as a server failure', async () => {
    lines.length = 0;
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => {
        socket.write(
          'POST /api/echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
        );
        // Long enough for the host to be reading the body when the connection is reset.
        setTimeout(() => socket.resetAndDestroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await expect.poll(() => lines.some((line) => line.event.startsWith('localhost.http.'))).toBe(true);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(logged('localhost.http.client-gone')).toMatchObject([{ level: 'info' }]);
  });

  it('answers a malformed chunked body 400 problem+json and logs it as a bad request, not as the client gone', async () => {
    lines.length = 0;
    // The second chunk's size line is no hex number ("AB123456C" alone would be one, a huge size).
    const res = await rawRequest(
      server.url,
      'POST /api/echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '2\r\n{"\r\nNI AB123456C\r\n"a":1}\r\n0\r\n\r\n',
    );
    expect(res).toMatchObject({ status: 400, closedByServer: true });
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:lintel:problem:invalid-request', status: 400 });
    expect(res.body).not.toContain('AB123456C');
    await expect
      .poll(() => logged('localhost.http.bad-request'))
      .toMatchObject([{ level: 'info', error: 'HPE_INVALID_CHUNK_SIZE' }]);
    expect(logged('localhost.http.client-gone')).toEqual([]);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('AB123456C');
  });

  it('logs each request the parser refuses before its body with its status, type and request id, never its URL or headers', async () => {
    lines.length = 0;
    const sentId = '6f1c1d52-8a53-4c4e-9d7e-0b3e1f2a9c11';
    const answers = [
      await rawRequest(server.url, `GET /api/echo/AB123456C${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
      await rawRequest(
        server.url,
        `GET /api/echo/1 HTTP/1.1\r\nHost: x\r\nX-Note: AB123456C${'b'.repeat(20_000)}\r\n\r\n`,
      ),
      await rawRequest(server.url, 'BREW /api/echo/AB123456C HTTP/1.1\r\nHost: x\r\n\r\n'),
      await rawRequest(server.url, 'GET /api/echo/AB123456C HTTP/1.2\r\nHost: x\r\n\r\n'),
      await rawRequest(server.url, `GET /api/echo/AB123456C HTTP/2.0\r\nHost: x\r\nX-Request-Id: ${sentId}\r\n\r\n`),
      await rawRequest(
        server.url,
        `CONNECT AB123456C.example:443 HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${sentId}\r\n\r\n`,
      ),
    ];
    expect(answers.map((a) => a.status)).toEqual([414, 431, 501, 505, 505, 501]);
    const refused = () =>
      logged('localhost.http.refused') as { status?: number; problem?: string; requestId?: string }[];
    await expect.poll(() => refused().length).toBe(answers.length);
    expect(refused().map(({ status, problem, requestId }) => ({ status, problem, requestId }))).toEqual(
      answers.map((a) => ({
        status: a.status,
        problem: (JSON.parse(a.body) as { type: string }).type.replace('urn:lintel:problem:', ''),
        requestId: a.headers['x-request-id'],
      })),
    );
    expect(refused()[4]?.requestId).toBe(sentId);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('AB123456C');
  });

  it('answers OPTIONS * as a path no function has (404), and any other method on * 405 with Allow: OPTIONS, logged as refused', async () => {
    lines.length = 0;
    const sentId = '0b7e4c1a-3f52-4d8e-a6c9-2e1d5f8b7a40';
    const options = await rawRequest(server.url, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(options.status).toBe(404);
    expect(options.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(options.body)).toMatchObject({ type: 'urn:lintel:problem:not-found', status: 404 });
    const others = [
      await rawRequest(server.url, 'GET * HTTP/1.1\r\nHost: x\r\n\r\n'),
      await rawRequest(
        server.url,
        `POST * HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${sentId}\r\nContent-Length: 0\r\n\r\n`,
      ),
      await rawRequest(server.url, 'HEAD * HTTP/1.0\r\n\r\n'),
    ];
    for (const res of others) {
      expect(res).toMatchObject({ status: 405, closedByServer: true });
      expect(res.headers.allow).toBe('OPTIONS');
      expect(res.headers['content-type']).toBe('application/problem+json');
    }
    expect(JSON.parse(others[0]!.body)).toMatchObject({ type: 'urn:lintel:problem:method-not-allowed', status: 405 });
    const refused = () =>
      logged('localhost.http.refused') as { status?: number; problem?: string; requestId?: string }[];
    await expect.poll(() => refused().length).toBe(others.length);
    expect(refused().map(({ status, problem, requestId }) => ({ status, problem, requestId }))).toEqual(
      others.map((a) => ({ status: 405, problem: 'method-not-allowed', requestId: a.headers['x-request-id'] })),
    );
    expect(refused()[1]?.requestId).toBe(sentId);
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('logs a request refused 417 for its Expect once, as refused, never its URL or the Expect sent', async () => {
    lines.length = 0;
    const sentId = '9d2a6e0f-1c47-4b3a-8e55-7f0c2b9d4e18';
    const answers = [
      await rawRequest(
        server.url,
        'POST /api/echo/AB123456C HTTP/1.1\r\nHost: x\r\nExpect: AB123456C\r\n' +
          'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      ),
      await rawRequest(
        server.url,
        `POST /api/echo/1 HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nX-Request-Id: ${sentId}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      ),
    ];
    expect(answers.map((a) => a.status)).toEqual([417, 417]);
    const refused = () =>
      logged('localhost.http.refused') as { status?: number; problem?: string; requestId?: string }[];
    await expect.poll(() => refused().length).toBe(answers.length);
    expect(refused().map(({ status, problem, requestId }) => ({ status, problem, requestId }))).toEqual(
      answers.map((a) => ({ status: 417, problem: 'expectation-failed', requestId: a.headers['x-request-id'] })),
    );
    expect(refused()[1]?.requestId).toBe(sentId);
    // Long enough for a second line (the connection cut after the answer) to have been written.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(lines.filter((line) => line.event.startsWith('localhost.http.')).map((line) => line.event)).toEqual([
      'localhost.http.refused',
      'localhost.http.refused',
    ]);
    expect(JSON.stringify(lines)).not.toContain('AB123456C');
  });

  it('logs a body not sent in time once, as refused 408, not again as the client gone', async () => {
    const seen: { level: string; event: string; status?: number }[] = [];
    // A server that gives up on a request after a fifth of a second, not 300.
    const impatient = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('debug', (line) => seen.push(JSON.parse(line) as { level: string; event: string })),
      registrations: [route('echo', 'echo/{id}', async (request) => ({ jsonBody: await describeRequest(request) }))],
      requestTimeoutMs: 200,
    });
    try {
      const res = await rawRequest(
        impatient.url,
        'POST /api/echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{',
        { waitMs: 5000 },
      );
      expect(res.status).toBe(408);
      await expect
        .poll(() => seen.filter((line) => line.event === 'localhost.http.refused'))
        .toMatchObject([{ level: 'info', status: 408 }]);
      // Long enough for the handler reading the body to learn the connection is gone.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen.filter((line) => line.event.startsWith('localhost.http.')).map((line) => line.event)).toEqual([
        'localhost.http.refused',
      ]);
    } finally {
      await impatient.close();
    }
  });

  it('still logs a real failure at error level, and answers it 500', async () => {
    lines.length = 0;
    const res = await fetch(`${server.url}/api/broken`);
    expect(res.status).toBe(500);
    expect(logged('localhost.http.failed')).toMatchObject([{ level: 'error', error: 'Error' }]);
  });
});
