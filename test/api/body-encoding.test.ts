import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord } from '../support/records.js';
import { rawRequest } from '../local/raw-http.js';
import { reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A JSON body is UTF-8 (RFC 8259 §8.1). One in another charset, read as UTF-8 with its bad
 * bytes replaced, has names that match nobody: the duplicate check answered "none" for an
 * applicant another council holds (found by a review). It is refused instead, with one
 * access-log entry, and nothing of it is echoed.
 */
describe('a body that is not UTF-8', () => {
  let t: TestHost;
  const zoe = { givenName: 'Zoë', familyName: 'Brontë', dateOfBirth: '1991-07-08' };

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
      partyId: 'corby-borough-council',
      datasetId: 'keyways-housing-register',
      ...zoe,
      attributes: { firstName: zoe.givenName, lastName: zoe.familyName, dateOfBirth: zoe.dateOfBirth },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const check = async (body: Uint8Array, contentType: string, extraHeaders: Record<string, string> = {}) => {
    const before = await t.accessLogSize();
    const res = await fetch(`${t.url}/api/v1/duplicate-checks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await t.token('kettering-borough-council', ['housing-officer'])}`,
        'x-purpose': 'fraud-prevention',
        'content-type': contentType,
        ...extraHeaders,
      },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      acceptEncoding: res.headers.get('accept-encoding'),
      text,
      body: JSON.parse(text) as Record<string, unknown>,
      entries: (await t.accessLogSize()) - before,
    };
  };
  const utf8 = Buffer.from(JSON.stringify(zoe), 'utf8');
  const latin1 = Buffer.from(JSON.stringify(zoe), 'latin1');
  const lastReason = async () => (await reasonCodesOf(t, 'kettering-borough-council')).at(-1);

  it('finds the applicant from a UTF-8 body, with or without a BOM or a charset saying so', async () => {
    for (const [body, type] of [
      [utf8, 'application/json'],
      [utf8, 'application/json; charset=UTF-8'],
      [utf8, 'application/json;charset="utf8"'],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8]), 'application/json'],
    ] as const) {
      const res = await check(body, type);
      expect(res, type).toMatchObject({ status: 200, body: { duplicate: true, councils: ['corby-borough-council'] } });
    }
  });

  it('refuses a body declared in another charset 415, logged once, echoing nothing', async () => {
    const res = await check(latin1, 'application/json; charset=iso-8859-1');
    expect(res).toMatchObject({
      status: 415,
      type: 'application/problem+json',
      body: { type: 'urn:lintel:problem:unsupported-media-type' },
      entries: 1,
    });
    expect(res.text).not.toMatch(/Zo|Bront|1991/);
    expect(await lastReason()).toBe('unsupported-charset');
  });

  // The charset was looked for anywhere in the header, so `charset=` inside another parameter's
  // quoted value was read as the body's charset and a valid UTF-8 body refused 415 (carried from
  // a review). Parameters are read as RFC 9110 §5.6.6 writes them: `;`-separated `name=value`,
  // a value a token or a quoted-string (with `\\` escapes), names in any case.
  it.each([
    'application/json; foo="x; charset=latin1"',
    'application/json; foo="a\\"; charset=latin1"',
    'application/json; xcharset=latin1',
    'application/json; foo="charset=latin1"; charset=utf-8',
    'application/json;',
    // Not RFC 9110 (a URL is no token), but sent by real clients: nothing in it speaks of a
    // charset, so nothing in it can say the body is not UTF-8 (found by a review: refused 415,
    // telling the partner to send the UTF-8 it had sent).
    'application/json; profile=https://example.org/search',
    'application/json; charset=utf-8; profile=urn:x:y/z',
  ])('takes a UTF-8 body whose Content-Type says charset only inside another parameter: %s', async (type) => {
    const res = await check(utf8, type);
    expect(res).toMatchObject({ status: 200, body: { duplicate: true, councils: ['corby-borough-council'] } });
  });

  it.each([
    'application/json; foo=bar; charset=latin1',
    'application/json; foo="x;y"; CHARSET="ISO-8859-1"',
    'application/json; charset=utf-8; charset=latin1',
    'application/json; charset="utf-8',
    'application/json; foo="x"y; charset=utf-8',
  ])('refuses a body whose Content-Type names another charset, or no one charset, 415: %s', async (type) => {
    const res = await check(latin1, type);
    expect(res).toMatchObject({
      status: 415,
      type: 'application/problem+json',
      body: { type: 'urn:lintel:problem:unsupported-media-type' },
      entries: 1,
    });
    expect(res.text).not.toMatch(/Zo|Bront|1991|latin1|ISO/);
  });

  it('refuses bytes that are not UTF-8 400 rather than matching mangled names', async () => {
    const res = await check(latin1, 'application/json');
    expect(res).toMatchObject({
      status: 400,
      type: 'application/problem+json',
      body: { type: 'urn:lintel:problem:invalid-request', detail: 'The body is not valid UTF-8.' },
      entries: 1,
    });
    expect(res.text).not.toMatch(/Zo|Bront|1991/);
    expect(await lastReason()).toBe('invalid-utf8');
  });

  // A body sent compressed is not decompressed (no body may be larger than 16 KiB, and a
  // decompressor is one more thing a caller could make expand), and was read as it came: a gzip
  // body answered 400 "not valid UTF-8", sending the partner after a charset that was fine, and
  // a body declared gzip whose bytes happened to be plain JSON was answered as if it were
  // (found by a defect hunt). A content coding is refused as RFC 9110 §15.5.16 says.
  it.each<[string, string, Uint8Array]>([
    ['gzip', 'gzip', gzipSync(utf8)],
    ['deflate', 'deflate', deflateSync(utf8)],
    ['br', 'br', brotliCompressSync(utf8)],
    ['gzip, declared in capitals, of bytes that are plain JSON', 'GZIP', utf8],
    ['identity then gzip', 'identity, gzip', gzipSync(utf8)],
  ])(
    'refuses a body with Content-Encoding %s 415, saying only identity is taken, logged once',
    async (_name, coding, body) => {
      const res = await check(body, 'application/json', { 'content-encoding': coding });
      expect(res).toMatchObject({
        status: 415,
        type: 'application/problem+json',
        acceptEncoding: 'identity',
        body: { type: 'urn:lintel:problem:unsupported-media-type' },
        entries: 1,
      });
      expect(res.text).not.toMatch(/Zo|Bront|1991/);
      expect(await lastReason()).toBe('unsupported-content-encoding');
    },
  );

  /** A duplicate check of Zoe, its body sent in one chunk under `Transfer-Encoding: <coding>`. */
  const sendChunked = async (coding: string) => {
    const json = JSON.stringify(zoe);
    const token = await t.token('kettering-borough-council', ['housing-officer']);
    return rawRequest(
      t.url,
      'POST /api/v1/duplicate-checks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' +
        `Authorization: Bearer ${token}\r\nX-Purpose: fraud-prevention\r\nContent-Type: application/json\r\n` +
        `Transfer-Encoding: ${coding}\r\n\r\n`,
      { body: `${Buffer.byteLength(json).toString(16)}\r\n${json}\r\n0\r\n\r\n` },
    );
  };

  // Node de-chunks a body sent `Transfer-Encoding: gzip, chunked` and leaves the gzip, which was
  // read as a plain body: these bytes, plain JSON, were answered as if none had been declared.
  it.each(['gzip, chunked', 'Deflate,chunked'])(
    'refuses a body with Transfer-Encoding %s 415, logged once',
    async (coding) => {
      const before = await t.accessLogSize();
      const res = await sendChunked(coding);
      expect(res).toMatchObject({ status: 415, headers: { 'content-type': 'application/problem+json' } });
      expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:lintel:problem:unsupported-media-type' });
      expect(res.body).not.toMatch(/Zo|Bront|1991/);
      expect((await t.accessLogSize()) - before).toBe(1);
      expect(await lastReason()).toBe('unsupported-transfer-encoding');
    },
  );

  // RFC 9110 §5.6.1 has a recipient ignore a list's empty elements, and Node hands `,chunked` on
  // de-chunked: it was refused 415 "must not be compressed", a body sent as plain as any.
  it.each(['chunked', 'Chunked', ',chunked', ', chunked'])(
    'takes a body sent with Transfer-Encoding %s',
    async (coding) => {
      const res = await sendChunked(coding);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ duplicate: true, councils: ['corby-borough-council'] });
    },
  );

  it('takes a body whose Content-Encoding says identity', async () => {
    const res = await check(utf8, 'application/json', { 'content-encoding': 'identity' });
    expect(res).toMatchObject({ status: 200, body: { duplicate: true, councils: ['corby-borough-council'] } });
  });
});
