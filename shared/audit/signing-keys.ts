import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { SecretSource } from '../secrets/secret-source.js';

const SECRET = 'audit-signing-key';

/** The checkpoint signing key now in force, with the key id checkpoints carry: `audit-signing-key/<version>`. */
export async function currentSigningKey(secrets: SecretSource): Promise<{ keyId: string; privateKey: KeyObject }> {
  const secret = await secrets.get(SECRET);
  return { keyId: `${SECRET}/${secret.version}`, privateKey: createPrivateKey(secret.value) };
}

/** Public keys for the key ids named by checkpoints, so old checkpoints verify after a rotation. */
export async function publicKeysFor(secrets: SecretSource, keyIds: Iterable<string>): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  for (const keyId of new Set(keyIds)) {
    const [name, version] = keyId.split('/');
    if (name !== SECRET || !version) continue;
    try {
      const secret = await secrets.get(SECRET, version);
      keys.set(keyId, createPublicKey(createPrivateKey(secret.value)));
    } catch {
      // An unknown key id is reported by the checkpoint check as 'unknown-key'.
    }
  }
  return keys;
}
