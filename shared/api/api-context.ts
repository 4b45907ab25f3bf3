import { TokenVerifier } from '../auth/token-verifier.js';
import { Pseudonymiser } from '../domain/pseudonymise.js';
import { PersonRefCodec } from '../people/person-ref.js';
import { storedKeyVersions } from '../people/stored-key-versions.js';
import type { Services } from '../services.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * What the request path needs beyond the adapters: the token verifier, the per-party person
 * reference codec and the pseudonymisers (one per key version present in the store, so
 * identifiers hashed before a key rotation still match).
 */
export interface ApiContext {
  readonly services: Services;
  readonly verifier: TokenVerifier;
  readonly rateLimiter: RateLimiter;
  personRefs(): Promise<PersonRefCodec>;
  pseudonymisers(): Promise<Pseudonymiser[]>;
  now(): Date;
}

const KEY_VERSIONS_TTL_MS = 60_000;

export function createApiContext(services: Services): ApiContext {
  const { settings } = services;
  let personRefs: Promise<PersonRefCodec> | undefined;
  let pseudonymisers: { at: number; value: Promise<Pseudonymiser[]> } | undefined;

  const loadPseudonymisers = async (): Promise<Pseudonymiser[]> => {
    const current = await services.secrets.get('pseudonymisation-key');
    const versions = new Set([current.version, ...(await storedKeyVersions(services.store))]);
    const result: Pseudonymiser[] = [];
    for (const version of versions) {
      const secret =
        version === current.version
          ? current
          : await services.secrets.get('pseudonymisation-key', version).catch(() => undefined);
      if (secret)
        result.push(new Pseudonymiser({ keyVersion: secret.version, key: Buffer.from(secret.value, 'base64') }));
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
    personRefs() {
      personRefs ??= services.secrets
        .get('person-ref-key')
        .then((s) => new PersonRefCodec(Buffer.from(s.value, 'base64')));
      personRefs.catch(() => (personRefs = undefined));
      return personRefs;
    },
    pseudonymisers() {
      if (!pseudonymisers || Date.now() - pseudonymisers.at > KEY_VERSIONS_TTL_MS) {
        const value = loadPseudonymisers();
        pseudonymisers = { at: Date.now(), value };
        value.catch(() => (pseudonymisers = undefined));
      }
      return pseudonymisers.value;
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
