/**
 * The secrets port. Nothing outside `shared/secrets/` reads a key, a password or a signing
 * secret any other way, so production has one door to audit: Key Vault.
 */
export interface SecretValue {
  readonly name: SecretName;
  readonly value: string;
  /** Key Vault's version id (or the local file's), recorded beside whatever the secret produced. */
  readonly version: string;
}

export interface SecretSource {
  /** The pinned or current version, or an exact older one (to verify data made with it). */
  get(name: SecretName, version?: string): Promise<SecretValue>;
}

/** The secrets lintel uses. Key Vault secret names allow only letters, digits and dashes. */
export const SECRET_NAMES = ['pseudonymisation-key', 'audit-signing-key', 'person-ref-key'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** A version id as Key Vault (and the local key file) makes them: letters and digits. */
export const SECRET_VERSION_ID = /^[0-9A-Za-z]{1,64}$/;

/**
 * The secret could not be read this time (network, throttling, a Key Vault fault): asking again
 * later may well succeed, so nothing may be concluded from it about what the secret protects.
 */
export class SecretUnavailableError extends Error {
  constructor(
    readonly secretName: SecretName,
    options?: ErrorOptions,
  ) {
    super(`Secret ${secretName} is unavailable`, options);
    this.name = 'SecretUnavailableError';
  }
}

/**
 * Key Vault refused this identity the secret (401, or a 403 other than a disabled version: its
 * role taken away, its network shut out). Not a statement about the version, so not gone; but an
 * operator's doing, not a passing fault: a version read before is not used on
 * (cached-secret-source.ts), as it would be through an outage.
 */
export class SecretAccessRefusedError extends SecretUnavailableError {
  constructor(secretName: SecretName, options?: ErrorOptions) {
    super(secretName, options);
    this.name = 'SecretAccessRefusedError';
  }
}

/**
 * The secret, or the version asked for, is not there to be read — deleted, never made, or
 * disabled — and asking again will not change that until an operator does. Only this lets a
 * caller act on a version being gone (an import then carries no person ids over a rotation);
 * every other failure is a {@link SecretUnavailableError} to retry.
 */
export class SecretVersionGoneError extends SecretUnavailableError {
  /**
   * `version`: the version asked for (pinned, or one data was made under); none for the current
   * one. Named in the message, so the operator knows which to restore, pin or re-enable: a
   * version id is no secret, and one not shaped as an id is not quoted.
   */
  constructor(
    secretName: SecretName,
    readonly version?: string,
    options?: ErrorOptions,
  ) {
    super(secretName, options);
    this.message =
      version === undefined
        ? `Secret ${secretName} has no current version to read: it does not exist, or its latest version is disabled`
        : `Secret ${secretName} ${SECRET_VERSION_ID.test(version) ? `version ${version}` : 'at the version asked for'} does not exist or is disabled`;
    this.name = 'SecretVersionGoneError';
  }
}

/**
 * Key Vault holds the version, but not in the shape lintel makes that secret (a short HMAC key, a
 * signing key that is not Ed25519): made by hand at a rotation. Not one to retry, and not gone:
 * the operator sets a new version in the right shape. Names the secret and version, never the value.
 */
export class SecretMalformedError extends Error {
  constructor(
    readonly secretName: SecretName,
    readonly version: string,
  ) {
    super(
      `Secret ${secretName} ${SECRET_VERSION_ID.test(version) ? `version ${version}` : 'at the version read'} is not in its shape (infra/README.md, step 1)`,
    );
    this.name = 'SecretMalformedError';
  }
}
