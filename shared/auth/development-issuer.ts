import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { makeFolder } from '../make-folder.js';

/**
 * A token issuer for development and tests only: an ES256 key pair kept under `.lintel/`,
 * published as a JWKS by the local host. Production refuses its issuer (see config.ts), so a
 * token minted here can never open a deployed lintel.
 */
export const DEVELOPMENT_ISSUER_PATH = '/dev-issuer';

export interface DevelopmentIssuer {
  issuer: string;
  jwks: { keys: JWK[] };
  mint(claims: {
    clientId: string;
    roles: string[];
    audience: string;
    expiresInSeconds?: number;
    notBefore?: number;
  }): Promise<string>;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function loadOrCreateKey(path: string): Promise<StoredKey> {
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as StoredKey;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const stored: StoredKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
  };
  makeFolder(dirname(path));
  writeFileSync(path, JSON.stringify(stored), { mode: 0o600 });
  return stored;
}

export async function developmentIssuer(keyPath: string, issuer: string): Promise<DevelopmentIssuer> {
  const stored = await loadOrCreateKey(keyPath);
  const privateKey = await importJWK(stored.privateJwk, 'ES256');
  return {
    issuer,
    jwks: { keys: [stored.publicJwk] },
    mint: ({ clientId, roles, audience, expiresInSeconds = 3600, notBefore }) => {
      const jwt = new SignJWT({ azp: clientId, roles, ver: '2.0' })
        .setProtectedHeader({ alg: 'ES256', kid: stored.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(clientId)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${expiresInSeconds}s`);
      if (notBefore !== undefined) jwt.setNotBefore(notBefore);
      return jwt.sign(privateKey);
    },
  };
}
