import { z } from 'zod';
import { MAX_JSON_BODY_BYTES } from './json-body-limit.js';
import { personRefSchema } from './person-ref-schema.js';
import { notComparedSchema } from './not-compared.js';

export const PROBLEM_TYPE_PREFIX = 'urn:lintel:problem:';

/**
 * Every problem type lintel's HTTP API publishes, with the status and title it comes with. Partners branch
 * on these codes, so a code, once here, keeps its meaning; the OpenAPI document lists per
 * operation which of them it can answer with.
 */
export const PROBLEM_CATALOGUE = {
  'invalid-request': {
    status: 400,
    title: 'Bad request',
    description:
      'The body or query does not parse (a body that gives one name twice in an object, RFC 7493 §2.3, does not) or does not match its schema; `errors`, when present, names the properties and zod issue codes, never the values. Also the HTTP request itself when it cannot be read (an HTTP/1.1 request without Host, a target that is no URL, a header or length the parser refuses); the connection is then closed. Also a call that sends `Authorization`, `X-Purpose` or `Content-Type` more than once, or one holding a comma (how a front end passes on a header sent twice; in `Content-Type`, a comma outside a quoted parameter value): `detail` names the header, and no value sent is used. Also a call with a bearer token in the URL (`access_token`), whatever its `Authorization` header holds.',
  },
  'invalid-identifier': {
    status: 400,
    title: 'An identifier is not valid',
    description:
      'An identifier fails its check (NHS number check digit, UPN check letter, NI number format, date, postcode), or names and an NHS pseudo-postcode such as ZZ99 3VZ (no fixed abode) are all there is to search by (`reason: postcode-pseudo`), or names and a forces postcode such as BFPO 61 or BF1 3AA, shared by a whole unit, are (`reason: postcode-forces`), or a placeholder given name such as Baby or Unknown with names alone is (`reason: given-name-placeholder`), or a temporary UPN (ending in a letter, reissued by the DfE to other children) or a placeholder one such as A000000000000 is (`reason: upn-temporary`, `upn-placeholder`), or a date of birth no one can have, refused as an import refuses it (`reason: date-of-birth-placeholder`, a date systems write for "not known" such as 1900-01-01; `date-of-birth-future`; `date-of-birth-too-early`, over 125 years ago); `field` names it.',
  },
  'purpose-required': { status: 400, title: 'X-Purpose header required', description: 'No X-Purpose header.' },
  'dataset-unknown': {
    status: 400,
    title: 'Unknown dataset',
    description: 'A requested dataset id is defined by no agreement.',
  },
  unauthenticated: {
    status: 401,
    title: 'Authentication required',
    description: 'No valid bearer token from the configured issuer. The body never says why.',
  },
  'party-unknown': {
    status: 403,
    title: 'Caller is not a party to any agreement',
    description:
      "The calling application is not mapped to a party of any agreement; or it is, but the party's agreements have all ended (their files removed) or a re-signing dropped it from them, and it asks for something other than withdrawing a consent or opt-out it recorded, or reading the access log.",
  },
  'purpose-unknown': { status: 403, title: 'Unknown purpose', description: 'No agreement defines the stated purpose.' },
  'purpose-not-permitted': {
    status: 403,
    title: 'Purpose not permitted',
    description: "The purpose is not granted to the caller's party.",
  },
  'role-not-permitted': {
    status: 403,
    title: 'Role not permitted',
    description: "None of the caller's roles is granted the purpose or action.",
  },
  'action-not-permitted': {
    status: 403,
    title: 'Action not permitted',
    description: 'The roles hold the purpose, but not for this action.',
  },
  'dataset-not-permitted': {
    status: 403,
    title: 'Dataset not permitted',
    description: 'A requested dataset is not granted for the purpose.',
  },
  'no-match': {
    status: 404,
    title: 'No matching person',
    description:
      'No single person matched, the reference is unknown to the caller, or nothing about the person may be shown to the caller for this purpose (their consent is not on record, or they have opted out); the answer is the same in each case.',
  },
  'consent-unknown': {
    status: 404,
    title: 'No such consent',
    description: 'No consent with this id that the caller may see.',
  },
  'candidate-unknown': {
    status: 404,
    title: 'No such link candidate',
    description:
      'No open or decided link candidate with this id that the caller may review. A linking pass may have replaced it since it was read (a new snapshot replaced one of its records): list the candidates again.',
  },
  'candidate-not-keyed': {
    status: 409,
    title: 'Candidate must be proposed again first',
    description:
      'The candidate was proposed before decisions were kept under a key; the next linking pass (or `npm run relink`) proposes it again, and it can be decided then.',
  },
  'candidate-decided': {
    status: 409,
    title: 'Candidate already decided',
    description:
      'The candidate has already been confirmed or rejected, before or since a linking pass; the first decision stands. `decision` names which (`confirmed`, `rejected`), never who decided.',
  },
  'candidate-identifiers-conflict': {
    status: 409,
    title: 'The two people hold conflicting identifiers',
    description:
      "A confirmation of a candidate whose two people hold conflicting identifiers (counting every record linked to each: a record joined to one of them since it was listed holds an NHS number, UPN, system id or NI number the other's records differ from): no linking pass would join them, so nothing is decided. `conflict` names the kind (`nhs-conflict`, `upn-conflict`, `system-id-conflict`, `ni-conflict`), never a value. The candidate is no longer listed; it may still be rejected.",
  },
  'breach-step-refused': {
    status: 409,
    title: 'Breach step refused',
    description:
      'The step cannot be recorded on the breach record as it stands; `reason` says why: `closed` (nothing more is recorded on a closed record), `already-recorded` (the step is on record with another time or reason; the first stands), `ico-notified` (a breach the ICO was notified of cannot be judged not reportable), `reporting-undecided` (a breach is closed only once the ICO notification, or that it is not reportable, is recorded), `partners-not-notified` (a breach whose agreement asks for the partner parties to be told is closed only once that is recorded, unless the accesses were judged authorised).',
  },
  'entry-unknown': {
    status: 404,
    title: 'No such entry in a tree of that size',
    description: 'No access-log entry with that sequence number in a tree of that size.',
  },
  'tree-size-unknown': {
    status: 404,
    title: 'The log has no tree of that size',
    description: 'The access log has no tree of that size.',
  },
  'log-inconsistent': {
    status: 409,
    title: 'The access log does not match its signed checkpoint',
    description:
      'The stored access log no longer leads to the root of a signed checkpoint that covers it: no proof is given; GET /api/v1/audit/verify names what changed.',
  },
  'not-found': {
    status: 404,
    title: 'Not found',
    description:
      "No such route or file; on the breach endpoints, no alert or breach record with that id in the caller's audit scope (one outside it is as unknown as one that never was).",
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    description:
      "The path was called with a method none of its operations takes; `Allow` lists those it does. Under Azure Functions the platform's router answers this itself, an empty 404.",
  },
  'subject-relinked': {
    status: 409,
    title: 'The person was relinked; send the request again',
    description:
      'Record linkage merged or split the person while the consent was being recorded (nothing was recorded), or, twice over, while a lookup was answered (nothing was shown). Send the same request again.',
  },
  'ambiguous-match': {
    status: 409,
    title: 'More than one person matched',
    description: 'The identifiers match more than one person; no answer is given.',
  },
  'unsettled-match': {
    status: 409,
    title: 'The identifiers do not settle on one person',
    description:
      "A subject access request's identifiers do not settle on one person: several match at the surest tier that found anyone (`reason` ambiguous), or the one found holds another of the identifiers given (`identifier-conflict`, `date-of-birth-conflict`). `matches` gives each person's reference (for GET /api/v1/audit/people/{personRef}/accesses) and the tier that matched them, for the DPO to judge.",
  },
  'request-timeout': {
    status: 408,
    title: 'Request not received in time',
    description:
      "The request, headers and body, was not received in time; the connection is closed. Under Azure Functions the platform's front end answers this itself, in its own form.",
  },
  'expectation-failed': {
    status: 417,
    title: 'Expectation failed',
    description:
      "The request carries an `Expect` other than 100-continue; the connection is closed. Under Azure Functions the platform's front end answers this itself, in its own form.",
  },
  'payload-too-large': {
    status: 413,
    title: 'Body too large',
    description: `The body exceeds the size limit (16 KiB, ${MAX_JSON_BODY_BYTES} bytes), declared or sent.`,
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Body must be application/json',
    description:
      'The body is not application/json in UTF-8 (no other type is read, `+json` ones and application/json-seq included), or is sent with a Content-Encoding (gzip, deflate, br) or a Transfer-Encoding other than chunked.',
  },
  'request-header-fields-too-large': {
    status: 431,
    title: 'Request headers too large',
    description:
      "The request headers exceed the size limit (16 KiB); the connection is closed. Under Azure Functions the platform's front end answers this itself, in its own form.",
  },
  'uri-too-long': {
    status: 414,
    title: 'Request URL too long',
    description:
      "The request URL exceeds the size limit (16 KiB); the connection is closed. Under Azure Functions the platform's front end answers this itself, in its own form.",
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    description:
      'Too many requests from this client, or from this address without a valid token or by a client no current agreement names; `Retry-After` says when to retry.',
  },
  'internal-error': { status: 500, title: 'Internal error', description: 'An unexpected error; nothing was released.' },
  'method-not-implemented': {
    status: 501,
    title: 'Method not implemented',
    description:
      "A CONNECT (lintel is no proxy, and no path is served for it), or a method the HTTP server does not recognise (methods are case-sensitive); the connection is closed. Under Azure Functions the platform's front end answers this itself, in its own form.",
  },
  'http-version-not-supported': {
    status: 505,
    title: 'HTTP version not supported',
    description:
      "The request line names an HTTP version other than 1.0 or 1.1 (HTTP/2 is not spoken over a plain HTTP/1 connection); the connection is closed. Under Azure Functions the platform's front end answers this itself, in its own form.",
  },
  'authentication-unavailable': {
    status: 503,
    title: 'Service unavailable',
    description:
      "The token issuer's signing keys (JWKS) could not be fetched, so no token could be checked; retry later.",
  },
  'key-unavailable': {
    status: 503,
    title: 'Service unavailable',
    description:
      "A key the answer depends on could not be read: a pseudonymisation key version the stored identifiers are hashed under (no match, or its absence, could be trusted), the key person references and link decisions are made under, or a key the access log's checkpoints are signed under (a verify). Nothing was released or decided. `Retry-After` says when to retry; without it (the key is gone from the key store or not in its shape) retrying will not help until the service's operator restores the key, as the `detail` says.",
  },
  'audit-log-unavailable': {
    status: 503,
    title: 'Service unavailable',
    description: 'The access log could not be written, so nothing was released (fail closed).',
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ProblemCode = keyof typeof PROBLEM_CATALOGUE;

export function problemTypeUri(code: ProblemCode): string {
  return PROBLEM_TYPE_PREFIX + code;
}

/** RFC 9457 problem details as lintel sends them; extension members are allowed. */
export const problemSchema = z
  .object({
    type: z.string().describe(`A stable URI: ${PROBLEM_TYPE_PREFIX}<code>`),
    title: z.string().describe('A short, fixed summary of the problem type'),
    status: z.number().int().describe('The HTTP status code'),
    detail: z.string().optional().describe('Fixed text for this kind of failure; never repeats the request'),
    instance: z.string().optional(),
    // Left out, these extension members were no part of a client generated from the document:
    // the catchall below takes them, but types none of them.
    errors: z
      .array(
        z.object({
          path: z.string().describe('The property, dotted; empty for the body itself'),
          code: z.string().describe('The zod issue code'),
          allowed: z
            .array(z.string())
            .optional()
            .describe('For a property the body may not hold: the properties it may'),
        }),
      )
      .optional()
      .describe('`invalid-request` for a body that does not match its schema: what is wrong where, never a value'),
    field: z.string().optional().describe('`invalid-identifier`: the identifier that failed its check'),
    reason: z
      .string()
      .optional()
      .describe(
        '`invalid-identifier`: the check it failed; `unsettled-match`: `ambiguous`, `identifier-conflict` or `date-of-birth-conflict`; `breach-step-refused`: `closed`, `already-recorded`, `ico-notified`, `reporting-undecided` or `partners-not-notified`',
      ),
    conflict: z
      .string()
      .optional()
      .describe(
        '`candidate-identifiers-conflict`: the kind of identifier the two people hold different values of (`nhs-conflict`, `upn-conflict`, `ni-conflict`, `system-id-conflict`), never a value',
      ),
    decision: z
      .enum(['confirmed', 'rejected'])
      .optional()
      .describe('`candidate-decided`: what the first decision on the candidate was, never who made it'),
    matches: z
      .array(z.object({ personRef: personRefSchema, tier: z.number().int() }))
      .optional()
      .describe(
        '`unsettled-match`: each person the identifiers match, by reference (for GET /api/v1/audit/people/{personRef}/accesses), and the tier that matched them',
      ),
    notCompared: notComparedSchema
      .optional()
      .describe(
        '`no-match` and `unsettled-match` of a subject access request by identifiers: kept identifier hashes it could not compare, their key version gone from Key Vault (deleted or disabled); anyone held only by them is not among the matches. By version and count only',
      ),
  })
  .catchall(z.unknown())
  .describe('RFC 9457 problem details');
