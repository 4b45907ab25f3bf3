import { TokenVerifier } from '../auth/token-verifier.js';
import { namesKeyVersions } from '../consents/opt-out-names-key.js';
import { Pseudonymiser } from '../domain/pseudonymise.js';
import { errorKind } from '../logging.js';
import { PersonRefCodec } from '../people/person-ref.js';
import { findPerson, type DateOfBirthCheck, type FindResult, type Visibility } from '../people/find-person.js';
import { identifierUseOf } from '../people/lookup-identifiers.js';
import type { CanonicalQuery } from '../people/person-query.js';
import {
  keptKeyVersionsHeld,
  retiredKeyVersions,
  storedKeyVersions,
  unknownStoredKeyVersion,
} from '../people/stored-key-versions.js';
import { SecretVersionGoneError, type SecretValue } from '../secrets/secret-source.js';
import type { Services } from '../services.js';
import { RateLimiter } from './rate-limiter.js';
import { RefusalTally } from './refusal-tally.js';

/**
 * What the request path needs beyond the adapters: the token verifier, the per-party person
 * reference codec and the pseudonymisers (one per key version present in the store, so
 * identifiers hashed before a key rotation still match; all of them or, with
 * {@link KeyUnavailableError}, none).
 */
export interface ApiContext {
  readonly services: Services;
  readonly verifier: TokenVerifier;
  readonly rateLimiter: RateLimiter;
  /** Calls refused as unauthenticated, per address (client-address.ts). */
  readonly unauthenticatedLimiter: RateLimiter;
  /** The calls without a valid token that limit refused, reported as a count a minute (refusal-tally.ts). */
  readonly unauthenticatedRefusals: RefusalTally;
  /**
   * The calls with a valid token of a client no current agreement names that the same limit
   * refused, reported apart: a flood of those is someone holding a signed token (a test tenant,
   * a former partner's client, a stolen secret), not anyone on the internet making tokens up.
   */
  readonly partyUnknownRefusals: RefusalTally;
  personRefs(): Promise<PersonRefCodec>;
  pseudonymisers(): Promise<Pseudonymiser[]>;
  /**
   * The key versions `query`'s identifiers hash under: {@link pseudonymisers}, checked now
   * against the store's key versions (one statement, stored-key-versions.ts) and loaded afresh
   * when the store holds one they lack. Within the minute the versions are cached, an import
   * under a newly rotated key (on this instance or another) may have written the identifiers of
   * someone the caller's identifiers also name. None for a query that gives no identifier
   * ({@link hashesNothing}): it reads and checks no version. {@link findPerson} checks after
   * every lookup by identifiers; a consent or opt-out recorded by identifiers calls it first,
   * and matches with what it gives: the person found as everyone else it looks for.
   */
  currentPseudonymisers(query: CanonicalQuery): Promise<readonly Pseudonymiser[]>;
  /**
   * The current version of the key alone, for a keyed hash written now that no lookup matches
   * with (an opt-out's names key, consents-api.ts): an older version that cannot be read does not
   * stop it, as it does not stop a lookup by names.
   */
  currentPseudonymiser(): Promise<Pseudonymiser>;
  /**
   * One for each version an opt-out's names key is kept under (opt-out-names-key.ts), for an
   * opt-out by names recorded again and a subject access request by names, which look for one:
   * kept before a rotation, it is met only under its own version. Read when asked, not cached, and
   * none where no names key is kept. A version only records' or identifiers' hashes are under is
   * not read, so one that cannot be read does not stop either, as it does not stop a lookup by
   * names. A names key's version that cannot be read this time fails the request (503); one Key
   * Vault no longer has (crypto-shredded) is left out, as for {@link subjectAccessPseudonymisers}.
   */
  namesKeyPseudonymisers(): Promise<readonly Pseudonymiser[]>;
  /**
   * {@link currentPseudonymisers} and one for each version only the hashes kept after retention or
   * for an opt-out hold, for a subject access request by identifiers, which matches with them as a
   * consent does. Read when asked, not cached: a request is rare, and a version that cannot be read
   * this time fails that request (503), never the lookups. A kept-only version Key Vault no longer
   * has (deleted or disabled) is named in `keyVersionsGone` instead: deleting a version is how
   * hashes are crypto-shredded at the end of their retention, and every request failing until it
   * came back left the DPO unable to answer anyone. The current key, and any version a record
   * holds, still fail the request when gone.
   */
  subjectAccessPseudonymisers(query: CanonicalQuery): Promise<SubjectAccessKeys>;
  /**
   * Find one person (shared/people/find-person.ts) under every key version the store holds. The
   * keys are cached for a minute, but every answer is checked against the store's versions
   * ({@link currentPseudonymisers}) and looked up again under a version it lacks, since an import
   * under a newly rotated key may have written the very identifiers asked for, or those of a
   * second person they name beside the one found. A query giving no identifier hashes nothing,
   * so it reads no key version and cannot fail with {@link KeyUnavailableError}.
   *
   * `checked`: the versions the caller has just had from {@link currentPseudonymisers} or
   * {@link subjectAccessPseudonymisers} for this query, and matches everyone else with. The
   * lookup hashes under those and checks nothing more: the store's versions are checked once a
   * request, and the person found and everyone else the caller matches are found under the same.
   * `dateOfBirthCheck`: which steps' person the caller's date of birth must fit (every step's but
   * its own unless said).
   */
  findPerson(
    query: CanonicalQuery,
    datasets: readonly string[],
    visible?: Visibility,
    checked?: readonly Pseudonymiser[],
    dateOfBirthCheck?: DateOfBirthCheck,
  ): Promise<FindResult>;
  now(): Date;
}

/** What a subject access request matches under, and the kept-only key versions it cannot. */
export interface SubjectAccessKeys {
  readonly pseudonymisers: readonly Pseudonymiser[];
  /** Versions only kept hashes use that Key Vault no longer has, sorted: never compared. */
  readonly keyVersionsGone: readonly string[];
}

const KEY_VERSIONS_TTL_MS = 60_000;

/**
 * Whether a query hashes nothing: names, date of birth and postcode are matched as stored, never
 * hashed, so a query that gives no identifier needs no key version, checks none against the
 * store, and is answered while one cannot be read. The one place that is decided: a consent, a
 * subject access request and a lookup each ask {@link ApiContext.currentPseudonymisers} (or
 * {@link ApiContext.findPerson}) for a query's versions, which give {@link NO_KEYS} for it.
 */
function hashesNothing(query: CanonicalQuery): boolean {
  return query.identifiers.length === 0;
}

/** The key versions of a query that {@link hashesNothing}. */
const NO_KEYS: readonly Pseudonymiser[] = Object.freeze([]);

/**
 * How long a failure to read a pseudonymisation key is answered from memory (and the seconds a
 * 503 asks the caller to wait): long enough that a throttled or failing Key Vault is not asked
 * again by every request, short enough that lookups resume soon after it recovers.
 */
export const KEY_RETRY_AFTER_SECONDS = 5;

/**
 * A key the answer needs could not be read: a pseudonymisation key version the lookups by
 * identifiers hash under, or `person-ref-key` (person references; a confirmation's record
 * fingerprints, link-review-api.ts). No lookup that needs it is answered without it: a search
 * that silently skipped the identifiers hashed under that version would say "no match" (a
 * duplicate check: "no application elsewhere") for everyone hashed under it. The request
 * pipeline answers 503 `key-unavailable`.
 */
export class KeyUnavailableError extends Error {
  /**
   * What the key was needed for, which the 503's detail names (request-pipeline.ts): a view by
   * reference matches no identifiers, and a detail saying it did sent partners and operators
   * after the wrong key.
   */
  readonly neededFor: KeyUse;

  constructor(neededFor: KeyUse, options?: ErrorOptions) {
    super(
      neededFor === 'identifiers'
        ? 'A pseudonymisation key version could not be read'
        : 'The person-reference key could not be read',
      options,
    );
    this.name = 'KeyUnavailableError';
    this.neededFor = neededFor;
  }
}

/**
 * `identifiers`: matching them (pseudonymisation-key); `person-references`: making or reading
 * one; `link-decisions`: a confirmation's record fingerprints (both person-ref-key).
 */
export type KeyUse = 'identifiers' | 'person-references' | 'link-decisions';

export function createApiContext(services: Services): ApiContext {
  const { settings, logger } = services;
  let personRefs: Promise<PersonRefCodec> | undefined;
  let pseudonymisers: { at: number; ttl: number; value: Promise<Pseudonymiser[]> } | undefined;
  /** The kept-only versions the last subject access request found gone, space-separated: warned of once. */
  let keptVersionsLastGone = '';

  const unavailable = (version: string | undefined, err: unknown) => {
    // The version id says which key to restore or re-enable; the key itself is never logged.
    logger.error('api.key-version-unavailable', {
      keyVersion: version ?? 'current',
      gone: err instanceof SecretVersionGoneError,
      error: errorKind(err),
    });
    return new KeyUnavailableError('identifiers', { cause: err });
  };
  /**
   * A version of the pseudonymisation key, the current one where none is named. A `keptOnly`
   * version (one only retired identifiers or kept hashes are under, read for a subject access
   * request) is undefined when Key Vault no longer has it (crypto-shredded: the answer names it
   * gone); any other failure, and a gone version a lookup matches under, is unavailable.
   */
  function readKey(version: string | undefined): Promise<SecretValue>;
  function readKey(version: string, options: { keptOnly: true }): Promise<SecretValue | undefined>;
  async function readKey(version: string | undefined, options?: { keptOnly: true }) {
    try {
      return await services.secrets.get('pseudonymisation-key', version);
    } catch (err) {
      if (options?.keptOnly && err instanceof SecretVersionGoneError) return undefined;
      throw unavailable(version, err);
    }
  }
  const pseudonymiserOf = (secret: SecretValue) =>
    new Pseudonymiser({ keyVersion: secret.version, key: Buffer.from(secret.value, 'base64') });

  const loadPseudonymisers = async (): Promise<Pseudonymiser[]> => {
    const current = await readKey(undefined);
    const result = [pseudonymiserOf(current)];
    for (const version of await storedKeyVersions(services.store)) {
      if (version !== current.version) result.push(pseudonymiserOf(await readKey(version)));
    }
    return result;
  };

  return {
    services,
    verifier: new TokenVerifier({
      jwksUri: settings.AUTH_JWKS_URI,
      issuer: settings.AUTH_ISSUER,
      audience: settings.AUTH_AUDIENCE,
    }),
    rateLimiter: new RateLimiter(settings.RATE_LIMIT_PER_MINUTE),
    unauthenticatedLimiter: new RateLimiter(settings.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE),
    unauthenticatedRefusals: new RefusalTally((refused) =>
      services.logger.warn('auth.unauthenticated-limited', { refused }),
    ),
    partyUnknownRefusals: new RefusalTally((refused) =>
      services.logger.warn('auth.party-unknown-limited', { refused }),
    ),
    personRefs() {
      personRefs ??= services.secrets.get('person-ref-key').then(
        (s) => new PersonRefCodec(Buffer.from(s.value, 'base64')),
        (err: unknown) => {
          // As for the pseudonymisation key: an outage of the vault is a 503 to retry, not a 500.
          logger.error('api.person-ref-key-unavailable', { error: errorKind(err) });
          throw new KeyUnavailableError('person-references', { cause: err });
        },
      );
      personRefs.catch(() => (personRefs = undefined));
      return personRefs;
    },
    pseudonymisers() {
      if (!pseudonymisers || Date.now() - pseudonymisers.at > pseudonymisers.ttl) {
        const loading = { at: Date.now(), ttl: KEY_VERSIONS_TTL_MS, value: loadPseudonymisers() };
        pseudonymisers = loading;
        // A failed load is kept only briefly, and never a partial list: until it is tried again
        // every lookup fails (503), none answers from the keys that could be read.
        loading.value.catch((err: unknown) => {
          if (pseudonymisers !== loading) return;
          if (err instanceof KeyUnavailableError)
            pseudonymisers = { ...loading, at: Date.now(), ttl: KEY_RETRY_AFTER_SECONDS * 1000 };
          else pseudonymisers = undefined;
        });
      }
      return pseudonymisers.value;
    },
    async currentPseudonymisers(query) {
      if (hashesNothing(query)) return NO_KEYS;
      const loading = this.pseudonymisers();
      const cached = pseudonymisers;
      const loaded = await loading;
      const known = loaded.map((p) => p.keyVersion);
      if ((await unknownStoredKeyVersion(services.store, known)) === undefined) return loaded;
      // Loaded afresh once, however many lookups meet the new version at once: a load begun
      // since by one of them read the store's versions after it was committed.
      if (pseudonymisers === cached) pseudonymisers = undefined;
      return this.pseudonymisers();
    },
    async currentPseudonymiser() {
      return pseudonymiserOf(await readKey(undefined));
    },
    async namesKeyPseudonymisers() {
      const versions = await namesKeyVersions(services.store.db);
      const read = await Promise.all(versions.map((version) => readKey(version, { keptOnly: true })));
      return read.flatMap((secret) => (secret === undefined ? [] : [pseudonymiserOf(secret)]));
    },
    async subjectAccessPseudonymisers(query) {
      const loaded = await this.currentPseudonymisers(query);
      // A query that hashes nothing reads no version, a retired one included.
      if (loaded === NO_KEYS) return { pseudonymisers: NO_KEYS, keyVersionsGone: [] };
      const known = new Set(loaded.map((p) => p.keyVersion));
      const held = [...(await retiredKeyVersions(services.store)), ...(await keptKeyVersionsHeld(services.store))];
      const more = [...new Set(held)].filter((version) => !known.has(version));
      const read = await Promise.all(
        more.map(async (version) => ({ version, secret: await readKey(version, { keptOnly: true }) })),
      );
      const keyVersionsGone = read.flatMap(({ version, secret }) => (secret === undefined ? [version] : [])).sort();
      // A warning, not an error: a deleted version is usually a deliberate shredding. Once for
      // the versions found gone, and again when they change: warned on every request, the app
      // log filled with the same line for as long as the shredding stood, and a version newly
      // gone was lost among them. Each answer still says what it did not compare.
      const gone = keyVersionsGone.join(' ');
      if (gone !== keptVersionsLastGone && keyVersionsGone.length > 0)
        logger.warn('api.kept-key-versions-gone', { keyVersions: keyVersionsGone });
      keptVersionsLastGone = gone;
      return {
        pseudonymisers: [
          ...loaded,
          ...read.flatMap(({ secret }) => (secret === undefined ? [] : [pseudonymiserOf(secret)])),
        ],
        keyVersionsGone,
      };
    },
    async findPerson(query, datasets, visible, checked, dateOfBirthCheck) {
      const identifiers = identifierUseOf(services.agreements);
      const lookUp = (keys: readonly Pseudonymiser[]) =>
        findPerson(services.store, keys, query, datasets, identifiers, visible, dateOfBirthCheck);
      if (checked !== undefined) return lookUp(checked);
      // The cached versions, not checked first: a search is the hot path, and nearly always
      // nothing is new.
      const loaded = hashesNothing(query) ? NO_KEYS : await this.pseudonymisers();
      const found = await lookUp(loaded);
      // No answer stands on keys the store has moved past, one an identifier found included: a
      // second person held only under a version imported since may hold the same NI number (a
      // duplicate application) or the system id given beside it (a duplicate check answered "no
      // application elsewhere" for up to a minute after another council's register arrived under
      // a rotated key). Checked after the lookup, so a version committed
      // while it ran is caught too; when nothing is new, as nearly always, that is one statement.
      const current = await this.currentPseudonymisers(query);
      if (current === loaded) return found;
      return lookUp(current);
    },
    now: () => new Date(),
  };
}

const contexts = new WeakMap<Services, ApiContext>();

/** One context per services instance, so caches (JWKS, keys) live as long as the app. */
export function apiContextFor(services: Services): ApiContext {
  let ctx = contexts.get(services);
  if (!ctx) {
    ctx = createApiContext(services);
    contexts.set(services, ctx);
  }
  return ctx;
}
