import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenVerifier } from '../../../shared/auth/token-verifier.js';

/**
 * The issuer's key endpoint, served for real over HTTP, failing when told to: what a partner
 * sees when Entra ID's key endpoint has a blip after lintel has fetched its keys once.
 */
describe('token verification while the issuer key endpoint fails', () => {
  const ISSUER = 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0';
  const AUDIENCE = '11111111-1111-1111-1111-111111111111';
  let server: Server;
  let jwksUri = '';
  let up = true;
  /** What the endpoint answers while up, instead of the key set: an issuer's misconfigured or half-rolled endpoint. */
  let servedInstead: unknown;
  let fetches = 0;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let publicJwk: JWK;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      fetches++;
      if (!up) {
        res.statusCode = 503;
        res.end('down');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(servedInstead ?? { keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    up = true;
    servedInstead = undefined;
    vi.restoreAllMocks();
  });

  const tokenAt = (clientId: string, atMs: number, kid = 'k1') =>
    new SignJWT({ azp: clientId, roles: ['housing-officer'] })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(atMs / 1000))
      .setExpirationTime(Math.floor(atMs / 1000) + 3600)
      .sign(privateKey);
  const at = (ms: number) => vi.spyOn(Date, 'now').mockReturnValue(ms);

  it('keeps accepting good tokens with the keys it last fetched, without asking the failing endpoint each time', async () => {
    const verifier = new TokenVerifier({ jwksUri, issuer: ISSUER, audience: AUDIENCE });
    const start = Date.now();
    expect(await verifier.verify(`Bearer ${await tokenAt('client-a', start)}`)).toMatchObject({ ok: true });
    up = false;
    // Past jose's ten-minute key cache, so the keys are fetched again, and that fetch fails.
    const later = start + 11 * 60_000;
    at(later);
    const before = fetches;
    expect(await verifier.verify(`Bearer ${await tokenAt('client-b', later)}`)).toMatchObject({ ok: true });
    expect(await verifier.verify(`Bearer ${await tokenAt('client-c', later)}`)).toMatchObject({ ok: true });
    expect(fetches - before).toBe(1);
    // A key the last set lacks is still refused as unknown, not trusted.
    expect(await verifier.verify(`Bearer ${await tokenAt('client-d', later, 'k2')}`)).toEqual({
      ok: false,
      reason: 'key-unknown',
    });
  });

  it('stops standing in with keys more than a day old: an outage that long is 503', async () => {
    const verifier = new TokenVerifier({ jwksUri, issuer: ISSUER, audience: AUDIENCE });
    const start = Date.now();
    expect(await verifier.verify(`Bearer ${await tokenAt('client-a', start)}`)).toMatchObject({ ok: true });
    up = false;
    const later = start + 25 * 60 * 60_000;
    at(later);
    expect(await verifier.verify(`Bearer ${await tokenAt('client-b', later)}`)).toEqual({
      ok: false,
      reason: 'jwks-unavailable',
    });
  });

  it('answers 503 when the keys were never fetched', async () => {
    up = false;
    const verifier = new TokenVerifier({ jwksUri, issuer: ISSUER, audience: AUDIENCE });
    expect(await verifier.verify(`Bearer ${await tokenAt('client-a', Date.now())}`)).toEqual({
      ok: false,
      reason: 'jwks-unavailable',
    });
  });

  // A 200 with a key set that holds no key a token could be verified with is no better than a 503:
  // it replaced the last good set, and every token, however well signed, was refused as
  // key-unknown (401) until the next fetch.
  it.each([
    ['an empty key set', { keys: [] }],
    ['a key set of encryption keys only', () => ({ keys: [{ ...publicJwk, kid: 'e1', use: 'enc', alg: 'ECDH-ES' }] })],
    ['a key set of symmetric keys only', { keys: [{ kty: 'oct', kid: 's1', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' }] }],
  ])('takes %s for a failed fetch: the last good keys stand in', async (_what, answer) => {
    const verifier = new TokenVerifier({ jwksUri, issuer: ISSUER, audience: AUDIENCE });
    const start = Date.now();
    expect(await verifier.verify(`Bearer ${await tokenAt('client-a', start)}`)).toMatchObject({ ok: true });
    servedInstead = typeof answer === 'function' ? answer() : answer;
    const later = start + 11 * 60_000;
    at(later);
    const before = fetches;
    expect(await verifier.verify(`Bearer ${await tokenAt('client-b', later)}`)).toMatchObject({ ok: true });
    expect(await verifier.verify(`Bearer ${await tokenAt('client-c', later)}`)).toMatchObject({ ok: true });
    // Failed, so not asked again for each request.
    expect(fetches - before).toBe(1);
  });

  it('answers 503 when the first key set fetched is empty', async () => {
    servedInstead = { keys: [] };
    const verifier = new TokenVerifier({ jwksUri, issuer: ISSUER, audience: AUDIENCE });
    expect(await verifier.verify(`Bearer ${await tokenAt('client-a', Date.now())}`)).toEqual({
      ok: false,
      reason: 'jwks-unavailable',
    });
  });

  it('takes a key set back once it holds a signing key again', async () => {
    servedInstead = { keys: [] };
    const verifier = new TokenVerifier({ jwksUri, issuer: ISSUER, audience: AUDIENCE });
    const start = Date.now();
    expect(await verifier.verify(`Bearer ${await tokenAt('client-a', start)}`)).toMatchObject({ ok: false });
    servedInstead = undefined;
    // Past the wait after a failed fetch.
    const later = start + 31_000;
    at(later);
    expect(await verifier.verify(`Bearer ${await tokenAt('client-b', later)}`)).toMatchObject({ ok: true });
  });
});
