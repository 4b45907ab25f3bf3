import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord } from '../support/records.js';
import { reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * What a JSON body must be before its schema is looked at: application/json, and one reading
 * only. Zoë is held by Corby; Kettering asks whether an applicant is a duplicate, as a partner
 * would, over real HTTP.
 */
describe('a JSON body', () => {
  let t: TestHost;
  const NI = 'JG103759A';
  const OTHER_NI = 'AB123456C';
  const zoe = { givenName: 'Zoë', familyName: 'Brontë', dateOfBirth: '1991-07-08' };

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
      partyId: 'corby-borough-council',
      datasetId: 'keyways-housing-register',
      ...zoe,
      identifiers: { ni: NI.slice(0, 8) },
      attributes: { firstName: zoe.givenName, lastName: zoe.familyName, dateOfBirth: zoe.dateOfBirth },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const check = async (body: string, contentType = 'application/json') => {
    const before = await t.accessLogSize();
    const res = await fetch(`${t.url}/api/v1/duplicate-checks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await t.token('kettering-borough-council', ['housing-officer'])}`,
        'x-purpose': 'fraud-prevention',
        'content-type': contentType,
      },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      text,
      body: JSON.parse(text) as Record<string, unknown>,
      entries: (await t.accessLogSize()) - before,
    };
  };
  const lastReason = async () => (await reasonCodesOf(t, 'kettering-borough-council')).at(-1);

  /**
   * `{"niNumber":"A","niNumber":"B"}` was taken, the last name winning (JSON.parse's way). RFC
   * 8259 §4 leaves such a body's meaning to the parser, and I-JSON (RFC 7493 §2.3) forbids it: a
   * gateway or a partner's log that keeps the first reads another applicant than lintel answered
   * about (found by a review). Refused as a body that does not parse, naming neither the name nor
   * either value.
   */
  describe('that names a property twice in one object', () => {
    it.each<[string, string, string[]]>([
      ['at the top, the other applicant last', `{"niNumber":"${NI}","niNumber":"${OTHER_NI}"}`, [NI, OTHER_NI]],
      ['at the top, the held applicant last', `{"niNumber":"${OTHER_NI}","niNumber":"${NI}"}`, [NI, OTHER_NI]],
      [
        'inside a nested object',
        '{"systemId":{"system":"education","system":"social-care","id":"X-4471"}}',
        ['education', 'social-care', 'X-4471'],
      ],
      ['spelt once with an escape', `{"niNumber":"${NI}","ni\\u004eumber":"${OTHER_NI}"}`, [NI, OTHER_NI]],
      [
        'with an object as the value dropped',
        `{"systemId":{"system":"education","id":"X-4471"},"systemId":{"system":"social-care","id":"X-4471"}}`,
        ['education', 'social-care', 'X-4471'],
      ],
    ])('is refused 400 %s, logged once, echoing nothing of the body', async (_name, body, values) => {
      const res = await check(body);
      expect(res).toMatchObject({
        status: 400,
        type: 'application/problem+json',
        body: {
          type: 'urn:lintel:problem:invalid-request',
          detail: 'The body names a property twice in one object: send each property once.',
        },
        entries: 1,
      });
      for (const echoed of [...values, 'niNumber', 'system']) expect(res.text).not.toContain(echoed);
      expect(await lastReason()).toBe('duplicate-json-name');
    });

    it('is not read into a body whose values look like names, or that is spaced out', async () => {
      // A value holding `"givenName":` is no second name.
      const quoted = await check(`{"givenName":"\\"givenName\\":","familyName":"Brontë","niNumber":"${NI}"}`);
      expect(quoted).toMatchObject({ status: 200, body: { duplicate: true } });
      const spaced = await check(`{ "niNumber" : "${NI}" ,\n\t"familyName" : "Brontë" }`);
      expect(spaced).toMatchObject({ status: 200, body: { duplicate: true } });
    });
  });

  /**
   * Only `application/json` is read. The check took any `application/…json` followed by a
   * non-letter: `application/json-seq` (records each led by RS, RFC 7464) passed it and was then
   * answered 400 "not valid JSON", and `application/problem+json` or `merge-patch+json`, whose
   * bodies mean something else, were read as a search (found by a review). They are 415, as any
   * other type is. A media type is case-insensitive, and may have spaces before its parameters.
   */
  describe('media type', () => {
    const body = JSON.stringify({ niNumber: NI });

    it.each<[string, string, string]>([
      ['application/json-seq', 'its records led by RS', `\x1e${body}\n`],
      ['application/json-seq', 'one record, bare', body],
      ['application/problem+json', 'a search body', body],
      ['application/merge-patch+json', 'a search body', body],
      ['application/vnd.partner+json; charset=utf-8', 'a search body', body],
      ['application/json.x', 'a search body', body],
      ['application/jsonx', 'a search body', body],
      ['text/json', 'a search body', body],
    ])('refuses %s (%s) 415, logged once', async (contentType, _what, sent) => {
      const res = await check(sent, contentType);
      expect(res).toMatchObject({
        status: 415,
        type: 'application/problem+json',
        body: { type: 'urn:lintel:problem:unsupported-media-type' },
        entries: 1,
      });
      expect(res.text).not.toContain(NI);
      expect(await lastReason()).toBe('unsupported-media-type');
    });

    it.each([
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'APPLICATION/JSON',
      'Application/Json; Charset="utf-8"',
      'application/json ; charset=utf-8',
    ])('takes %s', async (contentType) => {
      const res = await check(body, contentType);
      expect(res).toMatchObject({ status: 200, body: { duplicate: true, councils: ['corby-borough-council'] } });
    });
  });
});
