import type { z } from 'zod';
import { problem, type HttpResult } from '../http/problem.js';
import type { ApiRequest } from './api-request.js';
import { JSON_STRING } from '../json-strings.js';
import { MAX_JSON_BODY_BYTES } from './json-body-limit.js';

/**
 * `application/json`, in any case, alone or before its parameters. Nothing else is read: the
 * check took any `application/…json` up to a non-letter, so `application/json-seq` (records led
 * by RS, RFC 7464) passed it and was answered 400 "not valid JSON", and `problem+json`,
 * `merge-patch+json` or a vendor's `+json`, JSON with a meaning of its own, were read as the
 * operation's body (found by a review). The OpenAPI document offers application/json alone.
 */
const JSON_MEDIA_TYPE = /^application\/json[ \t]*(?:;|$)/i;
/**
 * One parameter of a media type (RFC 9110 §5.6.6): `;`, then `name=value` or nothing, the value
 * a token or a quoted-string with its `\` escapes. Whitespace around `=` is taken, as the
 * charset check always took it. Sticky: read one after another from the end of the type.
 */
const PARAMETER =
  /[ \t]*;[ \t]*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*)"))?/y;
const CHARSET_NAMED = /charset/i;
const MEDIA_TYPE_LENGTH = 'application/json'.length;
/** Refuses bytes that are not UTF-8 rather than replacing them (a leading BOM is dropped). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export type BodyResult<T> = { ok: true; value: T } | { ok: false; result: HttpResult; reason: string };

/**
 * Read and validate a JSON body. Errors name the properties at fault and zod's issue codes,
 * never the values sent: a request body holds identifiers.
 */
export async function readJsonBody<S extends z.ZodType>(req: ApiRequest, schema: S): Promise<BodyResult<z.infer<S>>> {
  const contentType = req.headers.get('content-type') ?? '';
  if (!JSON_MEDIA_TYPE.test(contentType)) {
    return {
      ok: false,
      reason: 'unsupported-media-type',
      result: problem('unsupported-media-type'),
    };
  }
  // JSON between systems is UTF-8 (RFC 8259 §8.1). A body in another charset read as UTF-8
  // would have its accented letters replaced, and its names then match nobody: a duplicate
  // check would answer "none" for an applicant another council holds. Refused, never guessed.
  const charset = charsetOf(contentType);
  if (charset !== undefined && (charset === null || !/^utf-?8$/i.test(charset))) {
    return {
      ok: false,
      reason: 'unsupported-charset',
      result: problem('unsupported-media-type', {
        detail: 'Send the body in UTF-8, with charset=utf-8 or no charset.',
      }),
    };
  }
  // A content coding (gzip, deflate, br) is not undone: no body may exceed 16 KiB, and a
  // decompressor would be one more thing a caller could make expand. Read as it came, a gzip body
  // was answered "not valid UTF-8", sending a partner after a charset that was fine, and one
  // declared gzip whose bytes were plain JSON was answered as if it were (found by a defect
  // hunt). Refused as RFC 9110 §15.5.16 says, naming the one coding taken.
  if (!codingsAreOnly(req.headers.get('content-encoding'), IDENTITY_CODING)) {
    return {
      ok: false,
      reason: 'unsupported-content-encoding',
      result: problem('unsupported-media-type', {
        headers: { 'accept-encoding': 'identity' },
        detail: 'Send the body without a Content-Encoding.',
      }),
    };
  }
  // Nor is a transfer coding but chunked: Node, under the local host, undoes the chunking alone,
  // so `Transfer-Encoding: gzip, chunked` handed on a body still gzipped, read as if it were
  // plain (found by a defect hunt). Refused as a content coding is.
  if (!codingsAreOnly(req.headers.get('transfer-encoding'), CHUNKED_CODING)) {
    return {
      ok: false,
      reason: 'unsupported-transfer-encoding',
      result: problem('unsupported-media-type', {
        detail: 'Send the body with no Transfer-Encoding but chunked.',
      }),
    };
  }
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > MAX_JSON_BODY_BYTES) return tooLarge();
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > MAX_JSON_BODY_BYTES) return tooLarge();
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    return {
      ok: false,
      reason: 'invalid-utf8',
      result: problem('invalid-request', { detail: 'The body is not valid UTF-8.' }),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      ok: false,
      reason: 'invalid-json',
      result: problem('invalid-request', { detail: 'The body is not valid JSON.' }),
    };
  }
  // JSON.parse keeps the last of a name given twice in one object; a gateway, or the partner's
  // own log of what it sent, may keep the first, and so read another applicant than the one
  // answered about. RFC 8259 §4 leaves such a body's meaning to the parser, I-JSON (RFC 7493
  // §2.3) forbids it: refused as a body that does not parse, naming nothing of it (found by a
  // review). An own `__proto__` is counted as any other name, and left to the schema as before.
  if (namesInText(text) !== namesParsed(json)) {
    return {
      ok: false,
      reason: 'duplicate-json-name',
      result: problem('invalid-request', {
        detail: 'The body names a property twice in one object: send each property once.',
      }),
    };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'invalid-request',
      result: problem('invalid-request', {
        detail: 'The body does not match the schema.',
        errors: parsed.error.issues.slice(0, 20).map((i) => {
          const path = i.path.map(String).join('.');
          // An unknown property is not named (a key can hold anything a caller typed), but the
          // ones the body may hold are: `firstName` for `givenName` is then plain to see.
          const allowed = i.code === 'unrecognized_keys' && path === '' ? topLevelKeys(schema) : undefined;
          return allowed === undefined ? { path, code: i.code } : { path, code: i.code, allowed };
        }),
      }),
    };
  }
  return { ok: true, value: parsed.data };
}

/**
 * How many names the objects of `text` (valid JSON) give, a name given twice counted twice.
 * One pass of one regular expression over at most 16 KiB: a search pays microseconds for it,
 * where parsing a second time with a parser that keeps every name would cost as much again.
 */
function namesInText(text: string): number {
  let names = 0;
  for (const match of text.matchAll(JSON_STRING)) if (match[2] !== undefined) names++;
  return names;
}

/**
 * How many names the objects parsed from the text hold. Less than `namesInText` exactly when
 * some object gave a name twice: the parse keeps one of each, and drops with the earlier value
 * every name inside it. Walked without recursion: 16 KiB of `[` nests deeper than the stack.
 */
function namesParsed(json: unknown): number {
  let names = 0;
  const pending: unknown[] = [json];
  while (pending.length > 0) {
    const value = pending.pop();
    if (value === null || typeof value !== 'object') continue;
    const children = Array.isArray(value) ? value : Object.values(value);
    if (!Array.isArray(value)) names += children.length;
    for (const child of children) if (child !== null && typeof child === 'object') pending.push(child);
  }
  return names;
}

/**
 * The `charset` of an `application/json` Content-Type: undefined when none is given, null when
 * it is given twice or where the parameters do not parse (no one charset can be told). Read parameter by
 * parameter: `charset=` inside another's quoted value was taken for the charset, and a UTF-8
 * body refused (carried from a review).
 */
function charsetOf(contentType: string): string | null | undefined {
  // Nearly every call sends the type bare: nothing to parse (this runs on every search).
  if (contentType.length === MEDIA_TYPE_LENGTH) return undefined;
  let charset: string | undefined;
  PARAMETER.lastIndex = MEDIA_TYPE_LENGTH;
  while (PARAMETER.lastIndex < contentType.length) {
    const at = PARAMETER.lastIndex;
    const parameter = PARAMETER.exec(contentType);
    // What cannot be read as parameters (an unquoted URL, say) says nothing of the body's
    // charset unless it names one: only then is no one charset told (found by a review: a
    // `profile=https://…` was refused 415, telling the partner to send the UTF-8 it sent).
    if (parameter === null) return CHARSET_NAMED.test(contentType.slice(at)) ? null : charset;
    const [, name, token, quoted] = parameter;
    if (name?.toLowerCase() !== 'charset') continue;
    if (charset !== undefined) return null;
    charset = token ?? quoted!.replace(/\\(.)/g, '$1');
  }
  return charset;
}

/**
 * Whether a list of codings (`Content-Encoding`, `Transfer-Encoding`) is absent or each of its
 * elements is `coding`'s: the one coding of its kind the body may come in. Empty elements are
 * ignored (RFC 9110 §5.6.1): `,chunked` was refused, a body sent as plain as any.
 */
function codingsAreOnly(codings: string | null, coding: RegExp): boolean {
  // No header, as nearly every call: nothing to split (this runs on every search).
  if (codings === null) return true;
  return codings.split(',').every((element) => coding.test(element));
}

/** A `Content-Encoding` element that leaves the body as sent: `identity`, or empty. */
const IDENTITY_CODING = /^\s*(?:identity)?\s*$/i;

/** A `Transfer-Encoding` element the hosts undo: `chunked`, or empty. */
const CHUNKED_CODING = /^\s*(?:chunked)?\s*$/i;

/** The properties an object schema lists, or undefined for any other schema. */
function topLevelKeys(schema: z.ZodType): string[] | undefined {
  const shape = (schema as { shape?: unknown }).shape;
  return shape !== null && typeof shape === 'object' ? Object.keys(shape) : undefined;
}

function tooLarge(): BodyResult<never> {
  return {
    ok: false,
    reason: 'payload-too-large',
    result: problem('payload-too-large', { detail: `At most ${MAX_JSON_BODY_BYTES} bytes.` }),
  };
}
