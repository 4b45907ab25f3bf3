import { z } from 'zod';
import { decide, decideForSubject } from '../policy/decide.js';
import type { AllowDecision, Decision } from '../policy/decision.js';
import { json, problem, type HttpResult } from '../http/problem.js';
import type { MatchTier } from '../people/find-person.js';
import { canonicalQuery, personQuerySchema } from '../people/person-query.js';
import { currentPersonId, lastMoveOutTimes, recordsMovedOutSince } from '../people/current-person-id.js';
import { subjectScope, withinScopeHeldNow } from '../people/subject-scope.js';
import { personRecords, personView, type PersonRecords } from '../people/person-view.js';
import type { ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { decisionProblem, noMatch } from './decision-problem.js';
import { personRefSchema } from './person-ref-schema.js';
import { readJsonBody } from './json-body.js';
import { onceEach } from './once-each.js';
import { answerSettled } from './settled-answer.js';
import { deny, runRequest, type CallContext, type Outcome } from './request-pipeline.js';

export const personSearchBodySchema = personQuerySchema.extend({
  datasets: z.array(z.string().max(100)).max(20).optional().describe('Limit the view to these datasets'),
});

export const sourcedRecordSchema = z.object({
  dataset: z.string(),
  source: z
    .string()
    .optional()
    .describe(
      "Party whose extract the values come from; absent where the caller's grant withholds some of the fields only that party supplies, as naming it would tell which service holds the person",
    ),
  asOf: z.iso.date().describe('Date the extract describes'),
  fields: z
    .record(z.string(), z.unknown())
    .describe('Only the fields the agreement grants this caller for this purpose'),
});

export const personViewResponseSchema = z.object({
  personRef: personRefSchema.describe('Opaque reference, valid only for the calling party'),
  match: z.object({
    tier: z
      .number()
      .int()
      .min(1)
      .max(4)
      .describe(
        "Which step of the lookup found the person: 1 NHS number, UPN or NI number; 2 a system id; 3 date of birth + last name + first three letters of first name; 4 postcode + the same names. The same steps for every agreement; not the tier numbers of an agreement's own linkage rules",
      ),
  }),
  purpose: z.string(),
  agreement: z.string(),
  records: z.array(sourcedRecordSchema),
});

/**
 * POST /api/v1/people/search — find one known person by the identifiers the caller holds. For
 * the policy this is a `lookup` (of a named individual), not a `search` across people, which
 * the agreements reserve for pseudonymised planning work.
 */
export function searchPeople(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'person.search', async (call) => {
    const first = await decide(
      { caller: call.caller, purpose: call.purpose, datasets: [], subject: null, action: 'lookup' },
      { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now },
    );
    if (!first.allow) return deny(decisionProblem(first), first.reason, { purpose: first.purpose ?? null });
    const body = await readJsonBody(req, personSearchBodySchema);
    if (!body.ok) return deny(body.result, body.reason, { purpose: first.purpose });
    const { datasets: requested, ...identifiers } = body.value;
    const scoped = requested ? await scope(ctx, call, requested) : first;
    if (!scoped.allow) return deny(decisionProblem(scoped), scoped.reason, { purpose: scoped.purpose ?? null });
    const query = canonicalQuery(identifiers, ctx.now());
    if (!query.ok) {
      return deny(problem('invalid-identifier', { field: query.field, reason: query.reason }), 'invalid-identifier', {
        purpose: scoped.purpose,
      });
    }
    const { store, agreements } = ctx.services;
    // Found on the people before a pass, shown as it left them: searched again on its people.
    return answerSettled(ctx, async (settledSince) => {
      // Each person's records are read once an attempt: to judge whether the caller may see
      // them, then, for the person found, to show them. A retry after a pass reads afresh.
      // So is their subject scope under the decision made before matching, which the view asks
      // again where the subject changes nothing of that decision (no consent or opt-out), and the
      // decision with the subject's own conditions, which the view answers from.
      const read = new Map<string, Promise<PersonRecords>>();
      const scopes = new Map<string, Promise<SubjectScope>>();
      const withSubject = new Map<string, Promise<Decision>>();
      const recordsOf = (personId: string) =>
        onceEach(read, personId, () => personRecords(store, personId, scoped.datasets));
      const scopeOf = (personId: string) =>
        onceEach(scopes, personId, async () =>
          subjectScope(store, agreements, scoped, personId, await recordsOf(personId)),
        );
      const decisionFor = (personId: string) =>
        onceEach(withSubject, personId, () =>
          decideForSubject(
            scoped,
            { caller: call.caller, purpose: call.purpose, datasets: requested ?? [], action: 'lookup' },
            personId,
            { agreements, consents: ctx.services.consents, now: ctx.now },
          ),
        );
      // A person whose own consent or opt-out bars this use is passed over as one out of scope
      // is, so a namesake of theirs the caller may see is found: two together had answered
      // no-match where the one alone is shown, telling the researcher that the council holds a
      // namesake of its participant who has not consented (found by a defect hunt; the
      // duplicate check passes them over alike). It judges their scope under the decision made with
      // the subject's conditions, which is this one's: they change no grant
      // (search-and-duplicate-check-scope.test.ts).
      const inScope = async (personId: string) =>
        withinScopeHeldNow(agreements, await recordsOf(personId), () => scopeOf(personId));
      const visible = async (personId: string) => (await inScope(personId)) && (await decisionFor(personId)).allow;
      let found = await ctx.findPerson(query.query, scoped.datasets, visible);
      // Nobody found the caller may be answered about: searched again as before their consent was
      // judged, so that one in scope whose own consent or opt-out bars the call is found as then,
      // and the refusal is logged against them (consent-required, opted-out) for their DPO and
      // their subject access request, not as an `ambiguous` naming no one beside a namesake out
      // of scope (found by a defect hunt). The caller is answered no-match either way.
      if (!found.found && found.hidden) found = await ctx.findPerson(query.query, scoped.datasets, inScope);
      if (!found.found) {
        return deny(noMatch(), found.reason, { purpose: scoped.purpose, datasets: scoped.datasets });
      }
      const known = {
        records: await read.get(found.personId),
        scope: await scopes.get(found.personId),
        decision: await withSubject.get(found.personId),
      };
      const outcome = await respondWithPerson(
        ctx,
        call,
        scoped,
        requested ?? [],
        found.personId,
        found.tier,
        { since: settledSince, by: 'commit' },
        known,
      );
      return 'movedOut' in outcome
        ? { movedOut: outcome.movedOut, log: { purpose: scoped.purpose, subjectRef: found.personId } }
        : outcome;
    });
  });
}

/** GET /api/v1/people/{personRef} */
export function viewPerson(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'person.view', async (call) => {
    const first = await decide(
      { caller: call.caller, purpose: call.purpose, datasets: [], subject: null, action: 'lookup' },
      { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now },
    );
    if (!first.allow) return deny(decisionProblem(first), first.reason, { purpose: first.purpose ?? null });
    const claim = (await ctx.personRefs()).decodeClaim(call.caller.partyId, req.params.personRef ?? '');
    if (!claim) {
      return deny(noMatch(), 'person-ref-unknown', {
        purpose: first.purpose,
      });
    }
    // The reference names the person id of when it was issued; linking may have moved the
    // records since. A split leaves no one person to show: the caller searches again.
    const { store } = ctx.services;
    for (let attempt = 1; ; attempt++) {
      const now = await currentPersonId(store, claim.personId);
      if (now.kind === 'split') return deny(noMatch(), 'ambiguous', { purpose: first.purpose });
      const personId = now.kind === 'current' ? now.personId : claim.personId;
      const moved = now.kind === 'current' && (await recordsMovedOutSince(store, personId, claim.since));
      const outcome = moved
        ? undefined
        : await respondWithPerson(ctx, call, first, [], personId, null, { since: claim.since, by: 'stamp' });
      if (outcome !== undefined && !('movedOut' in outcome)) return outcome;
      // Records moved out of the id: a split, or a merge that committed after the reference was
      // followed, whose records are now under the id they moved to. The reference is followed
      // once more, as after the pass (found by a defect hunt: a view straddling a merge answered
      // no-match); a split still leaves no one person to show.
      if (attempt === 2) return deny(noMatch(), 'ambiguous', { purpose: first.purpose });
    }
  });
}

async function scope(ctx: ApiContext, call: CallContext, datasets: string[]) {
  return decide(
    { caller: call.caller, purpose: call.purpose, datasets, subject: null, action: 'lookup' },
    { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now },
  );
}

/**
 * Records that moved out of the person after `since` leave an answer unsettled, by the time `by`
 * names (current-person-id.ts): a search's, from a time before its match, by the commits of the
 * passes that moved them, as a pass stamps its moves well before it commits; a reference's, from
 * the move it was issued after, by the moves' stamps, which order the moves and which it was
 * issued with.
 */
interface Settled {
  readonly since: string;
  readonly by: 'commit' | 'stamp';
}

type SubjectScope = Awaited<ReturnType<typeof subjectScope>>;

/** What a search read about the person it found, under the decision made before matching. */
interface KnownOfPerson {
  readonly records?: PersonRecords;
  readonly scope?: SubjectScope;
  /** The decision with the subject's own conditions, as the match judged them. */
  readonly decision?: Decision;
}

/** A scope judged on the decision before matching, its decision naming the subject as decideForSubject's does. */
function withSubject(scope: SubjectScope, personId: string): SubjectScope {
  return scope.outOfScope === undefined
    ? { outOfScope: undefined, decision: { ...scope.decision, subjectKey: personId } }
    : scope;
}

/**
 * The second decision, now with the subject: consent and opt-out, then the minimised view. A
 * purpose with neither condition has nothing more to decide about the subject, so the decision
 * made before matching stands, now naming the subject.
 *
 * The lookup's reads are each of the committed store at their moment, not of one snapshot: a
 * linking pass can commit between the match and the view. Records that moved out of the person
 * after `settled.since` (a move the match may not have seen) give `movedOut`, with the time of
 * the last move, and nothing is shown (found by a review: a view raced with a split and showed
 * the namesake left under the id).
 */
async function respondWithPerson(
  ctx: ApiContext,
  call: CallContext,
  beforeMatch: AllowDecision,
  datasets: string[],
  personId: string,
  tier: MatchTier | null,
  settled: Settled,
  known: KnownOfPerson = {},
): Promise<Outcome | { readonly movedOut: string }> {
  const { store, agreements } = ctx.services;
  // Every answer, a refusal too, is checked against a pass that moved records out meanwhile: a
  // refusal is logged against the person, and the id may no longer be theirs (found by a
  // review: a search straddling a split logged a refusal for Sam against his namesake's id).
  const movedOutTimes = async () => {
    const times = await lastMoveOutTimes(store, personId);
    return { ...times, movedOut: settled.by === 'commit' ? times.committed : times.stamped };
  };
  const unsettled = async (): Promise<{ readonly movedOut: string } | undefined> => {
    const { movedOut } = await movedOutTimes();
    return movedOut > settled.since ? { movedOut } : undefined;
  };
  const decision =
    known.decision ??
    (await decideForSubject(
      beforeMatch,
      { caller: call.caller, purpose: call.purpose, datasets, action: 'lookup' },
      personId,
      { agreements, consents: ctx.services.consents, now: ctx.now },
    ));
  if (!decision.allow) {
    const result = decisionProblem(decision);
    return (
      (await unsettled()) ??
      deny(result, decision.reason, {
        purpose: decision.purpose ?? null,
        subjectRef: personId,
      })
    );
  }
  // Answered as an unknown person: whether someone is another party's client, or out of the
  // joint system's scope, is not this caller's to learn.
  // The decision before matching stands, naming the subject: its scope is the one already judged.
  // One decided again with the subject is judged on the records the match read, the moment the
  // answer is of, as the view shows them.
  const scope =
    known.scope !== undefined && beforeMatch.subjectConditions === 'not-applicable'
      ? withSubject(known.scope, personId)
      : await subjectScope(store, agreements, decision, personId, known.records);
  if (scope.outOfScope !== undefined) {
    return (
      (await unsettled()) ??
      deny(noMatch(), scope.outOfScope, {
        purpose: decision.purpose,
        subjectRef: personId,
        datasets: decision.datasets,
      })
    );
  }
  const view = await personView(ctx.services.store, agreements, scope.decision, personId, known.records);
  if (view.records.length === 0) {
    return (
      (await unsettled()) ??
      deny(noMatch(), 'no-visible-records', {
        purpose: decision.purpose,
        subjectRef: personId,
        datasets: decision.datasets,
      })
    );
  }
  const { movedOut, stamped } = await movedOutTimes();
  if (movedOut > settled.since) return { movedOut };
  // Issued with the stamp, as the moves after it are told by theirs.
  const personRef = (await ctx.personRefs()).encode(call.caller.partyId, personId, 'lookup', stamped);
  return {
    result: json(200, {
      personRef,
      match: tier === null ? undefined : { tier },
      purpose: decision.purpose,
      agreement: (decision as AllowDecision).agreementId,
      records: view.records,
    }),
    log: {
      purpose: decision.purpose,
      subjectRef: personId,
      datasets: view.datasets,
      fields: view.releasedFields,
      decision: 'allow',
      reasonCode: 'granted',
    },
  };
}
