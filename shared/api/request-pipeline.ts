import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { normaliseClientId, resolveCaller } from '../agreements/party-directory.js';
import {
  AccessLogUnavailableError,
  entriesWithinStoreTransactions,
  type AccessLogRecord,
} from '../audit/access-log.js';
import type { AuthenticationResult } from '../auth/token-verifier.js';
import { errorKind } from '../logging.js';
import { problem, type HttpResult } from '../http/problem.js';
import { KEY_RETRY_AFTER_SECONDS, KeyUnavailableError, type ApiContext, type KeyUse } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { clientAddressOf } from './client-address.js';
import { repeatedHeader } from './repeated-header.js';
import type { RefusalTally } from './refusal-tally.js';
import { SecretMalformedError, SecretUnavailableError, SecretVersionGoneError } from '../secrets/secret-source.js';
import type { Database } from '../store/schema.js';
import { WriteSlots } from './write-slots.js';

/** The authenticated caller, resolved to a party of the agreements. */
export interface Caller {
  partyId: string;
  clientId: string;
  roles: string[];
}

export interface CallContext {
  requestId: string;
  caller: Caller;
  /** The `X-Purpose` header as sent (trimmed), or undefined. */
  purpose: string | undefined;
  /**
   * For a call that changes the store: runs `change` in a transaction of the store and writes
   * the call's access-log entry (from the outcome `change` returns) before that transaction
   * commits. If the entry cannot be written the change is rolled back and the caller gets 503:
   * a change is never made without its entry. An outcome that denies is rolled back too (then
   * logged as any denial). The handler returns what this returns.
   */
  writeAhead(change: (db: Kysely<Database>) => Promise<Outcome>): Promise<Outcome>;
}

/** What a handler returns: the response, and what the access log must say about it. */
export interface Outcome {
  result: HttpResult;
  log: {
    purpose?: string | null;
    subjectRef?: string | null;
    datasets?: readonly string[];
    fields?: readonly string[];
    decision: 'allow' | 'deny';
    reasonCode: string;
  };
}

/**
 * RFC 6750 §2.3's query parameter for a bearer token. A URL is kept where a header is not (the
 * platform's request telemetry, a proxy's log), so a call carrying one is refused even beside a
 * good Authorization header: answered for that header, a partner's client sending both went on
 * leaking its tokens into those logs unnoticed (found by a defect hunt).
 */
const TOKEN_QUERY_PARAMETER = 'access_token';

/** What a client id, role or purpose may look like to be stored as sent. */
const SAFE_TOKEN = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * A caller's `X-Request-Id` is kept only if it is a UUID; anything else is replaced by one
 * issued here. Why: the id goes into the access log, which is append-only and kept for years,
 * and free text there (a case reference, an NI number used as a correlation id) could never be
 * erased.
 */
export const REQUEST_ID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';
const REQUEST_ID = new RegExp(REQUEST_ID_PATTERN);

/** The id a response carries: the caller's `X-Request-Id` if it is a UUID (lowercased), else a fresh one. */
export function requestIdFrom(sent: string | null | undefined): string {
  return sent && REQUEST_ID.test(sent) ? sent.toLowerCase() : randomUUID();
}

/**
 * The one request path: request id → authenticate → rate limit → resolve party → the
 * handler's own purpose/consent/match/minimise work → one access-log entry → response. The
 * entry is written before the response leaves; if it cannot be, the response is a bare 503 and
 * whatever the handler produced is dropped (fail closed). Every call — allowed, denied or
 * unmatched — leaves exactly one entry, but for a change whose entry was written and whose
 * commit then failed, or whose entry the log failed to confirm (it may be durable all the same):
 * a second entry, `change-not-committed`, says so, about the same person and releasing nothing;
 * but for an allowed call whose entry the log
 * failed to confirm, answered 503: a second entry, `response-not-sent`, says so; and but for a call
 * without a valid token, or refused `party-unknown`, from an address over its limit of them,
 * which leaves none.
 */
export async function runRequest(
  ctx: ApiContext,
  req: ApiRequest,
  action: string,
  handler: (call: CallContext) => Promise<Outcome>,
): Promise<HttpResult> {
  const requestId = requestIdFrom(req.headers.get('x-request-id'));
  const purposeHeader = req.headers.get('x-purpose')?.trim() || undefined;
  const { services } = ctx;

  let caller: Caller | undefined;
  let outcome: Outcome;
  /** Set once a write-ahead change has written the call's entry itself. */
  let logged = false;
  const recordOf = (o: Outcome): AccessLogRecord =>
    sanitise({
      requestId,
      partyId: caller?.partyId ?? 'unauthenticated',
      clientId: caller?.clientId ?? 'unknown',
      roles: caller?.roles ?? [],
      purpose:
        o.log.purpose ??
        (purposeHeader === undefined
          ? 'none'
          : services.agreements.purpose(purposeHeader)
            ? purposeHeader
            : 'unrecognised'),
      action,
      subjectRef: o.log.subjectRef ?? null,
      datasets: [...(o.log.datasets ?? [])],
      fields: [...(o.log.fields ?? [])],
      decision: o.log.decision,
      reasonCode: o.log.reasonCode,
    });
  const writeAhead = async (change: (db: Kysely<Database>) => Promise<Outcome>): Promise<Outcome> => {
    const { store } = services;
    // Where it cannot (SQLite in memory), the entry follows the committed change, as for a read.
    const entryInside = entriesWithinStoreTransactions(store);
    let slots = writeSlotsByStore.get(store);
    if (!slots) writeSlotsByStore.set(store, (slots = new WriteSlots()));
    let entryWritten = false;
    /** The outcome whose entry was (or may have been) written, once its append has begun. */
    let entryMaybeWritten: Outcome | undefined;
    try {
      return await slots.run(() =>
        store.db.transaction().execute(async (trx) => {
          const changed = await change(trx);
          if (changed.log.decision === 'deny') throw new RolledBack(changed);
          if (entryInside) {
            entryMaybeWritten = changed;
            await services.accessLog.append(recordOf(changed));
            logged = entryWritten = true;
          }
          return changed;
        }),
      );
    } catch (err) {
      if (err instanceof RolledBack) return err.outcome;
      // The entry for the change is durable, but the change did not commit: the call is logged
      // again for what it came to, so the log does not claim a change the store never made.
      if (entryWritten) {
        logged = false;
        throw new ChangeNotCommitted(entryMaybeWritten!);
      }
      // The append failed, and the change with it, but a failed append may still have committed
      // the entry: the writer's answer lost after its commit (its thread gone; on SQL Server the
      // acknowledgement of a COMMIT lost on the network). That entry would say `allow` for a
      // change the store never made (found by a defect hunt), so `change-not-committed` follows
      // it all the same; where the entry was not written, that alone is true too. The caller
      // gets 503 as before, whether or not this one can be written.
      if (err instanceof AccessLogUnavailableError && entryMaybeWritten) {
        const notCommitted = notCommittedOutcome(entryMaybeWritten);
        await services.accessLog.append(recordOf(notCommitted)).catch(() => undefined);
      }
      throw err;
    }
  };
  /**
   * Takes this call from its address's budget of unknown callers: the answer beyond it, if over,
   * counted in `refusals`.
   */
  const overUnknownCallersLimit = (refusals: RefusalTally): HttpResult | undefined => {
    const wait = ctx.unauthenticatedLimiter.take(clientAddressOf(req.headers.get('x-forwarded-for')));
    if (wait === 0) return undefined;
    refusals.count();
    return withRequestId(rateLimited(wait), requestId);
  };
  const repeated = repeatedHeader(req);
  const tokenInUrl = req.query.has(TOKEN_QUERY_PARAMETER);
  try {
    // Two credentials name no one caller, and a token in the URL is never taken: refused before
    // any is read, and counted as a call without a valid token.
    const auth: AuthenticationResult =
      repeated === 'Authorization' || tokenInUrl
        ? { ok: false, reason: 'token-missing' }
        : await ctx.verifier.verify(req.headers.get('authorization'));
    // Each refused call would leave a durable entry, under no party and seen by no DPO's
    // alerts, in a log that is never shortened: a flood of made-up tokens would grow it, and
    // hold up the entries of real calls, as fast as it could be sent. Beyond its limit an
    // address is answered 429 with no entry, and no app log line of its own, which would grow
    // as fast: a count a minute says a flood is under way. A valid token is never held back
    // by this: it is checked first. Nor is a token that could not be checked for want of the
    // issuer's keys, which needs no key to make up: answered 503 beyond the limit, such calls
    // grew the log unchecked for as long as the keys were unavailable (found by a defect hunt).
    if (!auth.ok) {
      const limited = overUnknownCallersLimit(ctx.unauthenticatedRefusals);
      if (limited) return limited;
    }
    if (repeated === 'Authorization') {
      outcome = deny(repeatedHeaderProblem(repeated), 'invalid-request');
    } else if (tokenInUrl) {
      outcome = deny(
        problem('invalid-request', {
          detail: 'A bearer token is taken from the Authorization header only, never from the URL (access_token).',
        }),
        'invalid-request',
      );
    } else if (!auth.ok && auth.reason === 'jwks-unavailable') {
      // The issuer's keys could not be fetched: the token may be good, so this is not a 401.
      services.logger.error('auth.keys-unavailable', { requestId });
      outcome = deny(
        problem('authentication-unavailable', {
          headers: { 'retry-after': '30' },
          detail: "The token issuer's signing keys could not be fetched; nothing was released.",
        }),
        'authentication-unavailable',
      );
    } else if (!auth.ok) {
      services.logger.info('auth.rejected', { requestId, reason: auth.reason });
      outcome = deny(
        problem('unauthenticated', {
          headers: { 'www-authenticate': bearerChallenge(req.headers.get('authorization')) },
          detail: 'A valid bearer token from the configured issuer is required.',
        }),
        'unauthenticated',
      );
    } else {
      // Keyed as the party directory compares client ids: one client is one bucket however its
      // token spells the id.
      const clientId = normaliseClientId(auth.caller.clientId);
      const resolved = resolveCaller(auth.caller, services.parties, services.agreements);
      // A client no agreement names has no budget of its own (party-unknown, counted below).
      const wait = resolved ? ctx.rateLimiter.take(clientId) : 0;
      // Logged as the directory compares it too: one client is one client in the DPO's views and
      // the watch rules, however its token spells a GUID (found by a review).
      caller = {
        partyId: resolved?.partyId ?? 'unknown',
        clientId,
        roles: [...(resolved?.roles ?? auth.caller.roles)],
      };
      if (wait > 0) {
        outcome = deny(rateLimited(wait), 'rate-limited');
      } else if (!resolved) {
        outcome = deny(
          problem('party-unknown', {
            detail: 'The calling application is not mapped to a party of a data sharing agreement.',
          }),
          'party-unknown',
        );
      } else if (repeated !== undefined) {
        outcome = deny(repeatedHeaderProblem(repeated), 'invalid-request');
      } else {
        const call = { requestId, caller, purpose: purposeHeader, writeAhead };
        outcome = await handler(call);
      }
    }
  } catch (err) {
    // A write-ahead change whose entry could not be written: rolled back, nothing to log.
    if (err instanceof AccessLogUnavailableError) return withRequestId(logUnavailable(), requestId);
    // A key that could not be read this time: a pseudonymisation key version (not a 404: without
    // every version the store holds, "nobody" could be false), or any other (Key Vault throttled,
    // a network fault: the access log's signing keys for a verify, say). Gone versions are the
    // handlers' to judge; this may pass, so the caller is told when to try again. The latter is
    // logged as an error all the same: a vault that refuses the app (access revoked) looks the
    // same from here.
    const apiKey = err instanceof KeyUnavailableError;
    const otherKey = err instanceof SecretUnavailableError && !(err instanceof SecretVersionGoneError);
    if (apiKey || otherKey) {
      if (otherKey) services.logger.error('request.key-unavailable', { requestId, action, secret: err.secretName });
      const detail = apiKey
        ? KEY_UNAVAILABLE_DETAIL[err.neededFor]
        : 'A key the answer depends on could not be read; nothing was released.';
      const retrying = !apiKey || mayReadOnRetry(err.cause);
      outcome = deny(
        problem('key-unavailable', {
          ...(retrying && { headers: { 'retry-after': String(KEY_RETRY_AFTER_SECONDS) } }),
          detail: retrying ? detail : `${detail} ${WAITS_FOR_OPERATOR}`,
        }),
        'key-unavailable',
      );
    } else {
      services.logger.error('request.failed', { requestId, action, error: errorKind(err) });
      outcome =
        err instanceof ChangeNotCommitted
          ? notCommittedOutcome(err.uncommitted)
          : deny(problem('internal-error'), 'internal-error');
    }
  }

  // A signed token whose party is in no current agreement (a client mapped to none, a test
  // tenant, a party whose agreements have all ended) is as unknown to the partnership as no
  // token: limited per client at the partners' rate, each of its refusals wrote an entry twenty
  // times as fast as a made-up token could (found by a defect hunt). Its refusals count against
  // the address as those do, whether the party or the policy (an ex-partner's lookup) refused it;
  // its withdrawals and log reads, which it may still make, do not.
  if (!logged && outcome.log.reasonCode === 'party-unknown') {
    const limited = overUnknownCallersLimit(ctx.partyUnknownRefusals);
    if (limited) return limited;
  }

  if (!logged) {
    try {
      await services.accessLog.append(recordOf(outcome));
    } catch (err) {
      if (!(err instanceof AccessLogUnavailableError))
        services.logger.error('audit.append-error', { requestId, error: errorKind(err) });
      // A failed append may still have committed the entry (the writer's answer lost after its
      // commit), and for a lookup it would say `allow` with the fields released, though the
      // caller is sent nothing: a subject access request would tell the person their data went
      // where none did (found by a defect hunt). `response-not-sent` follows it, best effort,
      // about the same person and datasets, so that it is read beside it, releasing nothing;
      // where the entry was not written, that alone is true too. The caller gets 503 either way.
      if (err instanceof AccessLogUnavailableError && outcome.log.decision === 'allow') {
        const notSent = deny(logUnavailable(), 'response-not-sent', {
          purpose: outcome.log.purpose,
          subjectRef: outcome.log.subjectRef,
          datasets: outcome.log.datasets,
        });
        await services.accessLog.append(recordOf(notSent)).catch(() => undefined);
      }
      return withRequestId(logUnavailable(), requestId);
    }
  }
  return withRequestId(outcome.result, requestId);
}

/** One set of write-ahead slots per store (write-slots.ts). */
const writeSlotsByStore = new WeakMap<object, WriteSlots>();

/**
 * A write-ahead change whose access-log entry was written but whose transaction then failed to
 * commit. Its second entry, `change-not-committed` under the same request id, follows the first.
 */
class ChangeNotCommitted extends Error {
  constructor(readonly uncommitted: Outcome) {
    super('The change was logged but not committed');
    this.name = 'ChangeNotCommitted';
  }
}

/**
 * The second entry of a change that did not commit (`uncommitted`, whose entry was or may have
 * been written): 500 to the caller, with the purpose, subject and datasets of the entry it
 * corrects, and no fields. A subject access request finds a person's entries by their subject,
 * and a DPO's views and watch rules file an entry by its purpose and datasets
 * (entry-agreements.ts): written with none of them, the correction was missing from the person's
 * answer, which showed the change's `allow` alone, as if it had been made (found by a review).
 */
function notCommittedOutcome(uncommitted: Outcome): Outcome {
  const { purpose, subjectRef, datasets } = uncommitted.log;
  return deny(problem('internal-error'), 'change-not-committed', {
    purpose,
    subjectRef,
    datasets,
  });
}

/** Carries a denying outcome out of the transaction it rolls back. */
class RolledBack {
  constructor(readonly outcome: Outcome) {}
}

/** 429, to be tried again in `wait` seconds (a whole number, at least 1: rate-limiter.ts). */
function rateLimited(wait: number): HttpResult {
  return problem('rate-limited', { headers: { 'retry-after': String(wait) } });
}

function logUnavailable(): HttpResult {
  return problem('audit-log-unavailable', {
    detail: 'The access log could not be written, so nothing was released.',
    headers: { 'retry-after': '5' },
  });
}

/** What a 503 `key-unavailable` says the key was needed for: never which key version, nor anything of it. */
const KEY_UNAVAILABLE_DETAIL: Record<KeyUse, string> = {
  identifiers: 'A key needed to match identifiers could not be read; nothing was released.',
  'person-references': 'The key person references are made and read with could not be read; nothing was released.',
  'link-decisions':
    "The key a confirmed link's records are fingerprinted with could not be read; no decision was recorded.",
};

/**
 * Whether asking Key Vault again may read the key: not when the version the answer needs is gone
 * (deleted, disabled) or held in another shape. Both wait for an operator, and a `Retry-After`
 * of seconds set partners' clients retrying a call that could not succeed till then.
 */
function mayReadOnRetry(cause: unknown): boolean {
  return !(cause instanceof SecretVersionGoneError || cause instanceof SecretMalformedError);
}

/** Said instead of `Retry-After` where retrying cannot help: names no key, version or state of one. */
const WAITS_FOR_OPERATOR = "Retrying will not help until the service's operator restores the key.";

/**
 * The 401's challenge (RFC 6750 s.3). A call that presented a bearer token is told
 * `invalid_token`, the same whatever check it failed, so the answer is no oracle for which; a
 * call with no credentials, or another scheme's, is given none (s.3.1): it may not know that
 * this API needs one.
 */
function bearerChallenge(authorization: string | null): string {
  return /^Bearer\s+\S/i.test(authorization ?? '') ? 'Bearer error="invalid_token"' : 'Bearer';
}

/** Names the header, never its values: one of them is a bearer token. */
function repeatedHeaderProblem(name: string): HttpResult {
  return problem('invalid-request', {
    detail: `The ${name} header must be sent once, with one value.`,
  });
}

export function deny(
  result: HttpResult,
  reasonCode: string,
  extra: Omit<Outcome['log'], 'decision' | 'reasonCode'> = {},
): Outcome {
  return { result, log: { ...extra, decision: 'deny', reasonCode } };
}

/**
 * A purpose the caller sent that no agreement knows is logged as `unrecognised`, not echoed:
 * header text is caller input and the log keeps it forever.
 */
function sanitise(record: AccessLogRecord): AccessLogRecord {
  const safe = (value: string) => (SAFE_TOKEN.test(value) ? value : 'unrecognised');
  return { ...record, purpose: safe(record.purpose), clientId: safe(record.clientId), roles: record.roles.map(safe) };
}

/** `result` carrying `requestId` as its `X-Request-Id`. */
export function withRequestId(result: HttpResult, requestId: string): HttpResult {
  return { ...result, headers: { ...result.headers, 'x-request-id': requestId } };
}
