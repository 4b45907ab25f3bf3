import type { ApiRequest } from './api-request.js';

/** The headers whose one value says who calls, why, and how the body is read, as they are named to the caller. */
const SINGLE_VALUED = [
  ['authorization', 'Authorization'],
  ['x-purpose', 'X-Purpose'],
  ['content-type', 'Content-Type'],
] as const;

/**
 * The name of the first of those sent more than once, if any. The Functions host hands a
 * function a header sent twice as one value, the two joined by a comma (Azure/azure-functions-host
 * #5294), and the local host does the same for these (local/http-server.ts), where Node alone
 * keeps the first Authorization and Content-Type and drops the other: read either way, a call
 * with two credentials or two purposes was answered for one of them. None of the three takes a
 * comma in a value this API accepts (a bearer token is base64url, a purpose id a slug, the body
 * application/json), so a comma is a second value, and no answer would be the caller's for sure.
 */
export function repeatedHeader(req: Pick<ApiRequest, 'headers'>): string | undefined {
  return SINGLE_VALUED.find(([name]) => req.headers.get(name)?.includes(',') === true)?.[1];
}
