/**
 * The data protection officer's views of the access log: who accessed a person, what one client
 * did, the watch rules' alerts, and breach records with their ICO deadline. Open to the roles an
 * agreement's `audit` block names, over that agreement's part of the log only; every call goes
 * through the request path, so reading the log is itself logged.
 */
import { z } from 'zod';
import { namesKeyMatches } from '../consents/opt-out-names-key.js';
import { currentPersonId, lastMoveOutCommitted } from '../people/current-person-id.js';
import { normaliseClientId } from '../agreements/party-directory.js';
import { alertInScope, alertPosition, listAlerts, findAlert, type Alert } from '../audit/alerts.js';
import {
  breachPosition,
  findBreach,
  listBreaches,
  NOT_REPORTABLE_REASONS,
  openBreach,
  recordBreachStep,
  type BreachRecord,
  type BreachStep,
  type BreachStepRefusal,
} from '../audit/breach-records.js';
import type { Store } from '../store/database.js';
import { accessesToPerson, clientActivity, datasetsShown } from '../audit/dpo-views.js';
import { AUDIT_PURPOSE } from '../audit/entry-agreements.js';
import { findSuspiciousActivity, logRaised, recordFindings, WATCH_RULES } from '../audit/watch-rules.js';
import { json, problem, type HttpResult } from '../http/problem.js';
import { everyMatch } from '../people/find-person.js';
import { identifierUseOf } from '../people/lookup-identifiers.js';
import { keptHashSetsUnder, retiredContradicts, retiredMatches } from '../people/retired-identifiers.js';
import { canonicalQuery, personQuerySchema } from '../people/person-query.js';
import type { PersonRefCodec } from '../people/person-ref.js';
import type { ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { isoTime } from './iso-time.js';
import { readJsonBody } from './json-body.js';
import { personRefSchema } from './person-ref-schema.js';
import { notCompared, notComparedSchema } from './not-compared.js';
import { answerSettled } from './settled-answer.js';
import { servedPath } from './served-path.js';
import { deny, runRequest, type Outcome } from './request-pipeline.js';
import { asAuditor, auditQuery } from './as-auditor.js';

const MAX_PAGE = 500;
const after = z.coerce
  .number()
  .int()
  .min(0)
  .max(Number.MAX_SAFE_INTEGER)
  .default(0)
  .describe('Sequence number to continue after (`next` of the previous page)');
const limit = z.coerce.number().int().min(1).max(MAX_PAGE).default(100).describe('Entries per page');

export const pageQuerySchema = z.object({ after, limit });
export const personAccessesBodySchema = personQuerySchema
  .extend({
    after: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.int().min(1).max(MAX_PAGE).optional(),
  })
  .describe('Identifiers of the person, as for a search, and optionally the page');
export const clientActivityQuerySchema = z.object({
  from: isoTime.describe('Start of the period (inclusive), ISO 8601'),
  to: isoTime.describe('End of the period (exclusive), ISO 8601'),
  after,
  limit,
});
const listAfter = (item: string) =>
  z
    .string()
    .regex(/^[0-9a-f-]{32,36}$/)
    .optional()
    .describe(`The id of the last ${item} of the previous page (its \`next\`)`);
const listNext = z.string().nullable().describe('`after` for the next page, or null at the end');
export const alertsQuerySchema = z.object({
  status: z.enum(['open', 'breach-opened']).optional(),
  limit,
  after: listAfter('alert'),
});
export const breachesQuerySchema = z.object({
  status: z.enum(['open', 'notified', 'closed']).optional(),
  limit,
  after: listAfter('breach record'),
});

export const accessEntrySchema = z.object({
  seq: z.number().int(),
  time: isoTime,
  requestId: z.string(),
  partyId: z.string(),
  clientId: z.string(),
  roles: z.array(z.string()),
  purpose: z.string(),
  action: z.string(),
  datasets: z.array(z.string()),
  fields: z.array(z.string()).describe('`dataset.field` names released'),
  decision: z.string(),
  reasonCode: z.string(),
});
const next = z.number().int().nullable().describe('`after` for the next page, or null at the end');
const matchSchema = z.object({
  personRef: personRefSchema.describe("The person's reference for the DPO's own party"),
  tier: z.number().int().describe('The most reliable matching tier that found them (1 the surest)'),
});
export const possiblySamePersonSchema = z.object({
  personRef: personRefSchema.describe("The other id's reference for the DPO's own party: follow it as any reference"),
  relation: z
    .enum(['earlier', 'later'])
    .describe(
      "`earlier`: the opt-out was carried from that id to one of this person's; `later`: from one of this person's to that id",
    ),
  at: isoTime.describe('When the opt-out was carried'),
});
export const personAccessesResponseSchema = z.object({
  personRef: personRefSchema.describe("The person's reference for the DPO's own party"),
  entries: z.array(accessEntrySchema),
  next,
  possiblySamePerson: z
    .array(possiblySamePersonSchema)
    .describe(
      "Other ids that may be this person's: a national data opt-out was carried between them and this person's ids, to a plausible successor record under another id (a re-sent record the import could not follow, or a person arriving in another party's dataset). Their accesses are not in `entries` (a plausible successor may be someone else); follow each reference and judge",
    ),
  otherMatches: z
    .array(matchSchema)
    .optional()
    .describe(
      'By identifiers only: other people the identifiers match at weaker tiers (say, the same person held twice under two NHS numbers); follow each by reference if they may be the requester too',
    ),
  notCompared: notComparedSchema.optional(),
});
export const clientActivityResponseSchema = z.object({
  clientId: z.string(),
  from: isoTime,
  to: isoTime,
  entries: z.array(
    accessEntrySchema.extend({
      subjectRefs: z
        .array(personRefSchema)
        .describe(
          "A reference for the DPO's own party to each person the entry was about: two for a link review, none for an entry about no one",
        ),
      subjectRef: personRefSchema
        .nullable()
        .describe(
          'The first of `subjectRefs`, or null when there is none (kept for clients that read one reference; an entry about several people names the others only in `subjectRefs`)',
        ),
    }),
  ),
  next,
});
export const alertSchema = z.object({
  id: z.string(),
  rule: z.enum(WATCH_RULES),
  clientId: z.string(),
  partyId: z.string(),
  agreementId: z
    .string()
    .nullable()
    .describe(
      'The agreement whose business the counted entries are: only its DPOs see the alert. Null for one raised before alerts carried an agreement, shown to the DPOs of every agreement its party signed',
    ),
  role: z
    .string()
    .nullable()
    .describe(
      'For special-category-volume, the roles the counted entries were made under, joined by commas; null for the other rules',
    ),
  windowStart: isoTime.describe(
    "Start of the window: for the volume rules, sixty minutes before its end, or earlier for a burst that runs out of the alert before it, from the first of the sixty minutes that put it over the threshold (that window overlaps the one before it); for out-of-hours, the out-of-hours period's start; for a no-match run, the run's first entry; for the alert of what a window or run held after a breach record was opened from the alert before it, the moment the breach was opened (for a run, its first entry after it)",
  ),
  windowEnd: isoTime.describe("End of the window; for a no-match run, the run's last entry as last evaluated"),
  count: z
    .number()
    .int()
    .describe(
      "Entries in the window (or run) as of the latest evaluation that saw it, not only the first, up to the opening of a breach record from the alert: the entries after it are a new alert's; where two volume alerts overlap, the entries in the overlap are counted in each",
    ),
  baseline: z.number().nullable().describe('Average an hour over the previous days, for the volume rules'),
  raisedAt: isoTime,
  status: z.enum(['open', 'breach-opened']),
});
export const alertsResponseSchema = z.object({ alerts: z.array(alertSchema), next: listNext });
export const watchRunResponseSchema = z.object({
  evaluatedAt: isoTime,
  findings: z.number().int().describe('Findings in the whole log, including ones alerted before'),
  raised: z.array(alertSchema).describe("Alerts new with this run, within the caller's audit scope"),
});
export const breachSchema = z.object({
  id: z.string(),
  alertId: z.string(),
  openedAt: isoTime.describe('When the controller became aware; the deadline runs from here'),
  openedBy: z.string(),
  icoDeadline: isoTime.describe('openedAt + 72 hours (UK GDPR Art. 33)'),
  status: z
    .enum(['open', 'notified', 'closed'])
    .describe('`notified` once the ICO notification is recorded, `closed` once closed'),
  icoNotifiedAt: isoTime.nullable().describe('When the ICO was notified, as recorded; null until then'),
  partnersNotifiedAt: isoTime
    .nullable()
    .describe('When the partner parties were notified, as recorded; null until then'),
  notReportable: z
    .object({
      reason: z.string().describe(`One of ${NOT_REPORTABLE_REASONS.map((r) => `\`${r}\``).join(', ')}`),
      at: isoTime.describe('When the judgement was recorded'),
    })
    .nullable()
    .describe('The breach judged not reportable to the ICO (UK GDPR Art. 33(5)); null unless so judged'),
  closedAt: isoTime.nullable(),
  hoursRemaining: z
    .number()
    .nullable()
    .describe(
      'Hours until the ICO deadline, one decimal; negative once passed; null once the ICO is notified or the breach judged not reportable',
    ),
  overdue: z.boolean().describe('Past the deadline with the ICO neither notified nor the breach judged not reportable'),
  notifiedLate: z.boolean().describe('The ICO was notified after the deadline'),
  partnersDeadline: isoTime
    .nullable()
    .describe(
      "When the partner parties must have been told, as the breach's agreement asks (`breachNotification`); null where it asks none",
    ),
  partnersHoursRemaining: z
    .number()
    .nullable()
    .describe(
      "Hours until the partners' deadline, one decimal; negative once passed; null where there is none, once they are told, or once the accesses were judged authorised (the ICO not notified)",
    ),
  partnersOverdue: z
    .boolean()
    .describe("Past the partners' deadline with them neither told nor the accesses judged authorised"),
  partnersNotifiedLate: z.boolean().describe('The partner parties were told after their deadline'),
});
const stepTime = isoTime.describe(
  'When it was done, ISO 8601; not in the future, nor before the breach began (the start of its alert window)',
);
export const breachStepBodySchema = z
  .discriminatedUnion('step', [
    z.strictObject({ step: z.literal('ico-notified'), at: stepTime }),
    z.strictObject({ step: z.literal('partners-notified'), at: stepTime }),
    z.strictObject({
      step: z.literal('not-reportable'),
      reason: z.enum(NOT_REPORTABLE_REASONS).describe('Why it need not be reported: a code, never free text'),
    }),
    z.strictObject({ step: z.literal('closed') }),
  ])
  .describe(
    "One step on an open breach record: the ICO notified, the partner parties notified, the breach judged not reportable, or the record closed (once the ICO question is settled, and the partners told where the breach's agreement asks it)",
  );
export const breachesResponseSchema = z.object({ breaches: z.array(breachSchema), next: listNext });

const AUDIT = { purpose: AUDIT_PURPOSE } as const;

const invalidQuery = (detail: string) => deny(problem('invalid-request', { detail }), 'invalid-request', AUDIT);
const allow = (
  result: HttpResult,
  reasonCode: string,
  subjectRef: string | null = null,
  datasets: readonly string[] = [],
): Outcome => ({
  result,
  log: { ...AUDIT, subjectRef, datasets, decision: 'allow', reasonCode },
});

/** A person's accesses as answered: the ids that may be the same person by the DPO's own audit refs. */
function withRefs(
  refs: PersonRefCodec,
  partyId: string,
  { possiblySamePerson, ...page }: Awaited<ReturnType<typeof accessesToPerson>>,
) {
  return {
    ...page,
    possiblySamePerson: possiblySamePerson.map(({ personId, relation, at }) => ({
      personRef: refs.encode(partyId, personId, 'audit'),
      relation,
      at,
    })),
  };
}

/** GET /api/v1/audit/people/{personRef}/accesses */
export function personAccessesByRef(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.person-accesses', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const page = auditQuery(req, pageQuerySchema);
      if (!page) return invalidQuery('after must be a sequence number and limit 1–500.');
      const personRef = req.params.personRef ?? '';
      // The DPO's own audit refs, or a ref a lookup of the DPO's party was given.
      const personId = (await ctx.personRefs()).decode(call.caller.partyId, personRef, ['audit', 'lookup']);
      if (!personId)
        return deny(problem('no-match', { detail: 'No such person reference.' }), 'person-ref-unknown', AUDIT);
      // A person merged into another since the ref was issued is that person now, whose history
      // holds this id until the merge (found by a review: the accesses logged under the id that
      // survived were missing). Deleted once merged, it is the id it merged into, as that id was
      // when the records went (found by a review: the reference showed only what was logged
      // before the merge). Split, or deleted under several ids, the id's own history is what
      // there is.
      // Where a pass that moved records out of the id followed committed while the log was read
      // (by its commit time, less a margin: settled-answer.ts), the reference is followed again
      // (found by a defect hunt: a merge committed between the two reads showed only the id that
      // gave way).
      const { store } = ctx.services;
      return answerSettled(ctx, async (settledSince) => {
        const now = await currentPersonId(store, personId);
        const subject =
          now.kind === 'current' ? now.personId : now.kind === 'gone' ? (now.lastHeldBy ?? personId) : personId;
        const found = await accessesToPerson(store, scope, subject, page, ctx.services.logger);
        const movedOut = await lastMoveOutCommitted(store, subject);
        const refs = await ctx.personRefs();
        return movedOut <= settledSince
          ? allow(
              json(200, { personRef, ...withRefs(refs, call.caller.partyId, found) }),
              'accesses-shown',
              subject,
              await datasetsShown(store, scope, subject, found.entries),
            )
          : { movedOut, log: AUDIT };
      });
    }),
  );
}

/** POST /api/v1/audit/people/accesses — the person found by identifiers, as a search would. */
export function personAccessesByIdentifiers(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.person-accesses', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const body = await readJsonBody(req, personAccessesBodySchema);
      if (!body.ok) return deny(body.result, body.reason, AUDIT);
      const { after: from = 0, limit: size = 100, ...identifiers } = body.value;
      const canonical = canonicalQuery(identifiers, ctx.now());
      if (!canonical.ok) {
        return deny(
          problem('invalid-identifier', {
            field: canonical.field,
            reason: canonical.reason,
          }),
          'invalid-identifier',
          AUDIT,
        );
      }
      // The reads below are each of the committed store at their moment, as a search's are
      // (people-api.ts): a linking pass can commit between the match and the read of the log.
      // Records that moved out of the id matched by a pass that committed since a time before the
      // match (less a margin: settled-answer.ts) leave the answer unsettled, and the person is
      // matched again from the move's time (found by a defect hunt: a request straddling a merge
      // showed only the accesses logged under the id that gave way, and named the id the person
      // merged into as another match; one straddling a split named, and logged the request
      // against, the namesake the split left under the id).
      return answerSettled(ctx, async (settledSince, retry) => {
        // Retired hashes too: a version only they hold is loaded for this request alone. Read
        // before the match, and the match made with them, so that it hashes under every version
        // the store holds now too, as everyone else below is found. A request by names and date
        // of birth alone hashes nothing for the match (nor are the deleted records found by
        // names): it is answered while a version cannot be read, but one an opt-out's names key
        // is kept under (below).
        const { pseudonymisers, keyVersionsGone } = await ctx.subjectAccessPseudonymisers(canonical.query);
        // The date of birth refuses the postcode step's person alone (find-person.ts DateOfBirthCheck):
        // the DPO, not the lookup, judges whom a request's identifiers name.
        const found = await ctx.findPerson(canonical.query, scope.datasets, undefined, pseudonymisers, 'postcode-step');
        const identifierUse = identifierUseOf(ctx.services.agreements);
        // Said in every answer, a 404 and a 409 as much as the accesses: a "no match" may be the
        // requester's hashes under the version gone. Counted only where an identifier given is
        // searched, where they would have been compared.
        const searched = scope.datasets.filter((d) =>
          canonical.query.identifiers.some((g) => identifierUse(d, g.kind)),
        );
        const lacking = notCompared(await keptHashSetsUnder(ctx.services.store, keyVersionsGone, searched));
        const uncompared = lacking === undefined ? {} : { notCompared: lacking };
        // A lookup stops at the first tier that finds someone; a subject access request must see
        // everyone the identifiers reach, for the DPO to judge who is the requester.
        const held = await everyMatch(
          ctx.services.store,
          pseudonymisers,
          canonical.query,
          scope.datasets,
          identifierUse,
        );
        // And those whose records retention has deleted since: the log still holds their accesses.
        const retired = (
          await retiredMatches(ctx.services.store, pseudonymisers, canonical.query, scope.datasets, identifierUse)
        ).filter((r) => !held.some((h) => h.personId === r.personId));
        // And those whose identifiers only an opt-out keeps: one recorded for a person not held,
        // or a departed opted-out person's. Its recording is a processing of their data the
        // requester is owed, logged under an id no record holds (found by a defect hunt: a request
        // for a person not held answered 404, though their opt-out had been recorded).
        const keptByIdentifiers = await retiredMatches(
          ctx.services.store,
          pseudonymisers,
          canonical.query,
          scope.datasets,
          identifierUse,
          'opt_out_kept_identifier',
        );
        // And those an opt-out recorded by names alone for nobody held keeps the names key of:
        // by names alone no version is read for the lookup, so those names keys are kept under
        // are (found by a review: such a request answered 404, as only identifiers were looked
        // for among kept hashes). By identifiers too, every version kept is among the request's.
        const keptByNames = await namesKeyMatches(
          ctx.services.store.db,
          pseudonymisers.length > 0 ? pseudonymisers : await ctx.namesKeyPseudonymisers(),
          canonical.query,
          scope.datasets,
        );
        const kept = [
          ...keptByIdentifiers,
          ...keptByNames.filter((n) => !keptByIdentifiers.some((k) => k.personId === n.personId)),
        ].filter((k) => ![...held, ...retired].some((h) => h.personId === k.personId));
        // Matched on records retention deleted before they were read again: matched once more, as
        // after the deletion, rather than set against their own kept hashes (found by a defect
        // hunt: 409 unsettled-match listing the one person, as 'ambiguous').
        if (found.found && !retry && retired.some((r) => r.personId === found.personId))
          return { movedOut: settledSince, log: AUDIT };
        const everyone = [...held, ...retired, ...kept];
        const refs = await ctx.personRefs();
        const refOf = ({ personId, tier }: { personId: string; tier: number }) => ({
          personRef: refs.encode(call.caller.partyId, personId, 'audit'),
          tier,
        });
        // Found only among the deleted records or an opt-out's kept keys, and not contradicted
        // there: that person's accesses.
        let deleted: string | undefined;
        const gone = [
          ...retired.map((r) => ({ ...r, table: 'retired_identifier' as const })),
          ...kept.map((k) => ({ ...k, table: 'opt_out_kept_identifier' as const })),
        ];
        const [onlyGone] = gone;
        if (!found.found && held.length === 0 && gone.length === 1 && onlyGone !== undefined) {
          const { store } = ctx.services;
          const { personId, table } = onlyGone;
          if (!(await retiredContradicts(store, pseudonymisers, canonical.query, scope.datasets, personId, table)))
            deleted = personId;
        }
        if (deleted !== undefined) {
          const personRef = refs.encode(call.caller.partyId, deleted, 'audit');
          const page = await accessesToPerson(
            ctx.services.store,
            scope,
            deleted,
            { after: from, limit: size },
            ctx.services.logger,
          );
          return allow(
            json(200, { personRef, ...withRefs(refs, call.caller.partyId, page), otherMatches: [], ...uncompared }),
            'accesses-shown',
            deleted,
            await datasetsShown(ctx.services.store, scope, deleted, page.entries),
          );
        }
        // Someone whose deleted records held an identifier given is named by it as surely as the
        // person found: a system id social care reused would otherwise show its new holder's
        // accesses to the person it was first issued to. As two people held would, neither is shown.
        const reason = !found.found
          ? found.reason
          : retired.length === 0
            ? undefined
            : retired.some((r) => r.tier <= found.tier)
              ? 'ambiguous'
              : 'identifier-conflict';
        if (!found.found || reason !== undefined) {
          const unsettled = reason ?? 'no-match';
          if (everyone.length > 0) {
            return deny(
              problem('unsettled-match', {
                detail: 'Follow each reference to see the accesses to that person.',
                reason: unsettled,
                matches: everyone.map(refOf),
                ...uncompared,
              }),
              unsettled,
              AUDIT,
            );
          }
          return deny(
            problem('no-match', {
              detail: 'No single person matched; nothing is shown.',
              ...uncompared,
            }),
            unsettled,
            AUDIT,
          );
        }
        const personRef = refs.encode(call.caller.partyId, found.personId, 'audit');
        const page = await accessesToPerson(
          ctx.services.store,
          scope,
          found.personId,
          { after: from, limit: size },
          ctx.services.logger,
        );
        // An opt-out's kept keys that reached the person found are named once, as the id the
        // opt-out was carried from.
        const named = new Set(page.possiblySamePerson.map((p) => p.personId));
        const otherMatches = everyone
          .filter((match) => match.personId !== found.personId && !named.has(match.personId))
          .map(refOf);
        const movedOut = await lastMoveOutCommitted(ctx.services.store, found.personId);
        return movedOut <= settledSince
          ? allow(
              json(200, { personRef, ...withRefs(refs, call.caller.partyId, page), otherMatches, ...uncompared }),
              'accesses-shown',
              found.personId,
              await datasetsShown(ctx.services.store, scope, found.personId, page.entries),
            )
          : { movedOut, log: AUDIT };
      });
    }),
  );
}

/** The `clientId` path parameter: the OpenAPI document describes it by this schema (operations.ts). */
export const clientIdParamSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/);

/**
 * The first whole millisecond at or after an ISO 8601 time. Entries are logged to the millisecond,
 * so one is at or after this exactly when it is at or after the time given: a time given past the
 * millisecond (.NET writes seven digits) was cut down to it, and a period then took in the entry
 * of the millisecond before its start, and left out the one of the millisecond before its end.
 */
function firstMillisecondFrom(time: string): string {
  const beyondMillisecond = /\.\d{3}(\d+)/.exec(time)?.[1] ?? '';
  return new Date(Date.parse(time) + (/[1-9]/.test(beyondMillisecond) ? 1 : 0)).toISOString();
}

/** GET /api/v1/audit/clients/{clientId}/activity?from=&to= */
export function clientActivityInPeriod(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.client-activity', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const q = auditQuery(req, clientActivityQuerySchema);
      const clientId = normaliseClientId(req.params.clientId ?? '');
      if (!q || !clientIdParamSchema.safeParse(clientId).success)
        return invalidQuery('from and to must be ISO 8601 times, clientId a client id.');
      const from = firstMillisecondFrom(q.from);
      const to = firstMillisecondFrom(q.to);
      if (from >= to) return invalidQuery('from must be before to.');
      const refs = await ctx.personRefs();
      const page = await clientActivity(ctx.services.store, scope, clientId, { from, to }, q);
      // One reference a person: the accesses view decodes a reference to one person id.
      const entries = page.entries.map(({ subjectIds, ...entry }) => {
        const subjectRefs = subjectIds.map((id) => refs.encode(call.caller.partyId, id, 'audit'));
        return { ...entry, subjectRefs, subjectRef: subjectRefs[0] ?? null };
      });
      return allow(json(200, { clientId, from, to, entries, next: page.next }), 'activity-shown');
    }),
  );
}

/** GET /api/v1/audit/alerts */
export function listAuditAlerts(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.alerts', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const q = auditQuery(req, alertsQuerySchema);
      if (!q) return invalidQuery('status must be open or breach-opened, limit 1–500, after an alert id.');
      const { store } = ctx.services;
      const after = q.after === undefined ? undefined : await alertPosition(store, scope, q.after);
      // An alert outside the caller's scope is as unknown as one that does not exist.
      if (q.after !== undefined && !after) return invalidQuery('after must be the id of an alert of a previous page.');
      const read = await listAlerts(store, { scope, status: q.status, limit: q.limit + 1, after });
      const alerts = read.slice(0, q.limit);
      const next = read.length > q.limit ? alerts[alerts.length - 1]!.id : null;
      return allow(json(200, { alerts, next }), 'alerts-listed');
    }),
  );
}

/** POST /api/v1/audit/alerts/evaluate — run the watch rules now rather than at the next timer. */
export function evaluateWatchRules(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.watch', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const { store, agreements, logger } = ctx.services;
      const at = ctx.now();
      const findings = await findSuspiciousActivity(store, agreements, at);
      // The alerts and the run's access-log entry commit together, or neither does: raised with
      // no entry, the DPO's retry after the 503 was told of none of them.
      let raised: readonly Alert[] = [];
      const outcome = await call.writeAhead(async (db) => {
        const run = await recordFindings(store, findings, at, db);
        raised = run.raised;
        // The rules run over the whole log; what was done under another agreement is not this
        // DPO's, even by a party to this one.
        return allow(
          json(200, {
            evaluatedAt: run.evaluatedAt,
            findings: run.findingAgreements.filter((id) => scope.agreementIds.includes(id)).length,
            raised: run.raised.filter((a: Alert) => alertInScope(scope, a)),
          }),
          'watch-run',
        );
      });
      logRaised(logger, raised);
      return outcome;
    }),
  );
}

/** POST /api/v1/audit/alerts/{alertId}/breach */
export function openBreachFromAlert(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.breach-open', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const alertId = req.params.alertId ?? '';
      const alert = /^[0-9a-f]{32}$/.test(alertId) ? await findAlert(ctx.services.store, alertId) : undefined;
      // An alert outside the caller's scope is as unknown as one that does not exist.
      if (!alert || !alertInScope(scope, alert)) {
        return deny(problem('not-found', { detail: 'No such alert.' }), 'alert-unknown', AUDIT);
      }
      // The breach record and its access-log entry commit together, or neither does.
      return call.writeAhead(async (db) => {
        const opened = await openBreach(
          ctx.services.store,
          ctx.services.agreements,
          alert.id,
          call.caller.clientId,
          ctx.now(),
          db,
        );
        if (!opened) return deny(problem('not-found', { detail: 'No such alert.' }), 'alert-unknown', AUDIT);
        const { breach, created } = opened;
        if (!created) return allow(json(200, breach), 'breach-shown');
        return allow(json(201, breach, { location: servedPath(`v1/audit/breaches/${breach.id}`) }), 'breach-opened');
      });
    }),
  );
}

const BREACH_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Fixed text for each refusal: the breach record's state, never the request's values. */
const REFUSAL_DETAIL: Record<BreachStepRefusal, string> = {
  closed: 'The breach record is closed; nothing more is recorded on it.',
  'already-recorded': 'This step is on record with another time or reason; the first stands.',
  'ico-notified': 'The ICO has been notified of this breach; it cannot be judged not reportable.',
  'reporting-undecided': 'Record the ICO notification, or that the breach is not reportable, before closing it.',
  'partners-not-notified':
    "The breach's agreement asks for the partner parties to be told: record that they were before closing it.",
};

/**
 * The earliest a step on the breach can have been done: when it began, the start of its alert's
 * window. Not when the alert was raised or the record opened: a DPO told by other means may have
 * notified the ICO before the next run raised the alert.
 */
async function breachBegan(store: Store, breach: BreachRecord): Promise<Date> {
  const alert = await findAlert(store, breach.alertId);
  const times = [breach.openedAt, alert?.windowStart, alert?.raisedAt].flatMap((t) => (t ? [Date.parse(t)] : []));
  return new Date(Math.min(...times));
}

/** POST /api/v1/audit/breaches/{breachId}/steps — the ICO or the partners notified, not reportable, closed. */
export function recordStepOnBreach(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.breach-step', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const body = await readJsonBody(req, breachStepBodySchema);
      if (!body.ok) return deny(body.result, body.reason, AUDIT);
      const now = ctx.now();
      const sent = body.value;
      const step: BreachStep = 'at' in sent ? { step: sent.step, at: new Date(sent.at) } : sent;
      // What was done is recorded, not what is planned: a time still to come is a mistake.
      if ('at' in step && step.at.getTime() > now.getTime()) {
        return deny(problem('invalid-request', { detail: 'at must not be in the future.' }), 'time-in-future', AUDIT);
      }
      // A UUID is the same id in either case (RFC 9562); breach records are issued and stored in lower case.
      const breachId = (req.params.breachId ?? '').toLowerCase();
      const { store } = ctx.services;
      // A breach record outside the caller's scope is as unknown as one that does not exist.
      const breach = BREACH_ID.test(breachId)
        ? await findBreach(store, ctx.services.agreements, scope, breachId, now)
        : undefined;
      const unknown = () => deny(problem('not-found', { detail: 'No such breach record.' }), 'breach-unknown', AUDIT);
      if (!breach) return unknown();
      // Nothing about a breach is done before it began: an earlier time is a mistyped date, and
      // stored it would show a notification as in time however late it was.
      if ('at' in step && step.at.getTime() < (await breachBegan(store, breach)).getTime()) {
        return deny(
          problem('invalid-request', {
            detail: 'at must not be before the breach began (the start of its alert window).',
          }),
          'time-before-breach',
          AUDIT,
        );
      }
      // The step and its access-log entry commit together, or neither does.
      return call.writeAhead(async (db) => {
        const recorded = await recordBreachStep(db, ctx.services.agreements, breach.id, step, ctx.now());
        if (!recorded) return unknown();
        if (!recorded.ok) {
          return deny(
            problem('breach-step-refused', {
              detail: REFUSAL_DETAIL[recorded.refusal],
              reason: recorded.refusal,
            }),
            'breach-step-refused',
            AUDIT,
          );
        }
        return allow(json(200, recorded.breach), recorded.changed ? `breach-${step.step}` : 'breach-shown');
      });
    }),
  );
}

/** GET /api/v1/audit/breaches/{breachId} — the record its opening's 201 names in Location. */
export function viewBreachRecord(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.breach', (call) =>
    asAuditor(ctx, call, async (scope) => {
      // A UUID is the same id in either case (RFC 9562); breach records are issued and stored in lower case.
      const breachId = (req.params.breachId ?? '').toLowerCase();
      // A breach record outside the caller's scope is as unknown as one that does not exist.
      const breach = BREACH_ID.test(breachId)
        ? await findBreach(ctx.services.store, ctx.services.agreements, scope, breachId, ctx.now())
        : undefined;
      if (!breach) return deny(problem('not-found', { detail: 'No such breach record.' }), 'breach-unknown', AUDIT);
      return allow(json(200, breach), 'breach-shown');
    }),
  );
}

/** GET /api/v1/audit/breaches */
export function listBreachRecords(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.breaches', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const q = auditQuery(req, breachesQuerySchema);
      if (!q) return invalidQuery('status must be open, notified or closed, limit 1–500, after a breach record id.');
      const { store } = ctx.services;
      const after = q.after === undefined ? undefined : await breachPosition(store, scope, q.after);
      if (q.after !== undefined && !after)
        return invalidQuery('after must be the id of a breach record of a previous page.');
      const read = await listBreaches(store, ctx.services.agreements, scope, ctx.now(), {
        status: q.status,
        limit: q.limit + 1,
        after,
      });
      const breaches = read.slice(0, q.limit);
      const next = read.length > q.limit ? breaches[breaches.length - 1]!.id : null;
      return allow(json(200, { breaches, next }), 'breaches-listed');
    }),
  );
}
