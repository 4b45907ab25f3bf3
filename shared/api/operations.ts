import { z } from 'zod';
import type { consistencyProofFor, inclusionProofFor } from '../audit/audit-service.js';
import { accessLogEntrySchema } from '../audit/entry-codec.js';
import type { VerificationReport } from '../audit/verify-log.js';
import type { HealthReport } from '../health/check-health.js';
import { consistencyQuerySchema, inclusionQuerySchema } from './audit-api.js';
import { consentBodySchema, consentResponseSchema } from './consents-api.js';
import { DOCS_ASSET_NAMES } from './docs-page.js';
import { duplicateCheckBodySchema, duplicateCheckResponseSchema } from './duplicate-check-api.js';
import {
  alertsQuerySchema,
  breachesQuerySchema,
  alertSchema,
  alertsResponseSchema,
  breachesResponseSchema,
  breachSchema,
  breachStepBodySchema,
  clientActivityQuerySchema,
  clientActivityResponseSchema,
  clientIdParamSchema,
  pageQuerySchema,
  personAccessesBodySchema,
  personAccessesResponseSchema,
  watchRunResponseSchema,
} from './dpo-api.js';
import { isoTime } from './iso-time.js';
import {
  candidateDecisionResponseSchema,
  candidateListQuerySchema,
  candidateListResponseSchema,
  candidateResponseSchema,
} from './link-review-api.js';
import { personSearchBodySchema, personViewResponseSchema } from './people-api.js';
import { personRefSchema } from './person-ref-schema.js';
import { problemSchema, type ProblemCode } from './problem-catalogue.js';

/**
 * What the OpenAPI document says about each HTTP function, keyed by the function's registered
 * name. The schemas are the zod schemas the handlers validate with, so the document cannot
 * describe a body the API would refuse. A function registered without an entry here makes the
 * document fail to build, and its test with it.
 */

const componentHealth = z.enum(['up', 'down']);
export const healthReportSchema = z.object({
  status: componentHealth,
  checks: z.object({ configuration: componentHealth, store: componentHealth, blobStorage: componentHealth }),
});

const hex = z.string().regex(/^[0-9a-f]*$/);
export const verificationReportSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  checkpoints: z.number().int(),
  rootHash: hex,
  firstBadSeq: z
    .number()
    .int()
    .nullable()
    .describe('The first sequence number that cannot be trusted, or null when the log is intact'),
  signedEntries: z
    .number()
    .int()
    .describe(
      'Entries covered by the last checkpoint whose root matched; those after it are chained but not yet signed',
    ),
  subjectIndexFilled: z
    .number()
    .int()
    .describe(
      'Rows of the index of the people an entry about several names that were missing (appended by an instance running older code) and were filled now: not tampering, but subject access requests answered before this may have missed entries naming a person after another',
    ),
  problems: z.array(
    z.object({
      kind: z.enum([
        'entry-altered',
        'entry-missing',
        'sequence-broken',
        'entry-unreadable',
        'checkpoint-mismatch',
        'log-truncated',
        'checkpoint-signature',
        'checkpoint-regressed',
        'anchor-line-duplicate',
        'checkpoint-unverifiable',
        'log-hidden',
        'subject-index-stray',
        'anchor-line-damaged',
        'anchor-missing',
      ]),
      seq: z.number().int(),
      checkpoint: z.number().int().optional(),
      keyId: z
        .string()
        .optional()
        .describe('For unverifiable checkpoints: the key id they name, a version of the signing key that is gone'),
      checkpoints: z.number().int().optional().describe('For unverifiable checkpoints: how many name that key id'),
      anchor: z
        .union([
          z.object({ blob: z.string(), line: z.number().int(), reason: z.string() }),
          z.object({ blob: z.string(), checkpoints: z.number().int() }),
        ])
        .optional()
        .describe(
          'For a damaged anchor line: the anchor blob, the line in it, and what is wrong with it; for checkpoints gone from their anchor blob: the blob, and how many',
        ),
    }),
  ),
});
const signedCheckpoint = z
  .object({
    treeSize: z.number().int(),
    rootHash: hex,
    time: isoTime,
    keyId: z.string(),
    signature: z.string().describe('Ed25519, standard base64, over the text shared/audit/checkpoint.ts defines'),
  })
  .nullable()
  .describe('The anchored, signed checkpoint of that tree size, whose root the proof leads to; null if none');
export const inclusionProofSchema = z.object({
  seq: z.number().int(),
  treeSize: z.number().int(),
  checkpointed: z.boolean().describe('Whether the tree size is that of an anchored, signed checkpoint'),
  leafHash: hex,
  proof: z.array(hex),
  rootHash: hex,
  checkpoint: signedCheckpoint,
  entry: accessLogEntrySchema
    .nullable()
    .describe(
      'The entry as the log stored it and hashed it (canonical JSON of it, SHA-256 with a 0x00 prefix, is leafHash: scripts/verify-proof.mjs checks it); null when the entry is not the business of an agreement the caller audits',
    ),
});
export const consistencyProofSchema = z.object({
  from: z.number().int(),
  to: z.number().int(),
  fromRoot: hex,
  toRoot: hex,
  proof: z.array(hex),
  fromCheckpoint: signedCheckpoint,
  toCheckpoint: signedCheckpoint,
});

/** True only when a zod schema's output and a handler's result type are the same shape. */
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
// The handlers return these types, not the schemas' parse results; these keep the two in step at compile time.
const shapesAgree: [
  SameShape<z.infer<typeof healthReportSchema>, HealthReport>,
  SameShape<z.infer<typeof verificationReportSchema>, VerificationReport>,
  SameShape<
    z.infer<typeof inclusionProofSchema>,
    Exclude<Awaited<ReturnType<typeof inclusionProofFor>>, undefined | 'log-inconsistent'>
  >,
  SameShape<
    z.infer<typeof consistencyProofSchema>,
    Exclude<Awaited<ReturnType<typeof consistencyProofFor>>, undefined | 'log-inconsistent'>
  >,
] = [true, true, true, true];
void shapesAgree;

/**
 * Named schemas for `components.schemas`. Request bodies are described as the client sends them
 * (`input`: defaults make a property optional), responses as lintel sends them (`output`).
 */
export const COMPONENT_SCHEMAS = {
  PersonSearchRequest: { schema: personSearchBodySchema, io: 'input' },
  PersonView: { schema: personViewResponseSchema, io: 'output' },
  // A view by reference involves no matching, so it carries no match tier.
  PersonViewByRef: { schema: personViewResponseSchema.partial({ match: true }), io: 'output' },
  DuplicateCheckRequest: { schema: duplicateCheckBodySchema, io: 'input' },
  DuplicateCheck: { schema: duplicateCheckResponseSchema, io: 'output' },
  ConsentRequest: { schema: consentBodySchema, io: 'input' },
  Consent: { schema: consentResponseSchema, io: 'output' },
  PersonAccessesRequest: { schema: personAccessesBodySchema, io: 'input' },
  PersonAccesses: { schema: personAccessesResponseSchema, io: 'output' },
  ClientActivity: { schema: clientActivityResponseSchema, io: 'output' },
  Alert: { schema: alertSchema, io: 'output' },
  Alerts: { schema: alertsResponseSchema, io: 'output' },
  WatchRun: { schema: watchRunResponseSchema, io: 'output' },
  Breach: { schema: breachSchema, io: 'output' },
  BreachStepRequest: { schema: breachStepBodySchema, io: 'input' },
  Breaches: { schema: breachesResponseSchema, io: 'output' },
  LinkCandidates: { schema: candidateListResponseSchema, io: 'output' },
  LinkCandidate: { schema: candidateResponseSchema, io: 'output' },
  LinkCandidateDecision: { schema: candidateDecisionResponseSchema, io: 'output' },
  HealthReport: { schema: healthReportSchema, io: 'output' },
  VerificationReport: { schema: verificationReportSchema, io: 'output' },
  InclusionProof: { schema: inclusionProofSchema, io: 'output' },
  ConsistencyProof: { schema: consistencyProofSchema, io: 'output' },
  OpenApiDocument: { schema: z.record(z.string(), z.unknown()).describe('This OpenAPI 3.1 document'), io: 'output' },
  Problem: { schema: problemSchema, io: 'output' },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output' }>;

export type ComponentSchemaName = keyof typeof COMPONENT_SCHEMAS;

export interface OperationResponse {
  status: number;
  description: string;
  /** `application/json` unless `contentType` says otherwise. */
  schema?: ComponentSchemaName;
  contentType?: string;
  /** For a resource created (201): what its `Location` header names (RFC 9110 §15.3.2). */
  location?: string;
}

export interface OperationSpec {
  summary: string;
  description?: string;
  tag: 'People' | 'Fraud prevention' | 'Consents' | 'Linkage review' | 'Audit' | 'Operations' | 'Reference';
  /** Bearer token required; the request goes through the access-logged request path. */
  authenticated: boolean;
  /**
   * Whether the operation reads `X-Purpose`: required to succeed, or optional, with when it is
   * needed all the same (the header's description in the document).
   */
  purpose?: 'required' | { optional: string };
  pathParameters?: Record<string, { description: string; schema: z.ZodType }>;
  /** The query the handler parses; each property becomes a query parameter. */
  query?: z.ZodObject;
  requestBody?: ComponentSchemaName;
  responses: OperationResponse[];
  /** Problem types particular to this operation; those of the request path are added for authenticated ones. */
  problems: ProblemCode[];
}

/** Every authenticated call can end in these, whatever the operation. */
export const REQUEST_PATH_PROBLEMS: readonly ProblemCode[] = [
  // Authorization, X-Purpose or Content-Type sent twice (repeated-header.ts), or a token in the URL.
  'invalid-request',
  'unauthenticated',
  'party-unknown',
  'rate-limited',
  'internal-error',
  'authentication-unavailable',
  'audit-log-unavailable',
];

/**
 * What the local host's HTTP server answers itself, before any function, whatever the
 * operation (local/http-server.ts): a request it cannot read, is not sent in time, carries an
 * `Expect` it cannot meet, headers or a URL over its limit, an HTTP version other than 1.0 or 1.1,
 * a method the parser does not know (methods are case-sensitive: a client that sends `get` meets
 * it on any path), or a method the path is not served for.
 */
export const HTTP_SERVER_PROBLEMS: readonly ProblemCode[] = [
  'invalid-request',
  'method-not-allowed',
  'request-timeout',
  'expectation-failed',
  'request-header-fields-too-large',
  'uri-too-long',
  'method-not-implemented',
  'http-version-not-supported',
];

const BODY_PROBLEMS: ProblemCode[] = ['invalid-request', 'unsupported-media-type', 'payload-too-large'];

const LOOKUP_PROBLEMS: ProblemCode[] = [
  'purpose-required',
  'purpose-unknown',
  'purpose-not-permitted',
  'role-not-permitted',
  'action-not-permitted',
  'dataset-unknown',
  'dataset-not-permitted',
  // A subject's missing consent or opt-out answers no-match too (people-api.ts).
  'no-match',
];

const REVIEW_PROBLEMS: ProblemCode[] = [
  'purpose-required',
  'purpose-unknown',
  'purpose-not-permitted',
  'role-not-permitted',
  'action-not-permitted',
];

const candidateId = { description: 'The `candidateId` from the candidate list', schema: z.uuid() };

const personRef = {
  description:
    'A `personRef` from an earlier search by the same party; a ref issued to another party is unknown (404).',
  schema: personRefSchema,
};

export const OPERATIONS: Record<string, OperationSpec> = {
  peopleSearch: {
    summary: 'Find a person and see what the agreement grants',
    description:
      "Looks the person up by the identifiers the caller holds, most reliable first (NHS number, UPN or NI number; system ids; date of birth and names; postcode and names), among the people the agreement's linkage has formed, and returns the person's records cut down to the fields the agreement grants the caller's roles for the stated purpose, each with its source and as-of date. No link, no data: 404 `no-match`.",
    tag: 'People',
    authenticated: true,
    purpose: 'required',
    requestBody: 'PersonSearchRequest',
    responses: [
      { status: 200, description: 'The matched person, minimised to the granted fields', schema: 'PersonView' },
    ],
    // subject-relinked: a linking pass moved the person's records out twice while it answered.
    problems: [...BODY_PROBLEMS, 'invalid-identifier', ...LOOKUP_PROBLEMS, 'subject-relinked', 'key-unavailable'],
  },
  peopleView: {
    summary: 'See a person again by reference',
    description: 'The same view as a search, for a `personRef` the calling party was given earlier.',
    tag: 'People',
    authenticated: true,
    purpose: 'required',
    pathParameters: { personRef },
    responses: [{ status: 200, description: 'The person, minimised to the granted fields', schema: 'PersonViewByRef' }],
    problems: [...LOOKUP_PROBLEMS.filter((code) => !code.startsWith('dataset-')), 'key-unavailable'],
  },
  duplicateChecks: {
    summary: 'Check for a housing application with another council',
    description:
      'Purpose `fraud-prevention`, action `duplicate-check`: says which other partner councils hold an application for the person on their register, and nothing of what it says.',
    tag: 'Fraud prevention',
    authenticated: true,
    purpose: 'required',
    requestBody: 'DuplicateCheckRequest',
    responses: [
      { status: 200, description: 'Whether, and with which councils, an application exists', schema: 'DuplicateCheck' },
    ],
    problems: [
      ...BODY_PROBLEMS,
      'invalid-identifier',
      'purpose-required',
      'purpose-unknown',
      'purpose-not-permitted',
      'role-not-permitted',
      'action-not-permitted',
      'ambiguous-match',
      // subject-relinked: a linking pass moved the person's records out twice while it answered.
      'subject-relinked',
      'key-unavailable',
    ],
  },
  consentsRecord: {
    summary: 'Record a consent or a national data opt-out',
    description:
      "A consent for the `X-Purpose` purpose, by the party and roles the agreement names as its consent source; or an opt-out, by a DPO of a party to an agreement the opt-out applies to. A consent names one person: identifiers that reach several record nothing (409 `ambiguous-match`). An opt-out is answered alike whether its identifiers reach one person held, several or one they contradict (recorded for everyone matched), or nobody held (kept as keyed hashes, to reach their records should they arrive, even where the names fit someone the identifiers contradict): never 409. Names with a date of birth or postcode and no identifier that reach nobody held are recorded too, answered alike, but reach no record that arrives later (only their names key is kept, hashed, so that recording it again is answered 200): send an identifier for that. 404 `no-match` only where nothing sent is matched on (identifiers none of the purpose's datasets match by, and no names), whoever is held.",
    tag: 'Consents',
    authenticated: true,
    purpose: 'required',
    requestBody: 'ConsentRequest',
    responses: [
      {
        status: 201,
        description: 'Recorded',
        schema: 'Consent',
        location: 'The consent recorded: `/api/v1/consents/{consentId}`',
      },
      {
        status: 200,
        description:
          'This party already has one in force for the person (and purpose): that one, unchanged; nothing new is recorded, so one withdrawal ends it',
        schema: 'Consent',
      },
    ],
    problems: [
      ...BODY_PROBLEMS,
      'invalid-identifier',
      'purpose-required',
      'purpose-unknown',
      'purpose-not-permitted',
      'role-not-permitted',
      'no-match',
      'ambiguous-match',
      'subject-relinked',
      'key-unavailable',
    ],
  },
  consentsView: {
    summary:
      'Read a consent or opt-out: in force, withdrawn, or reaching no one (detached by a split, or its person held no more)',
    description:
      'Only the party that recorded it reads it, as only it withdraws it, and with the same roles: a consent with any of its roles in the agreement, an opt-out with its DPO role. `withdrawnAt` null: not withdrawn; `detachedAt` set or `reachesNoOne` true: in force for no one, to be recorded again. Nothing about the person is answered.',
    tag: 'Consents',
    authenticated: true,
    // Decided as the withdrawal is (consents-api.ts), X-Purpose too.
    purpose: {
      optional:
        'Needed only to read a national data opt-out, whose record carries no purpose: a purpose the national data opt-out applies to, of the agreement the person is held under, as to withdraw it. Without it, or with any other purpose, the answer is 404 `consent-unknown`, as for an id the caller may not read; the access log keeps the reason. For a consent it is ignored.',
    },
    pathParameters: { consentId: { description: 'The `consentId` returned when it was recorded', schema: z.uuid() } },
    responses: [{ status: 200, description: 'As recorded, and withdrawn or detached if it was', schema: 'Consent' }],
    // Another party's consent, and every refusal to read one, is indistinguishable from an unknown id.
    problems: ['consent-unknown'],
  },
  consentsWithdraw: {
    summary: 'Withdraw a consent or opt-out',
    description:
      "Only the party that recorded it withdraws it: a consent with any of its roles in the agreement (its DPO's, the consent-source roles, the roles that recorded it before a re-signing), an opt-out with its DPO role. Takes effect on the next request. History is kept: the record shows who withdrew it and when. A second withdrawal answers the same and changes nothing.",
    tag: 'Consents',
    authenticated: true,
    // Optional because a consent carries its own purpose; an opt-out carries none and is decided
    // under the header (consents-api.ts), whose every refusal is an unknown id: documented as
    // merely optional, a DPO who left it off saw 404 with nothing to say why.
    purpose: {
      optional:
        'Needed only to withdraw a national data opt-out, whose record carries no purpose: a purpose the national data opt-out applies to, of the agreement the person is held under (for a dataset a re-signing dropped, the agreement that last defined it; for an agreement that ended, its file removed, one of the purposes it defined). Without it, or with any other purpose, the answer is 404 `consent-unknown`, as for an id the caller may not withdraw; the access log keeps the reason. For a consent it is ignored: the consent is withdrawn under its own purpose.',
    },
    pathParameters: { consentId: { description: 'The `consentId` returned when it was recorded', schema: z.uuid() } },
    responses: [{ status: 200, description: 'Withdrawn', schema: 'Consent' }],
    // Another party's consent, and every refusal to withdraw one (an opt-out's withdrawal without
    // X-Purpose included), is indistinguishable from an unknown id; the access log keeps the reason.
    problems: ['consent-unknown'],
  },
  linkCandidates: {
    summary: 'Link candidates waiting for an officer',
    description:
      "Action `review`: the probabilistic tier's candidate links of the purpose's agreement, with the sources of their two records and no personal data. A candidate is used for nothing until confirmed.",
    tag: 'Linkage review',
    authenticated: true,
    purpose: 'required',
    query: candidateListQuerySchema,
    responses: [{ status: 200, description: 'One page of open candidates', schema: 'LinkCandidates' }],
    problems: [...REVIEW_PROBLEMS, 'invalid-request'],
  },
  linkCandidate: {
    summary: 'One link candidate, to decide on',
    description:
      'The two records, each cut down to the fields the agreement grants reviewers (identification items, never the indicators). An open candidate the list leaves out because its two people hold conflicting identifiers is 404 `candidate-unknown`, as for any candidate the list does not offer.',
    tag: 'Linkage review',
    authenticated: true,
    purpose: 'required',
    pathParameters: { candidateId },
    responses: [{ status: 200, description: 'The candidate', schema: 'LinkCandidate' }],
    problems: [...REVIEW_PROBLEMS, 'candidate-unknown'],
  },
  linkCandidateConfirm: {
    summary: 'Confirm a link candidate',
    description:
      'The two people become one person. A pair whose two people hold conflicting NHS numbers, UPNs, system ids or NI numbers (counting every record linked to each) is not listed, and its confirmation is refused 409, nothing decided. The decision is kept for the same pair of values, so it survives the next snapshots, and for the same names and dates of birth, so it survives either record moving house; a change of name or date of birth puts the pair to an officer again.',
    tag: 'Linkage review',
    authenticated: true,
    purpose: 'required',
    pathParameters: { candidateId },
    responses: [{ status: 200, description: 'Confirmed', schema: 'LinkCandidateDecision' }],
    problems: [
      ...REVIEW_PROBLEMS,
      'candidate-unknown',
      'candidate-decided',
      'candidate-not-keyed',
      'candidate-identifiers-conflict',
      'key-unavailable',
    ],
  },
  linkCandidateReject: {
    summary: 'Reject a link candidate',
    description:
      'The records stay apart, however else they are linked (a link through a third record that would join them is refused), unless they come to share an NHS number, UPN, NI number or system id; the same pair is not proposed again while both records keep their values.',
    tag: 'Linkage review',
    authenticated: true,
    purpose: 'required',
    pathParameters: { candidateId },
    responses: [{ status: 200, description: 'Rejected', schema: 'LinkCandidateDecision' }],
    problems: [...REVIEW_PROBLEMS, 'candidate-unknown', 'candidate-decided', 'candidate-not-keyed'],
  },
  auditVerify: {
    summary: 'Verify the access log',
    description:
      "Recomputes the hash chain and Merkle roots against the signed, anchored checkpoints. For the roles an agreement's `audit` block names.",
    tag: 'Audit',
    authenticated: true,
    responses: [
      {
        status: 200,
        description: 'The verification report; `ok: false` names the first entry that cannot be trusted',
        schema: 'VerificationReport',
      },
    ],
    // key-unavailable: the checkpoints' signing key could not be read this time (the verify's
    // report is no forgery for want of it); a version that is gone is reported, not refused.
    problems: ['role-not-permitted', 'key-unavailable'],
  },
  auditInclusionProof: {
    summary: 'Prove an access-log entry is in the log',
    description:
      'A Merkle inclusion proof, against the latest anchored checkpoint covering the entry unless `treeSize` is given.',
    tag: 'Audit',
    authenticated: true,
    query: inclusionQuerySchema,
    responses: [{ status: 200, description: 'The proof', schema: 'InclusionProof' }],
    // key-unavailable: the checkpoint a proof leads to is handed out only once its signature is
    // checked against the log's signing key (audit-service.ts's intactCheckpoints).
    problems: ['role-not-permitted', 'invalid-request', 'entry-unknown', 'log-inconsistent', 'key-unavailable'],
  },
  auditConsistencyProof: {
    summary: 'Prove the log only grew between two sizes',
    tag: 'Audit',
    authenticated: true,
    query: consistencyQuerySchema,
    responses: [{ status: 200, description: 'The proof', schema: 'ConsistencyProof' }],
    // key-unavailable: as for an inclusion proof.
    problems: ['role-not-permitted', 'invalid-request', 'tree-size-unknown', 'log-inconsistent', 'key-unavailable'],
  },
  auditPersonAccesses: {
    summary: 'Who accessed a person, by reference',
    description:
      "Every access-log entry about the person a `personRef` of the DPO's own party names — who (party, client, roles), why (purpose), what (action, fields released) and the outcome — within the agreements whose `audit` block names the caller's role. Oldest first, paged by sequence number.",
    tag: 'Audit',
    authenticated: true,
    pathParameters: { personRef },
    query: pageQuerySchema,
    responses: [{ status: 200, description: 'The entries', schema: 'PersonAccesses' }],
    // subject-relinked: a linking pass moved the person's records out twice while it answered.
    problems: ['role-not-permitted', 'invalid-request', 'no-match', 'subject-relinked', 'key-unavailable'],
  },
  auditPersonAccessesSearch: {
    summary: 'Who accessed a person, by identifiers',
    description:
      "As by reference, for a person found by identifiers the way a search finds them, over the audited agreements' datasets; and someone held by none whose opt-out was kept: by its identifiers' hashes, or, recorded by names alone, by the names with the date of birth or postcode.",
    tag: 'Audit',
    authenticated: true,
    requestBody: 'PersonAccessesRequest',
    responses: [
      {
        status: 200,
        description: "The entries, and the person's reference for the caller's party",
        schema: 'PersonAccesses',
      },
    ],
    problems: [
      ...BODY_PROBLEMS,
      'role-not-permitted',
      'invalid-identifier',
      'no-match',
      'unsettled-match',
      // subject-relinked: a linking pass moved the person's records out twice while it answered.
      'subject-relinked',
      'key-unavailable',
    ],
  },
  auditClientActivity: {
    summary: 'Everything one client did in a period',
    description:
      "Access-log entries of one client id in [from, to), oldest first, paged by sequence number; each with the person's reference for the caller's party.",
    tag: 'Audit',
    authenticated: true,
    pathParameters: {
      clientId: { description: 'The client (application) id from the bearer token', schema: clientIdParamSchema },
    },
    query: clientActivityQuerySchema,
    responses: [{ status: 200, description: 'The entries', schema: 'ClientActivity' }],
    problems: ['role-not-permitted', 'invalid-request', 'key-unavailable'],
  },
  auditAlerts: {
    summary: 'Alerts raised by the watch rules',
    description:
      "Newest first, paged by `after` (the previous page's `next`). Rules: `lookup-volume` (a client's lookups in any sixty minutes above 5× its hourly average of the previous 7 days and at least 100), `out-of-hours` (lookups outside weekdays 07:00–19:00 UK time, England and Wales bank holidays out of hours all day, one alert per client and period), `no-match-run` (10 or more consecutive no-match/ambiguous lookups), `special-category-volume` (entries releasing special-category fields in any sixty minutes, per client, above 5× the hourly average and at least 20; `role` lists the roles they were made under). Each rule counts a client's entries per agreement, and an alert is shown only to the DPOs of its `agreementId`.",
    tag: 'Audit',
    authenticated: true,
    query: alertsQuerySchema,
    responses: [{ status: 200, description: 'The alerts', schema: 'Alerts' }],
    problems: ['role-not-permitted', 'invalid-request'],
  },
  auditAlertsEvaluate: {
    summary: 'Run the watch rules now',
    description:
      'What the five-minute timer does. A firing already on record for the same rule, client and window is not raised again.',
    tag: 'Audit',
    authenticated: true,
    responses: [{ status: 200, description: 'The alerts this run raised', schema: 'WatchRun' }],
    problems: ['role-not-permitted'],
  },
  auditBreachOpen: {
    summary: 'Open a breach record from an alert',
    description:
      'Fixes the ICO notification deadline at 72 hours from now (UK GDPR Art. 33) and shows the hours remaining. Opening it again returns the same record (200), with the clock unchanged.',
    tag: 'Audit',
    authenticated: true,
    pathParameters: { alertId: { description: 'The `id` of an alert', schema: z.string().regex(/^[0-9a-f]{32}$/) } },
    responses: [
      {
        status: 201,
        description: 'Opened',
        schema: 'Breach',
        location: 'The breach record opened: `/api/v1/audit/breaches/{id}`, below which its steps are recorded',
      },
      { status: 200, description: 'Already open for this alert', schema: 'Breach' },
    ],
    problems: ['role-not-permitted', 'not-found'],
  },
  auditBreachStep: {
    summary: 'Record a step on a breach record',
    description:
      "The ICO notified (`at`), the partner parties notified (`at`), the breach judged not reportable (`reason`, a code: UK GDPR Art. 33(5)), or the record closed — once the ICO is notified or the breach judged not reportable. Each step is recorded once: sent again as it was, the record is returned unchanged (200); with another time or reason, 409 `breach-step-refused`. A breach judged not reportable may still be notified to the ICO; one notified may not be judged not reportable. Once the ICO is notified or the breach judged not reportable it is no longer `overdue`; a notification after the deadline shows `notifiedLate`. Times may not be in the future. A breach record from an alert outside the caller's audit scope is 404.",
    tag: 'Audit',
    authenticated: true,
    pathParameters: {
      breachId: { description: 'The `id` of a breach record', schema: z.uuid() },
    },
    requestBody: 'BreachStepRequest',
    responses: [{ status: 200, description: 'The breach record with the step recorded', schema: 'Breach' }],
    problems: ['role-not-permitted', ...BODY_PROBLEMS, 'not-found', 'breach-step-refused'],
  },
  auditBreaches: {
    summary: 'Breach records and their ICO deadlines',
    tag: 'Audit',
    authenticated: true,
    query: breachesQuerySchema,
    responses: [
      { status: 200, description: 'Newest first, each with the hours left to notify the ICO', schema: 'Breaches' },
    ],
    problems: ['role-not-permitted', 'invalid-request'],
  },
  auditBreach: {
    summary: 'One breach record and its ICO deadline',
    description:
      "The record its opening's 201 names in `Location`, as the list shows it: the hours left to notify the ICO and the steps recorded. A breach record from an alert outside the caller's audit scope is 404, as one that does not exist.",
    tag: 'Audit',
    authenticated: true,
    pathParameters: {
      breachId: { description: 'The `id` of a breach record', schema: z.uuid() },
    },
    responses: [{ status: 200, description: 'The breach record', schema: 'Breach' }],
    problems: ['role-not-permitted', 'not-found'],
  },
  health: {
    summary: 'Liveness and readiness',
    description: "Component names and up/down only; unauthenticated, for the platform's probes.",
    tag: 'Operations',
    authenticated: false,
    responses: [
      { status: 200, description: 'Every component is up', schema: 'HealthReport' },
      { status: 503, description: 'A component is down', schema: 'HealthReport' },
    ],
    problems: ['internal-error'],
  },
  openapi: {
    summary: 'This document',
    description: 'OpenAPI 3.1, generated from the same zod schemas the API validates with.',
    tag: 'Reference',
    authenticated: false,
    responses: [{ status: 200, description: 'The OpenAPI document', schema: 'OpenApiDocument' }],
    problems: ['internal-error'],
  },
  docs: {
    summary: 'The API reference page',
    description: 'Swagger UI over this document, served by lintel itself (works offline).',
    tag: 'Reference',
    authenticated: false,
    responses: [{ status: 200, description: 'An HTML page', contentType: 'text/html' }],
    problems: ['internal-error'],
  },
  docsAsset: {
    summary: 'A file of the reference page',
    tag: 'Reference',
    authenticated: false,
    pathParameters: {
      asset: { description: "One of the page's own files", schema: z.enum(DOCS_ASSET_NAMES as [string, ...string[]]) },
    },
    responses: [{ status: 200, description: 'The file (CSS, JavaScript or PNG)', contentType: '*/*' }],
    problems: ['not-found', 'internal-error'],
  },
};
