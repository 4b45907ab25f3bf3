/**
 * RFC 9457 problem details. Every error lintel returns over HTTP is one of these, with a `type`
 * that never changes once published so partners can branch on it. `detail` is fixed text per
 * call site: it never repeats the request's input.
 */
export const PROBLEM_TYPE_PREFIX = 'urn:lintel:problem:';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** A response in the shape both the Functions runtime and the local host accept. */
export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  jsonBody?: unknown;
  body?: string | Uint8Array;
}

/**
 * What every API answer carries unless its caller says otherwise: answers hold personal data or
 * speak of someone, so no browser or proxy may keep them, nor read them as anything but JSON.
 */
const API_RESPONSE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function problem(
  status: number,
  code: string,
  title: string,
  extra: { detail?: string; instance?: string; headers?: Record<string, string>; [k: string]: unknown } = {},
): HttpResult {
  const { headers, ...fields } = extra;
  const body: Problem = { type: PROBLEM_TYPE_PREFIX + code, title, status, ...fields };
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...API_RESPONSE_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    status,
    headers: { 'content-type': 'application/json', ...API_RESPONSE_HEADERS, ...headers },
    body: JSON.stringify(value),
  };
}
