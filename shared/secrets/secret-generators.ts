import { generateKeyPairSync, randomBytes } from 'node:crypto';
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
