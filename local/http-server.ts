import { randomUUID } from 'node:crypto';
import {
  createServer,
  STATUS_CODES,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import functions from '@azure/functions';
import type { HttpResponseInit } from '@azure/functions';
import { MAX_JSON_BODY_BYTES } from '../shared/api/json-body-limit.js';
import { requestIdFrom } from '../shared/api/request-pipeline.js';
import { problem, type HttpResult, type Problem } from '../shared/http/problem.js';
import { PROBLEM_TYPE_PREFIX } from '../shared/api/problem-catalogue.js';
import { errorKind, type Logger } from '../shared/logging.js';
import type { HttpRegistration } from '../functions/registry.js';
import { functionLogHandler } from './function-log.js';
import { LocalHttpRequest } from './local-http-request.js';
import { RouteTable } from './route-table.js';

const { HttpResponse, InvocationContext } = functions;

/**
 * Every function the host serves is an API operation, and no API operation takes a body larger
 * than a JSON body may be (json-body.ts): the host never holds more of a body than that, so a
 * client cannot make it hold megabytes in memory. A larger body is not read; the function is
 * told its size and refuses it, after authentication and with its access-log entry, as under the
 * Functions host (whose own limit, 100 MB, is for hosts serving uploads; lintel takes files by
 * blob upload).
 */
const MAX_BODY_BYTES = MAX_JSON_BODY_BYTES;

/**
 * How long an idle connection is kept open for its client's next request. Node's 5 s closed it
 * sooner than the clients that pool connections give up on one (reverse proxies and load
 * balancers keep one idle for 60 s or more), so a client reusing it as the host closed it met a
 * reset. The headers timeout is set above it, as is advised wherever a keep-alive timeout is
 * raised past Node's 60 s headers timeout, and within the 300 s request timeout, which Node
 * requires be no shorter.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** How long a refused body may keep arriving (and be discarded) before the connection is cut. */
const REFUSED_BODY_GRACE_MS = 500;

type HostRoutes = (method: string, pathname: string) => HttpResult | undefined;

export interface LocalHttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Serve the registered HTTP functions as the Functions host would: same routes, same handlers. */
export async function startHttpServer(options: {
  registrations: readonly HttpRegistration[];
  host: string;
  port: number;
  logger: Logger;
  /** Routes the local host serves itself, outside the functions (the development token issuer). */
  hostRoutes?: HostRoutes;
  /**
   * Headers every answer carries unless it sets them itself, as host.json's `customHeaders` under
   * the Functions host (host-json.ts). Its `Strict-Transport-Security` goes out over plain HTTP
   * here too, as Azure sends it: a browser disregards it on an insecure connection (RFC 6797 §8.1).
   */
  customHeaders?: Record<string, string>;
  /**
   * How long a request may take to arrive, headers and body, before it is answered 408; Node's
   * 300 s when not given. Checked a few times within it, where Node checks every 30 s, so a test
   * can see the answer without waiting for that.
   */
  requestTimeoutMs?: number;
}): Promise<LocalHttpServer> {
  const routes = new RouteTable(options.registrations);
  // Request URLs are built on the host's own address, never on the Host header (caller input).
  let origin = 'http://localhost';
  // Node would answer a request without Host with a bare 400 of its own: it is answered here,
  // as every other refusal is (problem+json, an X-Request-Id).
  const timeout = options.requestTimeoutMs;
  const timeouts =
    timeout === undefined
      ? { headersTimeout: KEEP_ALIVE_TIMEOUT_MS + 1000 }
      : { requestTimeout: timeout, headersTimeout: timeout, connectionsCheckingInterval: Math.ceil(timeout / 4) };
  const server = createServer({ requireHostHeader: false, ...timeouts }, (req, res) => {
    handle(req, res, routes, origin, options).catch((err: unknown) => {
      // A client that hangs up before its body has all arrived is no failure of the host's:
      // logged apart, below error level, so a run of them does not read as an outage.
      if (err instanceof ClientGone) {
        // The parser refused the body (a malformed chunk size line, say) and its 400 is already
        // on the socket: the request's end then reads as a reset, yet the client did nothing but
        // send a bad request, and destroying the response could cut the 400 off.
        const refusal = refusedMidRequest.get(req.socket);
        if (refusal !== undefined) return options.logger.info('localhost.http.bad-request', { error: refusal });
        // Refused and logged already (a 408 while the body was still coming): one line a request.
        if (refusalLogged.has(req.socket)) return void res.destroy();
        options.logger.info('localhost.http.client-gone', { error: errorKind(err.cause) });
        return void res.destroy();
      }
      options.logger.error('localhost.http.failed', { error: errorKind(err) });
      if (!res.headersSent) writeResult(req, res, problem('internal-error'));
      else res.destroy();
    });
  });
  // Node would answer `Expect: 100-continue` at once, inviting a body the host then refuses
  // unread (over the limit) or never reads (a 404): the client sent it, up to 100 MB, and was cut
  // off mid-upload. As Kestrel does, 100 Continue goes out only when the body is to be read.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    server.emit('request', req, res);
  });
  server.on('clientError', (err: Error, socket: Duplex) => answerUnparsedRequest(err, socket, options.logger));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => answerConnect(req, socket, options.logger));
  // An `Expect` other than 100-continue: without a listener Node answers a bare 417. No function
  // runs, so it is logged as the host's other refusals are.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const refusal = problem('expectation-failed');
    closeAfterAnswer(req, res);
    writeResult(req, res, refusal);
    logRefusal(options.logger, refusal, String(res.getHeader('x-request-id')));
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    server,
    url: origin,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

/**
 * A request Node's parser refused before any handler saw it (a header over 16 KiB, a control
 * character in a header, a malformed Content-Length, a method it does not know) is answered as
 * every other error, problem+json with an issued X-Request-Id, not with Node's bare status
 * line. Nothing of the request is read back, and the connection is closed: the parser cannot go
 * on from there. No access-log entry: no caller was authenticated and no route reached, as
 * with a 404.
 */
function answerUnparsedRequest(
  err: Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number },
  socket: Duplex,
  logger: Logger,
): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const result =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? targetOverflowed(err.rawPacket, err.bytesParsed)
        ? problem('uri-too-long')
        : problem('request-header-fields-too-large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problem('request-timeout')
        : err.code === 'HPE_INVALID_VERSION'
          ? httpVersionNotSupported()
          : err.code === 'HPE_INVALID_METHOD' &&
              REQUEST_LINE_START.test(err.rawPacket?.toString('latin1', 0, 256) ?? '')
            ? methodNotImplemented()
            : problem('invalid-request', { detail: 'The HTTP request could not be read.' });
  // Only the parser's error code is kept: it names the fault, never the bytes that made it. A
  // body cut short by the client's closing its side (EOF) is the client gone, as before.
  if (result.status === 400 && err.code !== 'HPE_INVALID_EOF_STATE')
    refusedMidRequest.set(socket, err.code ?? 'unknown');
  const requestId = randomUUID();
  // A 400 is left to the line the reading handler writes (bad-request) or to none: it is the
  // parser's answer to bytes that are no HTTP, as a port scanner sends.
  if (result.status !== 400) {
    logRefusal(logger, result, requestId);
    refusalLogged.add(socket);
  }
  endSocketWith(socket, result, requestId);
}

/**
 * Sockets whose request the parser refused after its headers, while a handler was reading the
 * body, by the parser's error code: that handler's read then fails as if the client had gone.
 */
const refusedMidRequest = new WeakMap<Duplex, string>();

/** Requests sent with `Expect: 100-continue`, to be told to go on only when their body is read. */
const awaitingContinue = new WeakSet<IncomingMessage>();

/** Sockets whose request the parser refused, and whose refusal is logged (logRefusal). */
const refusalLogged = new WeakSet<Duplex>();

/**
 * A CONNECT asks for a tunnel (RFC 9110 §9.3.6), which only a proxy gives: no route takes it,
 * for any target, so it is a method this server does not implement (501), not one a resource
 * lacks (405, whose Allow would name a resource's methods; an authority-form target names
 * none). Node hands it over with the socket, the parser detached, and without this listener
 * closes the connection unanswered. No access-log entry: no route reached, as with a 404.
 */
function answerConnect(req: IncomingMessage, socket: Duplex, logger: Logger): void {
  if (!socket.writable) return void socket.destroy();
  const sent = req.headers['x-request-id'];
  const requestId = requestIdFrom(Array.isArray(sent) ? sent[0] : sent);
  logRefusal(logger, methodNotImplemented(), requestId);
  endSocketWith(socket, methodNotImplemented(), requestId);
}

/**
 * One line for a request the host refused before any function ran, which no function logs: an
 * operator would otherwise not see a client sending URLs or headers over the limit, or speaking
 * another protocol. The status, the problem type and the request id the client was given, to
 * match its report; never the target or a header value, either of which may hold personal data
 * (an NI number in a path, a name in a header).
 */
function logRefusal(logger: Logger, result: HttpResult, requestId: string): void {
  const { type } = JSON.parse(String(result.body)) as Problem;
  logger.info('localhost.http.refused', {
    status: result.status,
    problem: type.slice(PROBLEM_TYPE_PREFIX.length),
    requestId,
  });
}

/**
 * RFC 9110 §9.1: a method the server does not recognise (llhttp knows a fixed list, and methods
 * are case-sensitive: `get` is not one) or does not implement for any resource SHOULD be 501.
 */
function methodNotImplemented(): HttpResult {
  return problem('method-not-implemented');
}

/**
 * Kestrel serves HTTP/1.0 and 1.1 on an HTTP/1 connection and answers any other version in a
 * request line 505 (HTTP/2 is negotiated, never sent as `HTTP/2.0` in a request line); Node's
 * parser refuses some versions itself (1.2, 3.0) and hands on others (2.0, 0.9).
 */
function httpVersionNotSupported(): HttpResult {
  return problem('http-version-not-supported');
}

/** Writes a host's answer straight to the socket, where no `ServerResponse` can carry it, and closes it. */
function endSocketWith(socket: Duplex, result: HttpResult, requestId: string): void {
  const body = Buffer.from(String(result.body ?? ''));
  const headers = {
    ...result.headers,
    'x-request-id': requestId,
    'content-length': String(body.byteLength),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    Buffer.concat([Buffer.from(`HTTP/1.1 ${result.status} ${STATUS_CODES[result.status]}\r\n${head}\r\n`), body]),
  );
}

/** A request line's method and the space after it, after the empty lines RFC 9112 §2.2 lets a client send before it. */
const REQUEST_LINE_START = /^(?:\r?\n)*[!#$%&'*+.^_`|~0-9A-Za-z-]+ /;

/**
 * Whether it was the request target that took the request head over Node's limit, which counts
 * the target's bytes with the headers' (llhttp has no limit of its own for the request line):
 * the line the parser stopped in, within the packet it was reading, is a request line. A head
 * that arrived in pieces, the overflow in a later one that holds no line start, cannot be told
 * apart from a long header and stays 431.
 */
function targetOverflowed(packet: Buffer | undefined, stoppedAt: number | undefined): boolean {
  if (packet === undefined) return false;
  const at = Math.min(stoppedAt ?? packet.byteLength, packet.byteLength);
  const lineStart = at > 0 ? packet.lastIndexOf(0x0a, at - 1) + 1 : 0;
  return REQUEST_LINE_START.test(packet.toString('latin1', lineStart, Math.min(at, lineStart + 256)));
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  routes: RouteTable,
  origin: string,
  options: { logger: Logger; hostRoutes?: HostRoutes; customHeaders?: Record<string, string> },
): Promise<void> {
  // Set first, so that any header of the answer's own replaces one of the same name.
  for (const [name, value] of Object.entries(options.customHeaders ?? {})) res.setHeader(name.toLowerCase(), value);
  if (req.httpVersionMajor !== 1) {
    closeAfterAnswer(req, res);
    writeResult(req, res, httpVersionNotSupported());
    return logRefusal(options.logger, httpVersionNotSupported(), String(res.getHeader('x-request-id')));
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
    req.resume();
    return writeResult(
      req,
      res,
      problem('invalid-request', { detail: 'An HTTP/1.1 request must carry a Host header.' }),
    );
  }
  // And so is one with more than one Host line, of any version (§3.2 again): Node keeps the
  // first and drops the rest, where a proxy before it may have read another.
  if (req.headers.host !== undefined && hostLines(req.rawHeaders) > 1) {
    req.resume();
    return writeResult(
      req,
      res,
      problem('invalid-request', { detail: 'A request must carry one Host header, not several.' }),
    );
  }
  // And so is one whose Host is no `uri-host [":" port]` (§3.2, RFC 3986 §3.2.2), as Kestrel
  // refuses it. Routing never reads Host; a valid name of another host is served.
  if (req.headers.host !== undefined && !VALID_HOST.test(req.headers.host)) {
    req.resume();
    return writeResult(
      req,
      res,
      problem('invalid-request', {
        detail: 'The Host header must be a host name or address, with an optional port.',
      }),
    );
  }
  const target = req.url ?? '/';
  // The asterisk-form target (RFC 9112 §3.2.4) is for a server-wide OPTIONS alone. Kestrel
  // takes `OPTIONS *` and hands it on with an empty path, which no function serves: the
  // Functions host's 404, answered here as any path no function has is, and not a 204 with an
  // Allow, which would say what the server takes where each path takes its own methods. Any
  // other method on `*` Kestrel refuses itself, 405 with Allow: OPTIONS, and closes the
  // connection: a refusal before any function, logged as the parser's are.
  if (target === '*') {
    req.resume();
    if (req.method === 'OPTIONS') return writeResult(req, res, problem('not-found'));
    const refusal = problem('method-not-allowed', { headers: { allow: 'OPTIONS' } });
    closeAfterAnswer(req, res);
    writeResult(req, res, refusal);
    return logRefusal(options.logger, refusal, String(res.getHeader('x-request-id')));
  }
  const plain = plainPathname(target);
  let parsed = plain === undefined ? requestUrl(target, origin) : undefined;
  if (plain === undefined && !parsed) {
    req.resume();
    return writeResult(req, res, problem('invalid-request', { detail: 'The request target could not be read.' }));
  }
  const url = () => (parsed ??= requestUrl(target, origin)!);
  // Kestrel refuses a target whose path would decode to a NUL with its own 400, before routing:
  // no function sees it, where here the escape reached a parameter and was answered as a value.
  if (plain === undefined && holdsEscapedNul(parsed!.pathname)) {
    req.resume();
    return writeResult(
      req,
      res,
      problem('invalid-request', { detail: 'The path must not hold an escaped NUL (%00).' }),
    );
  }
  const pathname = plain ?? decodeUnreserved(parsed!.pathname);
  const method = (req.method ?? 'GET').toUpperCase();
  const own = options.hostRoutes?.(method, pathname);
  if (own) {
    req.resume();
    return writeResult(req, res, own);
  }
  const matched = routes.match(method, pathname);
  if (!matched) {
    req.resume();
    return writeResult(req, res, problem('not-found'));
  }
  if ('methodNotAllowed' in matched) {
    req.resume();
    return writeResult(
      req,
      res,
      problem('method-not-allowed', {
        headers: { allow: matched.methodNotAllowed.join(', ') },
      }),
    );
  }
  // A body over the limit is not held, nor (when its length is declared) waited for: the
  // function gets no body and a Content-Length that says how large it was, and answers 413 as
  // it would under the Functions host (whose own limit is far larger) — after authenticating
  // the caller and writing the call's access-log entry. The rest is discarded unread and the
  // connection closed after the answer.
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared <= MAX_BODY_BYTES && awaitingContinue.has(req)) res.writeContinue();
  const body = declared > MAX_BODY_BYTES ? undefined : await readBody(req, MAX_BODY_BYTES);
  // The caller's address and port appended to X-Forwarded-For, as the Functions platform's front
  // end does (`address:port`, an IPv6 address unbracketed): the request pipeline keys its limit
  // on calls without a valid token on it (client-address.ts), and a caller's own X-Forwarded-For
  // goes before it.
  const sentForwardedFor = req.headers['x-forwarded-for'];
  const { remoteAddress, remotePort } = req.socket;
  const address = remoteAddress === undefined ? 'unknown' : `${remoteAddress}:${remotePort}`;
  let headers: IncomingHttpHeaders = {
    ...req.headers,
    'x-forwarded-for': sentForwardedFor === undefined ? address : `${sentForwardedFor}, ${address}`,
  };
  // Node keeps the first of these lines and drops the rest, where the Functions host joins a
  // header's lines into one value, which the request pipeline refuses (shared/api/repeated-header.ts):
  // joined here too, so a second credential or content type is refused on both hosts.
  for (const name of ['authorization', 'content-type']) {
    const lines = headerLines(req.rawHeaders, name);
    if (lines.length > 1) headers[name] = lines.join(', ');
  }
  if (body === undefined) {
    closeAfterAnswer(req, res);
    const { 'transfer-encoding': _chunked, ...rest } = headers;
    headers = { ...rest, 'content-length': String(Math.max(declared, MAX_BODY_BYTES + 1)) };
  }

  const request = new LocalHttpRequest({
    method,
    url,
    headers,
    params: matched.params,
    body: body ?? Buffer.alloc(0),
  });
  const invocationId = randomUUID();
  const context = new InvocationContext({
    invocationId,
    functionName: matched.registration.name,
    logHandler: functionLogHandler(options.logger, matched.registration.name, invocationId),
  });
  const result = await matched.registration.handler(request, context);
  if (!(result instanceof HttpResponse) && isPlainResult(result)) return writeResponseInit(res, result);
  const response = result instanceof HttpResponse ? result : new HttpResponse(result as HttpResponseInit);
  const bytes = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  endWithBody(res, bytes);
}

/**
 * RFC 3986's `host [":" port]`: an IP literal in brackets (IPv6, or IPvFuture), or a reg-name —
 * which an IPv4 address is too, and which may be empty (RFC 9112 §3.2 has a client send an empty
 * Host when the target has no authority).
 */
const VALID_HOST =
  /^(?:\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+)\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

function hostLines(rawHeaders: readonly string[]): number {
  return headerLines(rawHeaders, 'host').length;
}

/** The values of each line of the header `name` (lower case), in the order sent. */
function headerLines(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  return values;
}

/**
 * The path of a request target that WHATWG URL parsing would leave exactly as sent — unreserved
 * characters, no dot segments, no percent escapes, no backslashes — read without building a URL;
 * undefined for anything else, which the URL parser then normalises.
 */
const PLAIN_SEGMENT = '[A-Za-z0-9_~-]+(?:\\.[A-Za-z0-9_~-]+)*';
const PLAIN_PATH = new RegExp(`^/(?:${PLAIN_SEGMENT}(?:/${PLAIN_SEGMENT})*/?)?(?:\\?|$)`);
function plainPathname(target: string): string | undefined {
  if (!PLAIN_PATH.test(target)) return undefined;
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

/**
 * The path with the escapes of unreserved characters (RFC 3986 §2.3) decoded, as Kestrel decodes
 * a path before the Functions host routes it: `/api/v1/people/searc%68` is the search there. No
 * other escape is touched — `%2F` is no separator there either, and the route table decodes a
 * parameter once, so `%2541` must reach it still as the escape of a percent.
 */
function decodeUnreserved(pathname: string): string {
  return pathname.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9._~-]/.test(c) ? c : escape;
  });
}

/**
 * Whether a `%00` is among the escapes Kestrel decodes, reading them left to right once as it
 * does: `%2500` is a percent and two zeros, `%%00` a percent and a NUL.
 */
function holdsEscapedNul(pathname: string): boolean {
  for (const [escape] of pathname.matchAll(/%[0-9A-Fa-f]{2}/g)) if (escape === '%00') return true;
  return false;
}

/** Statuses the fetch standard gives no body (within the 200–599 a response may have). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * A response init the host can write as the runtime would without building a WHATWG
 * `Response`: a string or byte body (or JSON), headers as a plain object, no cookies. Anything
 * else (streams, `Headers`, cookies) goes through the runtime's `HttpResponse`.
 */
function isPlainResult(
  result: unknown,
): result is HttpResponseInit & { headers?: Record<string, string>; body?: string | Uint8Array } {
  if (result === undefined || result === null) return true;
  if (typeof result !== 'object') return false;
  const init = result as HttpResponseInit;
  const plainHeaders =
    init.headers === undefined ||
    (Object.getPrototypeOf(init.headers) === Object.prototype && !Array.isArray(init.headers));
  const plainBody =
    init.body === undefined || init.body === null || typeof init.body === 'string' || init.body instanceof Uint8Array;
  return plainHeaders && plainBody && (init.cookies === undefined || init.cookies.length === 0);
}

/** As `HttpResponse` would render it: JSON bodies get `application/json`, text `text/plain;charset=UTF-8`, unless set. */
function writeResponseInit(
  res: ServerResponse,
  init: (HttpResponseInit & { headers?: Record<string, string>; body?: string | Uint8Array }) | undefined | null,
): void {
  const status = init?.status ?? 200;
  res.statusCode = status;
  for (const [name, value] of Object.entries(init?.headers ?? {})) res.setHeader(name.toLowerCase(), value);
  if (NULL_BODY_STATUSES.has(status)) return void res.end();
  let body = init?.body ?? undefined;
  if (init?.jsonBody !== undefined && init.jsonBody !== null) {
    body = JSON.stringify(init.jsonBody);
    if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/json');
  } else if (typeof body === 'string' && !res.hasHeader('content-type')) {
    res.setHeader('content-type', 'text/plain;charset=UTF-8');
  }
  endWithBody(res, body);
}

/**
 * Ends the response with its body and a Content-Length, which Node adds itself for a GET but
 * leaves out for a HEAD, whose body it drops: a HEAD gets the headers its GET would (RFC 9110
 * §9.3.2), as the Functions host sends them.
 */
function endWithBody(res: ServerResponse, body: string | Uint8Array | undefined): void {
  if (body !== undefined && !res.hasHeader('content-length'))
    res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  res.end(body);
}

/**
 * The request URL on the host's own origin: an origin-form target (`/api/...`) as it is, an
 * absolute-form one by its path and query only. Undefined when the target is no URL at all.
 */
function requestUrl(target: string, origin: string): URL | undefined {
  try {
    if (target.startsWith('/')) return new URL(origin + target);
    const absolute = new URL(target);
    return new URL(absolute.pathname + absolute.search, origin);
  } catch {
    return undefined;
  }
}

/** The request stream failed while its body was read: the client went away (reset, or closed early). */
class ClientGone extends Error {
  override readonly name = 'ClientGone';
}

/** The body, or undefined as soon as more than `limit` bytes have arrived (none of it is kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.off('end', onEnd);
      req.pause();
      chunks.length = 0;
      resolveBody(undefined);
    };
    const onEnd = () => resolveBody(Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', (err) => reject(new ClientGone('request body cut short', { cause: err })));
  });
}

/**
 * For a request whose body was cut short: once the answer is out, what is still arriving of the
 * body is discarded unread, and after a short grace (for the client to read the answer) the
 * socket is cut rather than left open for the rest of a body that may be huge.
 */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  res.setHeader('connection', 'close');
  res.once('finish', () => {
    req.resume();
    setTimeout(() => req.socket.destroy(), REFUSED_BODY_GRACE_MS).unref();
  });
}

/** An answer of the host's own (not a function's); like every response it carries an `X-Request-Id`. */
function writeResult(req: IncomingMessage, res: ServerResponse, result: HttpResult): void {
  res.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  if (!res.hasHeader('x-request-id')) {
    const sent = req.headers['x-request-id'];
    res.setHeader('x-request-id', requestIdFrom(Array.isArray(sent) ? sent[0] : sent));
  }
  endWithBody(res, result.body ?? (result.jsonBody === undefined ? undefined : JSON.stringify(result.jsonBody)));
}
