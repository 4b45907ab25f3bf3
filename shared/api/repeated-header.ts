import type { ApiRequest } from './api-request.js';

/**
 * The headers whose one value says who calls, why, and how the body is read, as they are named
 * to the caller, and whether a value may hold a quoted-string.
 */
const SINGLE_VALUED = [
  ['authorization', 'Authorization', false],
  ['x-purpose', 'X-Purpose', false],
  ['content-type', 'Content-Type', true],
] as const;

/** A quoted-string (RFC 9110 §5.6.4), its `\` escapes taken; an unclosed one is left in place. */
const QUOTED_STRING = /"(?:[^"\\]|\\[\s\S])*"/g;

/**
 * The name of the first of those sent more than once, if any. The Functions host hands a
 * function a header sent twice as one value, the two joined by a comma (Azure/azure-functions-host
 * #5294), and the local host does the same for these (local/http-server.ts), where Node alone
 * keeps the first Authorization and Content-Type and drops the other: read either way, a call
 * with two credentials or two purposes was answered for one of them. A bearer token is base64url
 * and a purpose id a slug, so any comma in them is a second value. A media type's parameter may
 * be a quoted-string, which may hold a comma (RFC 9110 §8.3.1): `application/json; foo="a,b"` is
 * one type, and was refused as two (found by a defect hunt); only a comma outside quotes is a
 * second value there.
 */
export function repeatedHeader(req: Pick<ApiRequest, 'headers'>): string | undefined {
  return SINGLE_VALUED.find(([name, , quotes]) => {
    const value = req.headers.get(name);
    if (value?.includes(',') !== true) return false;
    return !quotes || value.replace(QUOTED_STRING, '').includes(',');
  })?.[1];
}
