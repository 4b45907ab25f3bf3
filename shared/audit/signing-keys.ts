import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  SECRET_VERSION_ID,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretSource,
} from '../secrets/secret-source.js';
import { verifyCheckpointSignature, type Checkpoint } from './checkpoint.js';

const SECRET = 'audit-signing-key';

/** The checkpoint signing key now in force, with the key id checkpoints carry: `audit-signing-key/<version>`. */
export async function currentSigningKey(secrets: SecretSource): Promise<{ keyId: string; privateKey: KeyObject }> {
  const secret = await secrets.get(SECRET);
  return { keyId: `${SECRET}/${secret.version}`, privateKey: createPrivateKey(secret.value) };
}

/** Public keys for the key ids named by checkpoints, so old checkpoints verify after a rotation. */
export async function publicKeysFor(secrets: SecretSource, keyIds: Iterable<string>): Promise<Map<string, KeyObject>> {
  return (await logKeysFor(secrets, keyIds)).keys;
}

/**
 * {@link publicKeysFor}, with the key ids that name a version of the signing key that is gone
 * (deleted or disabled, as a rotation may leave the old ones): their checkpoints are unverifiable,
 * which is not what a line signed by another key is (verify-log.ts, checkpoint-unverifiable).
 * Key Vault answers a version never made in the same way, so `gone` holds made-up versions too:
 * the callers keep only those the store records anchoring under (anchored-checkpoints.ts).
 */
export async function logKeysFor(
  secrets: SecretSource,
  keyIds: Iterable<string>,
): Promise<{ keys: Map<string, KeyObject>; gone: Set<string> }> {
  const keys = new Map<string, KeyObject>();
  const gone = new Set<string>();
  for (const keyId of new Set(keyIds)) {
    const [name, version, ...rest] = keyId.split('/');
    // Key Vault's (and the local file's) version ids are letters and digits. Anything else is not
    // a version of ours, and not asked for: Key Vault may refuse it as a bad request, a failure
    // that would otherwise stop every verification for one appended line.
    if (name !== SECRET || version === undefined || !SECRET_VERSION_ID.test(version) || rest.length > 0) continue;
    try {
      const secret = await secrets.get(SECRET, version);
      keys.set(keyId, createPublicKey(createPrivateKey(secret.value)));
    } catch (err) {
      // A version that is not there (deleted, disabled, never made) vouches for nothing: its
      // checkpoints are reported unverifiable. One that could not be read this time (throttled, a
      // network fault) says nothing about them, and read as gone it made verify report every
      // checkpoint it signed as forged (found by a review): the caller fails, to be run again.
      if (err instanceof SecretUnavailableError && !(err instanceof SecretVersionGoneError)) throw err;
      gone.add(keyId);
    }
  }
  return { keys, gone };
}

/**
 * Whether a checkpoint is signed by one of the log's own keys (any version of the signing key):
 * each key fetched once however many checkpoints name it. What the checkpointer extends and what
 * proofs stand on; a line signed otherwise is only verify's to report.
 */
export function signedByLogKey(secrets: SecretSource): (checkpoint: Checkpoint) => Promise<boolean> {
  return logKeyCheck(secrets).signed;
}

/**
 * {@link signedByLogKey}, and whether a key id it has been asked about names a version of the
 * signing key that is gone: so that the checkpointer can say a disabled version's checkpoints
 * once, counted, rather than each as a line the log's keys did not sign.
 */
export function logKeyCheck(secrets: SecretSource): {
  signed: (checkpoint: Checkpoint) => Promise<boolean>;
  keyGone: (keyId: string) => boolean;
} {
  const keys = new Map<string, Promise<KeyObject | undefined>>();
  const gone = new Set<string>();
  const signed = async (checkpoint: Checkpoint) => {
    let key = keys.get(checkpoint.keyId);
    if (key === undefined) {
      key = logKeysFor(secrets, [checkpoint.keyId]).then((found) => {
        if (found.gone.has(checkpoint.keyId)) gone.add(checkpoint.keyId);
        return found.keys.get(checkpoint.keyId);
      });
      keys.set(checkpoint.keyId, key);
    }
    const publicKey = await key;
    return publicKey !== undefined && verifyCheckpointSignature(checkpoint, publicKey);
  };
  return { signed, keyGone: (keyId) => gone.has(keyId) };
}

/** The checkpoints signed by one of the log's own keys, in their order. */
export async function checkpointsSignedByLogKeys(
  secrets: SecretSource,
  checkpoints: readonly Checkpoint[],
): Promise<Checkpoint[]> {
  const signed = signedByLogKey(secrets);
  const kept: Checkpoint[] = [];
  for (const checkpoint of checkpoints) if (await signed(checkpoint)) kept.push(checkpoint);
  return kept;
}
