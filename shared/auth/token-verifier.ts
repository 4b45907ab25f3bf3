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

export type AuthenticationFailure = 'token-missing' | 'token-invalid' | 'token-expired' | 'key-unknown' | 'jwks-unavailable';

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
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export class TokenVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly options: TokenVerifierOptions) {
    this.keys =
      options.keys ??
      createRemoteJWKSet(new URL(options.jwksUri), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
  }

  async verify(authorization: string | null | undefined): Promise<AuthenticationResult> {
    const match = /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(authorization ?? '');
    if (!match) return { ok: false, reason: 'token-missing' };
    try {
      const { payload } = await jwtVerify(match[1]!, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: this.options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp'],
      });
      const clientId = typeof payload.azp === 'string' ? payload.azp : typeof payload.appid === 'string' ? payload.appid : undefined;
      if (!clientId) return { ok: false, reason: 'token-invalid' };
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
      const tokenId = typeof payload.jti === 'string' ? payload.jti : typeof payload.uti === 'string' ? payload.uti : undefined;
      return { ok: true, caller: { clientId, roles, tokenId } };
    } catch (err) {
      return { ok: false, reason: failureOf(err) };
    }
  }
}

function failureOf(err: unknown): AuthenticationFailure {
  if (err instanceof errors.JWTExpired) return 'token-expired';
  if (err instanceof errors.JWKSNoMatchingKey) return 'key-unknown';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'jwks-unavailable';
  return 'token-invalid';
}
