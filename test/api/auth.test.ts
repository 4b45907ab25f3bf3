import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.js';
import { developmentIssuer } from '../../shared/auth/development-issuer.js';
import { insertRecord } from '../support/records.js';
import { clientIdOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Bearer-token verification against the running host, with real signatures: the host's own
 * development key (read from its key file) for tokens that differ from a good one in exactly
 * one respect, and keys generated here for tokens the configured issuer never signed. Every
 * rejection is the same 401 body, so a caller learns nothing about why.
 */
describe('authentication', () => {
  let t: TestHost;
  let issuerKey: { kid: string; privateJwk: JWK; publicJwk: JWK };
  const NI = 'JG103759A';
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  function goodClaims(): JWTPayload {
    return {
      iss: t.settings.AUTH_ISSUER,
      aud: t.settings.AUTH_AUDIENCE,
      azp: clientIdOf('kettering-borough-council'),
      roles: ['housing-officer'],
      sub: clientIdOf('kettering-borough-council'),
      jti: randomUUID(),
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
    };
  }

  /** A token from the configured issuer's own key, with the claims and header given. */
  async function signed(claims: JWTPayload = goodClaims(), header: Record<string, unknown> = {}): Promise<string> {
    const key = await importJWK(issuerKey.privateJwk, 'ES256');
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: issuerKey.kid, typ: 'JWT', ...header })
      .sign(key);
  }

  async function search(authorization: string | undefined) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-purpose': 'housing-allocation' };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await fetch(`${t.url}/api/v1/people/search`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ niNumber: NI }),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  beforeAll(async () => {
    t = await startTestHost();
    issuerKey = JSON.parse(readFileSync(t.settings.DEV_ISSUER_KEY_PATH, 'utf8')) as typeof issuerKey;
    await insertRecord(t.host.services, {
      partyId: 'kettering-borough-council',
      datasetId: 'keyways-housing-register',
      givenName: 'Aisha',
      familyName: "O'Connor",
      dateOfBirth: '1990-04-12',
      identifiers: { ni: 'JG103759' },
      attributes: { firstName: 'Aisha', lastName: "O'Connor", dateOfBirth: '1990-04-12', address: '1 High Street' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe('accepts', () => {
    it.each<[string, () => Promise<string>]>([
      ['a token from the development issuer', () => t.token('kettering-borough-council', ['housing-officer'])],
      ['a token built here with the issuer key (the control for every rejection below)', () => signed()],
      [
        'a v1 token naming the client in appid',
        async () => {
          const { azp, ...claims } = goodClaims();
          return signed({ ...claims, appid: azp, ver: '1.0' });
        },
      ],
      ['a token expired within the clock skew', () => signed({ ...goodClaims(), exp: nowSeconds() - 10 })],
      [
        "an application's own token, whose oid and sub are the same",
        () => {
          const id = randomUUID();
          return signed({ ...goodClaims(), oid: id, sub: id, idtyp: 'app' });
        },
      ],
      [
        'a token valid from a moment ahead, within the clock skew',
        () => signed({ ...goodClaims(), nbf: nowSeconds() + 10 }),
      ],
      ['an RFC 9068 access token (typ at+jwt)', () => signed(goodClaims(), { typ: 'at+jwt' })],
      ['a token with no typ (RFC 7519 makes it optional)', () => signed(goodClaims(), { typ: undefined })],
    ])('%s', async (_name, make) => {
      const res = await search(`Bearer ${await make()}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('Aisha');
    });
  });

  describe('refuses with one indistinguishable 401', () => {
    const rejections: [string, () => Promise<string | undefined>][] = [
      ['no Authorization header', async () => undefined],
      ['an empty Authorization header', async () => ''],
      ['a Basic credential', async () => `Basic ${Buffer.from('kettering:password').toString('base64')}`],
      ['the scheme without a token', async () => 'Bearer'],
      ['a token that is not a JWT', async () => 'Bearer not-a-jwt'],
      ['a token with characters outside base64url', async () => `Bearer ${(await signed()).replace('.', '.$')}`],
      ['two tokens', async () => `Bearer ${await signed()} ${await signed()}`],
      ['alg none', async () => `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(goodClaims())}.`],
      [
        'alg none with a kid the JWKS holds',
        async () => `Bearer ${b64url({ alg: 'none', kid: issuerKey.kid })}.${b64url(goodClaims())}.`,
      ],
      [
        'HS256 signed with a secret',
        async () => {
          const secret = new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs256');
          return `Bearer ${await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'HS256', kid: issuerKey.kid }).sign(secret)}`;
        },
      ],
      [
        'HS256 signed with the public JWK text as the secret (key confusion)',
        async () => {
          const jwks = (await (await fetch(t.settings.AUTH_JWKS_URI)).json()) as { keys: JWK[] };
          const published = jwks.keys.find((k) => k.kid === issuerKey.kid)!;
          const secret = new TextEncoder().encode(JSON.stringify(published));
          return `Bearer ${await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'HS256', kid: issuerKey.kid }).sign(secret)}`;
        },
      ],
      [
        'a kid the JWKS does not hold',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          return `Bearer ${await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'ES256', kid: randomUUID() }).sign(privateKey)}`;
        },
      ],
      [
        'a foreign key presenting the known kid',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          return `Bearer ${await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'ES256', kid: issuerKey.kid }).sign(privateKey)}`;
        },
      ],
      [
        'a foreign RSA key presenting the known kid',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return `Bearer ${await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'RS256', kid: issuerKey.kid }).sign(privateKey)}`;
        },
      ],
      [
        'a payload altered after signing',
        async () => {
          const [header, , signature] = (await signed()).split('.');
          return `Bearer ${header}.${b64url({ ...goodClaims(), roles: ['senior-officer'] })}.${signature}`;
        },
      ],
      ['a wrong audience', async () => `Bearer ${await signed({ ...goodClaims(), aud: 'api://some-other-api' })}`],
      [
        'no audience',
        async () => {
          const { aud: _aud, ...claims } = goodClaims();
          return `Bearer ${await signed(claims)}`;
        },
      ],
      [
        'a wrong issuer, signed with the right key',
        async () =>
          `Bearer ${await signed({ ...goodClaims(), iss: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0' })}`,
      ],
      [
        'a token from another issuer',
        async () => {
          const other = await developmentIssuer(
            join(mkdtempSync(join(tmpdir(), 'lintel-other-issuer-')), 'key.json'),
            'http://127.0.0.1:1/dev-issuer',
          );
          return `Bearer ${await other.mint({ clientId: clientIdOf('kettering-borough-council'), roles: ['housing-officer'], audience: t.settings.AUTH_AUDIENCE })}`;
        },
      ],
      [
        'an expired token',
        async () => `Bearer ${await signed({ ...goodClaims(), iat: nowSeconds() - 3600, exp: nowSeconds() - 300 })}`,
      ],
      [
        'a token not valid for five minutes yet',
        async () => `Bearer ${await signed({ ...goodClaims(), nbf: nowSeconds() + 300 })}`,
      ],
      [
        'a token issued a year from now (beyond the clock skew)',
        async () =>
          `Bearer ${await signed({ ...goodClaims(), iat: nowSeconds() + 365 * 86400, exp: nowSeconds() + 366 * 86400 })}`,
      ],
      [
        'a token meant to last ten years',
        async () => `Bearer ${await signed({ ...goodClaims(), exp: nowSeconds() + 10 * 365 * 86400 })}`,
      ],
      [
        'a token issued more than a day ago, still unexpired',
        async () =>
          `Bearer ${await signed({ ...goodClaims(), iat: nowSeconds() - 25 * 3600, exp: nowSeconds() + 600 })}`,
      ],
      [
        'a token with no issued-at',
        async () => {
          const { iat: _iat, ...claims } = goodClaims();
          return `Bearer ${await signed(claims)}`;
        },
      ],
      [
        'a token with no expiry',
        async () => {
          const { exp: _exp, ...claims } = goodClaims();
          return `Bearer ${await signed(claims)}`;
        },
      ],
      [
        "a user's delegated token obtained through the partner's client (scp, idtyp user)",
        async () =>
          `Bearer ${await signed({ ...goodClaims(), scp: 'user_impersonation', idtyp: 'user', oid: randomUUID(), sub: randomUUID() })}`,
      ],
      [
        "a user's token with app roles and no scopes (oid and sub differ)",
        async () => `Bearer ${await signed({ ...goodClaims(), oid: randomUUID(), sub: randomUUID() })}`,
      ],
      [
        'a delegated v1 token (scp, no idtyp)',
        async () => {
          const { azp, ...claims } = goodClaims();
          return `Bearer ${await signed({ ...claims, appid: azp, ver: '1.0', scp: 'user_impersonation' })}`;
        },
      ],
      [
        'a logout token from the same issuer (typ logout+jwt)',
        async () => `Bearer ${await signed(goodClaims(), { typ: 'logout+jwt' })}`,
      ],
      [
        'a security event token from the same issuer (typ application/secevent+jwt)',
        async () => `Bearer ${await signed(goodClaims(), { typ: 'application/secevent+jwt' })}`,
      ],
      [
        'a token naming no client',
        async () => {
          const { azp: _azp, ...claims } = goodClaims();
          return `Bearer ${await signed(claims)}`;
        },
      ],
    ];

    // No credentials, or another scheme's: RFC 6750 s.3.1 has the challenge name no error then.
    // Every token presented, whatever was wrong with it, is answered the same invalid_token.
    const NO_TOKEN = new Set([
      'no Authorization header',
      'an empty Authorization header',
      'a Basic credential',
      'the scheme without a token',
    ]);
    const bodies = new Map<string, string>();

    it.each(rejections)('%s', async (name, make) => {
      const res = await search(await make());
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate')).toBe(NO_TOKEN.has(name) ? 'Bearer' : 'Bearer error="invalid_token"');
      expect(JSON.parse(res.text)).toMatchObject({ type: 'urn:lintel:problem:unauthenticated', status: 401 });
      expect(res.text).not.toContain('Aisha');
      bodies.set(name, res.text);
    });

    it('says the same thing whatever was wrong', () => {
      expect(bodies.size).toBe(rejections.length);
      expect(new Set(bodies.values()).size).toBe(1);
      // Fixed text only: nothing about expiry, audience, key id, algorithm or signature.
      expect(JSON.parse([...bodies.values()][0]!)).toEqual({
        type: 'urn:lintel:problem:unauthenticated',
        title: 'Authentication required',
        status: 401,
        detail: 'A valid bearer token from the configured issuer is required.',
      });
    });

    it('logs each refusal once, as unauthenticated, with no token material', async () => {
      const count = () => t.accessLogSize();
      const before = await count();
      const token = await signed({ ...goodClaims(), aud: 'api://some-other-api' });
      await search(`Bearer ${token}`);
      expect(await count()).toBe(before + 1);
      const entry = await t.host.services.store.db
        .selectFrom('access_log')
        .selectAll()
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      expect(entry).toMatchObject({
        party_id: 'unauthenticated',
        decision: 'deny',
        reason_code: 'unauthenticated',
        subject_ref: null,
      });
      expect(JSON.stringify(entry)).not.toContain(token.split('.')[1]!.slice(0, 20));
    });
  });

  // RFC 6750 §2.3's access_token: a URL is kept by the platform's request telemetry and any proxy
  // on the way, so a token there is refused even beside a good Authorization header, or a
  // partner's client sending both would go on leaking its tokens unnoticed.
  it.each([
    ['with a good token in the Authorization header too', true],
    ['alone', false],
  ])(
    'refuses a token sent in the URL (access_token) %s: 400, logged once, nothing released',
    async (_name, withHeader) => {
      const token = await signed();
      const before = await t.accessLogSize();
      const res = await fetch(`${t.url}/api/v1/people/search?access_token=${token}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-purpose': 'housing-allocation',
          ...(withHeader ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ niNumber: NI }),
      });
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(JSON.parse(text)).toEqual({
        type: 'urn:lintel:problem:invalid-request',
        title: 'Bad request',
        status: 400,
        detail: 'A bearer token is taken from the Authorization header only, never from the URL (access_token).',
      });
      expect(text).not.toContain('Aisha');
      expect(await t.accessLogSize()).toBe(before + 1);
      const entry = await t.host.services.store.db
        .selectFrom('access_log')
        .selectAll()
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      expect(entry).toMatchObject({ party_id: 'unauthenticated', decision: 'deny', reason_code: 'invalid-request' });
      expect(JSON.stringify(entry)).not.toContain(token.split('.')[1]!.slice(0, 20));
    },
  );

  it.each([
    ['answers nothing', async () => `http://127.0.0.1:${await freePort()}/dev-issuer/jwks.json`],
    ['answers 404 instead of a key set', async () => `${t.url}/api/no-such-route`],
  ])("answers 503, not 401, when the issuer's key endpoint %s, and logs it once", async (_name, jwksUri) => {
    // A good token cannot be checked either way.
    const unreachable = await startTestHost({ AUTH_JWKS_URI: await jwksUri() });
    try {
      const token = await unreachable.token('kettering-borough-council', ['housing-officer']);
      const before = await unreachable.accessLogSize();
      const res = await fetch(`${unreachable.url}/api/v1/people/search`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-purpose': 'housing-allocation',
        },
        body: JSON.stringify({ niNumber: NI }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(await res.json()).toMatchObject({ type: 'urn:lintel:problem:authentication-unavailable' });
      expect(await unreachable.accessLogSize()).toBe(before + 1);
    } finally {
      await unreachable.stop();
    }
  });
});
