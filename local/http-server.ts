import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import functions from '@azure/functions';
import type { HttpResponseInit } from '@azure/functions';
import { problem, type HttpResult } from '../shared/http/problem.js';
import { errorKind, type Logger } from '../shared/logging.js';
import type { HttpRegistration } from '../functions/registry.js';
import { functionLogHandler } from './function-log.js';
import { LocalHttpRequest } from './local-http-request.js';
import { RouteTable } from './route-table.js';

const { HttpResponse, InvocationContext } = functions;

/** The Functions host's default request size limit. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

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
  hostRoutes?: (method: string, pathname: string) => HttpResult | undefined;
}): Promise<LocalHttpServer> {
  const routes = new RouteTable(options.registrations);
  const server = createServer((req, res) => {
    handle(req, res, routes, options).catch((err: unknown) => {
      options.logger.error('localhost.http.failed', { error: errorKind(err) });
      if (!res.headersSent) writeResult(res, problem(500, 'internal-error', 'Internal error'));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  routes: RouteTable,
  options: { logger: Logger; hostRoutes?: (method: string, pathname: string) => HttpResult | undefined },
): Promise<void> {
  const target = req.url ?? '/';
  let parsed: URL | undefined;
  const url = () => (parsed ??= new URL(target, `http://${req.headers.host ?? '127.0.0.1'}`));
  const pathname = plainPathname(target) ?? url().pathname;
  const method = (req.method ?? 'GET').toUpperCase();
  const own = options.hostRoutes?.(method, pathname);
  if (own) {
    req.resume();
    return writeResult(res, own);
  }
  const matched = routes.match(method, pathname);
  if (!matched) {
    req.resume();
    return writeResult(res, problem(404, 'not-found', 'Not found'));
  }
  if ('methodNotAllowed' in matched) {
    req.resume();
    return writeResult(
      res,
      problem(405, 'method-not-allowed', 'Method not allowed', {
        headers: { allow: matched.methodNotAllowed.join(', ') },
      }),
    );
  }
  const body = await readBody(req);
  if (body === 'too-large') return writeResult(res, problem(413, 'payload-too-large', 'Request body too large'));

  const request = new LocalHttpRequest({ method, url, headers: req.headers, params: matched.params, body });
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
  res.end(bytes);
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
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolveBody(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function writeResult(res: ServerResponse, result: HttpResult): void {
  res.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.end(result.body ?? (result.jsonBody === undefined ? undefined : JSON.stringify(result.jsonBody)));
}
