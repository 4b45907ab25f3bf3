import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { SecretName } from './secret-source.js';

/**
 * How each secret is made when a development machine has none yet. In production the operator
 * creates them in Key Vault (see infra/), with the same shapes.
 */
export const SECRET_GENERATORS: Record<SecretName, () => string> = {
  /** 256-bit HMAC key for matching-only identifiers. */
  'pseudonymisation-key': () => randomBytes(32).toString('base64'),
  /** 256-bit HMAC key that derives per-party person references. */
  'person-ref-key': () => randomBytes(32).toString('base64'),
  /** Ed25519 private key (PKCS#8 PEM) that signs access-log checkpoints. */
  'audit-signing-key': () =>
    generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
};

/** The fewest bytes an HMAC key may hold: the SHA-256 output, its design strength. */
const HMAC_KEY_BYTES = 32;

/**
 * Whether `value` has the shape {@link SECRET_GENERATORS} gives `name`: an HMAC key of at least
 * 32 bytes in base64, or an Ed25519 private key in PEM.
 */
export function hasSecretShape(name: SecretName, value: string): boolean {
  // Whitespace aside, as Buffer reads it: `openssl rand -base64 64` wraps its line at 64 characters.
  if (name !== 'audit-signing-key')
    return (
      /^[A-Za-z0-9+/_-]+={0,2}$/.test(value.replace(/\s/g, '')) && Buffer.from(value, 'base64').length >= HMAC_KEY_BYTES
    );
  try {
    return createPrivateKey(value).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}
