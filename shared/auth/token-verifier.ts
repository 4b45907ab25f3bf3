import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  jwksCache,
  jwtVerify,
  type ExportedJWKSCache,
  type JWTVerifyGetKey,
} from 'jose';

/** Who called, as the bearer token says. The party is resolved from `clientId` by configuration. */
export interface TokenCaller {
  /** Entra ID client id of the calling application (`azp` in v2 tokens, `appid` in v1). */
  clientId: string;
  /** App roles granted to that application (`roles` claim). */
  roles: string[];
  /** Token id (`jti`/`uti`), for the access log; never the user's name. */
  tokenId: string | undefined;
}

export type AuthenticationFailure =
  'token-missing' | 'token-invalid' | 'token-expired' | 'token-delegated' | 'key-unknown' | 'jwks-unavailable';

export type AuthenticationResult = { ok: true; caller: TokenCaller } | { ok: false; reason: AuthenticationFailure };

export interface TokenVerifierOptions {
  jwksUri: string;
  issuer: string;
  audience: string;
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockToleranceSeconds?: number;
  /** For tests: a key resolver other than the remote JWKS. */
  keys?: JWTVerifyGetKey;
}

/** The longest an Entra ID access token lives (continuous access evaluation's day), and the oldest one taken. */
const MAX_TOKEN_SECONDS = 24 * 3600;

/**
 * Asymmetric algorithms only: `none` and the HMAC family are refused outright, so a token signed
 * with a public key used as an HMAC secret (the classic confusion attack) cannot pass.
 */
export const ACCEPTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Verified tokens are remembered for at most this long (and never past their `exp`). */
const VERIFIED_CACHE_MS = 5 * 60_000;
const VERIFIED_CACHE_MAX = 10_000;

/** The issuer's key set is fetched again after this long (jose's cache age). */
const KEYS_MAX_AGE_MS = 10 * 60_000;
/**
 * How long the last key set fetched may stand in while the issuer's key endpoint fails. Entra ID
 * lists a signing key in its key set before it signs with it, so a set a day old holds the keys
 * in use but after an emergency rollover; a token signed with a key the set lacks is refused as
 * unknown (401), never trusted.
 */
const LAST_GOOD_KEYS_MS = 24 * 60 * 60_000;
/** After a failed fetch, requests use the last good key set this long before the endpoint is tried again. */
const KEYS_RETRY_AFTER_MS = 30_000;

export class TokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  /**
   * A client-credentials token is reused for its lifetime (about an hour), so most requests carry
   * a token already verified: remembering the outcome saves a signature check per request.
   * Only successes are cached, keyed by the full token text.
   */
  private readonly verified = new Map<string, { caller: TokenCaller; until: number }>();
  constructor(private readonly options: TokenVerifierOptions) {
    this.keys = options.keys ?? this.remoteKeys(new URL(options.jwksUri));
  }

  /**
   * The issuer's key set, fetched when stale; while the endpoint fails, the last set fetched (up
   * to {@link LAST_GOOD_KEYS_MS} old) stands in, so a blip at the issuer does not turn every new
   * token away, and requests do not each wait for a fetch that is failing.
   *
   * Only a failure to get the issuer's keys is an outage (503): the endpoint unreachable, or
   * answering anything but a key set (jose: "Expected 200 OK", a body that is not JSON), or a key
   * set without a key a token could be verified with ({@link hasSigningKey}). That no key fits the
   * token is the token's fault, as is anything jose finds before asking for keys.
   */
  private remoteKeys(url: URL): JWTVerifyGetKey {
    const lastGood: Partial<ExportedJWKSCache> = {};
    const remote = createRemoteJWKSet(url, {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
      cacheMaxAge: KEYS_MAX_AGE_MS,
      // jose records each key set it fetches, and when, in this object.
      [jwksCache]: lastGood as ExportedJWKSCache,
      // jose takes any 200 with a `keys` array as the issuer's keys, `{"keys":[]}` included: that
      // set replaced the last good one (and was recorded as it), and every token, however well
      // signed, was refused as key-unknown (401) until the next fetch. Refused here, such an
      // answer fails the fetch, and the last good set stands in as for any other failure.
      [customFetch]: async (input, init) => {
        const response = await fetch(input, init);
        if (response.status !== 200) return response;
        // A body that is not JSON is left to jose, which says so.
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => undefined);
        if (body !== undefined && !hasSigningKey(body)) throw new UnusableKeySetError();
        return response;
      },
    });
    let retryAt = 0;
    const fallback: JWTVerifyGetKey = (header, token) => {
      const { jwks, uat } = lastGood;
      if (jwks === undefined || uat === undefined || Date.now() - uat > LAST_GOOD_KEYS_MS) {
        throw new KeysUnavailableError();
      }
      return createLocalJWKSet(jwks)(header, token);
    };
    return async (header, token) => {
      if (Date.now() < retryAt) return fallback(header, token);
      try {
        return await remote(header, token);
      } catch (err) {
        if (
          err instanceof errors.JWKSNoMatchingKey ||
          err instanceof errors.JWKSMultipleMatchingKeys ||
          err instanceof errors.JOSENotSupported
        )
          throw err;
        retryAt = Date.now() + KEYS_RETRY_AFTER_MS;
        return fallback(header, token);
      }
    };
  }

  async verify(authorization: string | null | undefined): Promise<AuthenticationResult> {
    const match = /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'token-missing' };
    const now = Date.now();
    const cached = this.verified.get(match[1]!);
    if (cached && cached.until > now) return { ok: true, caller: cached.caller };
    try {
      const { payload, protectedHeader } = await jwtVerify(match[1]!, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: this.options.clockToleranceSeconds ?? 60,
        // Entra ID access tokens live an hour or so (a day at most, with continuous access
        // evaluation) and always carry iat: one issued in the future, or meant to last longer
        // than a day, is not one of them, whoever signed it.
        maxTokenAge: MAX_TOKEN_SECONDS,
        // The verifier's one clock, as its cache of verified tokens reads it.
        currentDate: new Date(now),
        requiredClaims: ['exp', 'iat'],
      });
      if (!isAccessTokenType(protectedHeader.typ)) return { ok: false, reason: 'token-invalid' };
      if (
        typeof payload.iat === 'number' &&
        typeof payload.exp === 'number' &&
        payload.exp - payload.iat > MAX_TOKEN_SECONDS
      ) {
        return { ok: false, reason: 'token-invalid' };
      }
      // Partners call as applications (client credentials). A token a user obtained through a
      // partner's client application (delegated: it has scopes, says it is a user's, or names a
      // user — Entra ID gives an application's own token the same oid and sub, a user's token a
      // sub of its own) names the same client and roles, and would otherwise pass as the partner.
      const namesUser = typeof payload.oid === 'string' && payload.sub !== undefined && payload.oid !== payload.sub;
      if (payload.scp !== undefined || (payload.idtyp !== undefined && payload.idtyp !== 'app') || namesUser) {
        return { ok: false, reason: 'token-delegated' };
      }
      const clientId =
        typeof payload.azp === 'string' ? payload.azp : typeof payload.appid === 'string' ? payload.appid : undefined;
      if (!clientId) return { ok: false, reason: 'token-invalid' };
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
      const tokenId =
        typeof payload.jti === 'string' ? payload.jti : typeof payload.uti === 'string' ? payload.uti : undefined;
      const caller = { clientId, roles, tokenId };
      if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear();
      this.verified.set(match[1]!, { caller, until: Math.min(now + VERIFIED_CACHE_MS, (payload.exp ?? 0) * 1000) });
      return { ok: true, caller };
    } catch (err) {
      return { ok: false, reason: failureOf(err) };
    }
  }
}

/**
 * Entra ID access tokens say `typ: JWT`; RFC 9068 access tokens say `at+jwt`. An issuer that
 * signs other kinds of JWT with the same keys types them (RFC 8725 §3.11: a logout token, a
 * security event, a DPoP proof), and one of those is no access token whatever its claims say. A
 * token with no `typ` is taken, as RFC 7519 makes it optional.
 */
function isAccessTokenType(typ: string | undefined): boolean {
  if (typ === undefined) return true;
  const type = typ.toLowerCase().replace(/^application\//, '');
  return type === 'jwt' || type === 'at+jwt';
}

/**
 * Whether a key set's answer holds a key a token could be verified with: an asymmetric key (RSA,
 * EC, OKP), not marked for encryption only (`use`), of an algorithm we accept if it names one.
 * Entra ID's keys are RSA, `use: sig`, mostly without `alg`.
 */
function hasSigningKey(body: unknown): boolean {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return true; // not a key set at all: jose refuses it (JWKSInvalid)
  return keys.some((key: unknown) => {
    if (key === null || typeof key !== 'object') return false;
    const { kty, use, alg } = key as { kty?: unknown; use?: unknown; alg?: unknown };
    return (
      (kty === 'RSA' || kty === 'EC' || kty === 'OKP') &&
      (use === undefined || use === 'sig') &&
      (alg === undefined || (typeof alg === 'string' && ACCEPTED_ALGORITHMS.includes(alg)))
    );
  });
}

/** The issuer's key endpoint answered 200 with a key set holding no key to verify a token with. */
class UnusableKeySetError extends Error {
  constructor() {
    super('The issuer key set holds no signing key');
    this.name = 'UnusableKeySetError';
  }
}

/** The issuer's keys could not be fetched (fetch's TypeError when the JWKS endpoint is unreachable). */
class KeysUnavailableError extends Error {
  constructor() {
    super('The issuer signing keys could not be fetched');
    this.name = 'KeysUnavailableError';
  }
}

function failureOf(err: unknown): AuthenticationFailure {
  if (err instanceof errors.JWTExpired) return 'token-expired';
  if (err instanceof errors.JWKSNoMatchingKey) return 'key-unknown';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'jwks-unavailable';
  if (err instanceof KeysUnavailableError) return 'jwks-unavailable';
  return 'token-invalid';
}
