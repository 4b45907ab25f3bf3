import { PROBLEM_CATALOGUE, PROBLEM_TYPE_PREFIX, type ProblemCode } from '../api/problem-catalogue.js';

/**
 * RFC 9457 problem details. Every error lintel returns over HTTP is one of these, with a `type`
 * that never changes once published so partners can branch on it, and the status and `title`
 * the catalogue gives that type (RFC 9457 §3.1.3: a title does not change from occurrence to
 * occurrence). `detail` is fixed text per call site: it never repeats the request's input.
 */

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
  code: ProblemCode,
  extra: {
    detail?: string;
    instance?: string;
    headers?: Record<string, string>;
    title?: never;
    status?: never;
    [k: string]: unknown;
  } = {},
): HttpResult {
  const { headers, ...fields } = extra;
  const { status, title } = PROBLEM_CATALOGUE[code];
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
