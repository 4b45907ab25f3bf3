import { z } from 'zod';
import { decide, decideForSubject } from '../policy/decide.js';
import { json, problem, type HttpResult } from '../http/problem.js';
import { canonicalQuery, personQuerySchema } from '../people/person-query.js';
import { lastMoveOutCommitted } from '../people/current-person-id.js';
import { currentSourcesOf, personRecords, sourcesHoldingNow, type PersonRecords } from '../people/person-view.js';
import { subjectScope, withinScopeHeldNow } from '../people/subject-scope.js';
import type { AllowDecision, DenyDecision } from '../policy/decision.js';
import type { ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { decisionProblem } from './decision-problem.js';
import { readJsonBody } from './json-body.js';
import { onceEach } from './once-each.js';
import { answerSettled } from './settled-answer.js';
import { deny, runRequest, type CallContext, type Outcome } from './request-pipeline.js';

export const duplicateCheckBodySchema = personQuerySchema;

export const duplicateCheckResponseSchema = z.object({
  duplicate: z.boolean().describe('Whether another partner council holds a housing application for this person'),
  councils: z
    .array(z.string())
    .describe('Party ids of the other councils whose register holds the person; never their data'),
});

export type DuplicateCheckResponse = z.infer<typeof duplicateCheckResponseSchema>;

/**
 * POST /api/v1/duplicate-checks — does a housing application for this person exist with
 * another council? The answer names councils, never what their records say, so the decision's
 * field set is not used and the log records no fields. A record in a council's register
 * extract is an application on that register: the extracts carry the current register only.
 *
 * A person nobody else holds is a `duplicate: false` answer, not a 404: for this check "not
 * found elsewhere" is the result the officer needs. Identifiers that point at more than one
 * person give no answer at all (409), as a guess could accuse the wrong applicant.
 */
export function checkDuplicates(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'person.duplicate-check', async (call) => {
    const deps = { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now };
    const decision = await decide(
      { caller: call.caller, purpose: call.purpose, datasets: [], subject: null, action: 'duplicate-check' },
      deps,
    );
    if (!decision.allow) return deny(decisionProblem(decision), decision.reason, { purpose: decision.purpose ?? null });
    const purpose = decision.purpose;
    const body = await readJsonBody(req, duplicateCheckBodySchema);
    if (!body.ok) return deny(body.result, body.reason, { purpose });
    const query = canonicalQuery(body.value, ctx.now());
    if (!query.ok) {
      return deny(problem('invalid-identifier', { field: query.field, reason: query.reason }), 'invalid-identifier', {
        purpose,
      });
    }
    const datasets = decision.datasets;
    const { store, agreements } = ctx.services;
    // Found on the people before a pass, answered as it left them: matched again on its people.
    return answerSettled(ctx, async (settledSince) => {
      // The check answers from what its match read, one moment, as a search does (people-api.ts):
      // each person's records are read, and judged, once an attempt, and the councils named come
      // from the same read, so a snapshot committed after the match is in the next check's
      // answer, not this one's. A retry after a pass reads afresh.
      const read = new Map<string, Promise<PersonRecords>>();
      const judged = new Map<string, Promise<Judgement>>();
      const recordsOf = (personId: string) => onceEach(read, personId, () => personRecords(store, personId, datasets));
      const judgementOf = (personId: string) =>
        onceEach(judged, personId, async (): Promise<Judgement> => {
          const withSubject = await decideForSubject(
            decision,
            { caller: call.caller, purpose: call.purpose, datasets: [], action: 'duplicate-check' },
            personId,
            deps,
          );
          if (!withSubject.allow) return { denied: withSubject };
          return { scope: await subjectScope(store, agreements, withSubject, personId, await recordsOf(personId)) };
        });
      // Whom the check may answer about at all: in the grant's scope and, where the purpose has
      // them, with the subject's own conditions met. Two namesakes it may not answer about are
      // answered as nobody, not 409: a clash between people the joint system may not say it holds
      // (outside its scope, without consent) would tell of them (found by a review). The scope under
      // the decision with the subject's conditions is a search's, under the one before: they change
      // no grant (search-and-duplicate-check-scope.test.ts).
      const answerable = async (personId: string): Promise<boolean> => {
        // Held by former sources only: no application on any register now (person-view.ts).
        if (currentSourcesOf(agreements, (await recordsOf(personId)).rows).length === 0) return false;
        const judgement = await judgementOf(personId);
        return 'scope' in judgement && judgement.scope.outOfScope === undefined;
      };
      const first = await ctx.findPerson(query.query, datasets, answerable);
      // Nobody found the check may answer about: searched again as before the subject's own
      // conditions were judged, so that one in scope whose consent or opt-out bars the check is
      // found as then, and the refusal is logged against them, as a search does (people-api.ts),
      // not as an `ambiguous` naming no one beside a namesake out of scope (found by a defect
      // hunt). Anyone else stays as the first search left them, and the caller is answered as
      // for nobody either way.
      const inScope = async (personId: string): Promise<boolean> => {
        const records = await recordsOf(personId);
        return withinScopeHeldNow(agreements, records, () =>
          subjectScope(store, agreements, decision, personId, records),
        );
      };
      const again = !first.found && first.hidden ? await ctx.findPerson(query.query, datasets, inScope) : first;
      const found = again.found ? again : first;
      if (!found.found && found.reason === 'ambiguous' && found.hidden !== true) {
        return deny(
          problem('ambiguous-match', {
            detail: 'The identifiers match more than one person; add a stronger identifier such as the NI number.',
          }),
          'ambiguous',
          { purpose, datasets },
        );
      }
      if (!found.found) {
        // A person the caller's own identifiers contradict is nobody the caller asked about, and
        // namesakes the caller may not be answered about are nobody it may learn of; the log
        // keeps why.
        const reasonCode = found.reason === 'no-match' ? 'granted' : found.reason;
        return {
          result: noDuplicate(),
          log: { purpose, datasets, fields: [], decision: 'allow', reasonCode },
        };
      }
      const outcome = await answerFor(
        ctx,
        call,
        decision,
        found.personId,
        settledSince,
        await judgementOf(found.personId),
        await recordsOf(found.personId),
      );
      return 'movedOut' in outcome
        ? { movedOut: outcome.movedOut, log: { purpose, subjectRef: found.personId, datasets } }
        : outcome;
    });
  });
}

/** Whether the check may answer about a person: refused by the subject's own conditions, or the grant's scope judged. */
type Judgement = { readonly denied: DenyDecision } | { readonly scope: Awaited<ReturnType<typeof subjectScope>> };

/**
 * The answer about the person matched, from the judgement and the records its match read. A
 * linking pass can still commit between the match and the answer: records that moved out of the
 * id after `settledSince` give `movedOut`, and nothing is answered or logged against the id
 * (found by a defect hunt: a check straddling a split named the councils of the namesake the
 * split left under the id, and one straddling a merge answered "no application elsewhere" from
 * the id that gave way).
 */
async function answerFor(
  ctx: ApiContext,
  call: CallContext,
  decision: AllowDecision,
  personId: string,
  settledSince: string,
  judgement: Judgement,
  records: PersonRecords,
): Promise<Outcome | { readonly movedOut: string }> {
  const { purpose, datasets } = decision;
  const unsettled = async (): Promise<{ readonly movedOut: string } | undefined> => {
    const movedOut = await lastMoveOutCommitted(ctx.services.store, personId);
    return movedOut > settledSince ? { movedOut } : undefined;
  };
  // The subject's own conditions (consent, national data opt-out), as for a search; a refusal
  // is answered as a person nobody holds, so the caller does not learn that the person is
  // known. The access log keeps the real reason.
  if ('denied' in judgement) {
    return (
      (await unsettled()) ?? deny(noDuplicate(), judgement.denied.reason, { purpose, subjectRef: personId, datasets })
    );
  }
  // Which councils hold someone tells of them as a view would (that children's social care
  // knows a child): a person the grant keeps from the caller is answered as nobody's.
  const { scope } = judgement;
  if (scope.outOfScope !== undefined) {
    return (await unsettled()) ?? deny(noDuplicate(), scope.outOfScope, { purpose, subjectRef: personId, datasets });
  }
  // Only the datasets of the grants that answer about this person name its holders (found by a
  // review: a restricted grant's dataset named them for someone not the caller's subject).
  const answered = scope.decision.datasets;
  const councils = await otherHolders(ctx, personId, answered, call.caller.partyId, records);
  return (
    (await unsettled()) ?? {
      result: json(200, { duplicate: councils.length > 0, councils } satisfies DuplicateCheckResponse),
      log: {
        purpose,
        subjectRef: personId,
        datasets: answered,
        fields: [],
        decision: 'allow',
        reasonCode: 'granted',
      },
    }
  );
}

/** The answer for a person no other council holds, and for a person nobody holds at all. */
function noDuplicate(): HttpResult {
  return json(200, { duplicate: false, councils: [] } satisfies DuplicateCheckResponse);
}

/**
 * The councils other than the caller's that hold the person (a former source's records are no
 * application), from the records the match read; a dataset they do not cover is read now.
 */
async function otherHolders(
  ctx: ApiContext,
  personId: string,
  datasets: readonly string[],
  callerParty: string,
  records: PersonRecords,
): Promise<string[]> {
  const { store, agreements } = ctx.services;
  const holders = datasets.every((d) => records.datasets.includes(d))
    ? currentSourcesOf(
        agreements,
        records.rows.filter((row) => datasets.includes(row.dataset_id)),
      )
    : await sourcesHoldingNow(store, agreements, personId, datasets);
  return holders.filter((party) => party !== callerParty);
}
