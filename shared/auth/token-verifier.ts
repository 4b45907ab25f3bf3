import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

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
  'token-missing' | 'token-invalid' | 'token-expired' | 'key-unknown' | 'jwks-unavailable';

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

export class TokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  /**
   * A client-credentials token is reused for its lifetime (about an hour), so most requests carry
   * a token already verified: remembering the outcome saves a signature check per request.
   * Only successes are cached, keyed by the full token text.
   */
  private readonly verified = new Map<string, { caller: TokenCaller; until: number }>();

  constructor(private readonly options: TokenVerifierOptions) {
    const keys =
      options.keys ??
      createRemoteJWKSet(new URL(options.jwksUri), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
    // Only a failure to get the issuer's keys is an outage (503): the endpoint unreachable, or
    // answering anything but a key set (jose: "Expected 200 OK", a body that is not JSON). That no
    // key fits the token is the token's fault, as is anything jose finds before asking for keys.
    this.keys = async (header, token) => {
      try {
        return await keys(header, token);
      } catch (err) {
        if (
          err instanceof errors.JWKSNoMatchingKey ||
          err instanceof errors.JWKSMultipleMatchingKeys ||
          err instanceof errors.JOSENotSupported
        )
          throw err;
        throw new KeysUnavailableError();
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
      const { payload } = await jwtVerify(match[1]!, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: this.options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp'],
      });
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
