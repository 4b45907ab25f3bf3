import { z } from 'zod';
import type { AllowDecision } from '../policy/decision.js';
import { decide } from '../policy/decide.js';
import { projectRecord } from '../policy/project.js';
import { subjectRefOf, subjectRefWithin } from '../audit/entry-subjects.js';
import { json, problem, type HttpResult } from '../http/problem.js';
import { errorKind } from '../logging.js';
import { linkPeople } from '../linkage/link-people.js';
import { PairKeys, personRefKeyOf } from '../linkage/pair-key.js';
import {
  candidatePeopleRefusal,
  findCandidate,
  isCandidateCursor,
  listCandidates,
  recordDecision,
  type Candidate,
  type CandidatePair,
  type CandidateScope,
} from '../linkage/review-queue.js';
import type { MergeRefusal } from '../matching/cluster.js';
import { decisionsForGroups } from '../people/callers-subjects.js';
import { groupsWithinJointSystemScope } from '../people/joint-system-scope.js';
import { PERSON_REF_PATTERN } from '../people/person-ref.js';
import { suppliedNow } from '../people/person-view.js';
import { KeyUnavailableError, type ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { decisionProblem } from './decision-problem.js';
import { isoTime } from './iso-time.js';
import { deny, runRequest, type CallContext, type Outcome } from './request-pipeline.js';

/**
 * The review queue of the probabilistic tier, for the roles an agreement grants the `review`
 * action (the ISA's matching method 5: an officer confirms each candidate link). The list names
 * candidates and their sources only; one candidate shows its two records cut down to the
 * reviewer's grant (identification items, never the indicators); confirm and reject record the
 * decision. Each call leaves one access-log entry; for a candidate, its subject is the two
 * people the records belong to, space-separated, so a subject access request finds the review;
 * for a decision, with the people of any other candidate it was applied to, and those of any
 * earlier confirmation a rejection ended (review-queue.ts).
 */

// A UUID is the same id in either case (RFC 9562); candidates are issued and stored in lower case.
const candidateId = z.uuid().transform((id) => id.toLowerCase());

// A parameter it does not define is passed over, as on every other list: Power Query and many
// HTTP tools add a cache-buster (`_=<time>`), and a refusal would blame `after` or `limit`.
export const candidateListQuerySchema = z.object({
  after: z.string().regex(PERSON_REF_PATTERN).optional().describe('`next` from the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

const candidateSource = z.object({
  dataset: z.string(),
  source: z.string().describe('Party whose extract holds the record'),
});

export const candidateListResponseSchema = z.object({
  candidates: z.array(
    z.object({
      candidateId: z.string(),
      tier: z.number().int(),
      score: z.number().nullable().describe('Posterior match probability from the Fellegi–Sunter model'),
      records: z.array(candidateSource),
    }),
  ),
  next: z.string().nullable(),
});

export const candidateResponseSchema = z.object({
  candidateId: z.string(),
  tier: z.number().int(),
  score: z.number().nullable(),
  status: z.enum(['candidate', 'confirmed', 'rejected', 'auto']),
  records: z.array(
    candidateSource.extend({
      asOf: z.iso.date(),
      fields: z.record(z.string(), z.unknown()).describe('Only the fields the agreement grants reviewers'),
    }),
  ),
});

export const candidateDecisionResponseSchema = z.object({
  candidateId: z.string(),
  decision: z.enum(['confirmed', 'rejected']),
  decidedAt: isoTime,
});

function reviewDecision(ctx: ApiContext, call: CallContext) {
  return decide(
    { caller: call.caller, purpose: call.purpose, datasets: [], subject: null, action: 'review' },
    { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now },
  );
}

function linkDeps(ctx: ApiContext) {
  const { store, secrets, agreements, logger } = ctx.services;
  return { store, secrets, agreements, logger, now: ctx.now };
}

/** The people a candidate's records belong to, as the access log's subject. */
function subjectOf(candidate: Candidate): string | null {
  return subjectRefOf(peopleOf(candidate));
}

const unknownCandidate = () => problem('candidate-unknown');

/**
 * A candidate the caller may review, with the decision it is reviewed under (see
 * {@link pairDecisions}): one of its agreement's, not an automatic link, and one its pair
 * decision allows. Anything else is indistinguishable from an id that does not exist.
 */
async function reviewableCandidate(
  ctx: ApiContext,
  req: ApiRequest,
  decision: AllowDecision,
): Promise<{ candidate: Candidate; decision: AllowDecision; agreementId: string } | undefined> {
  const id = candidateId.safeParse(req.params.candidateId);
  if (!id.success) return undefined;
  const candidate = await findCandidate(ctx.services.store, id.data);
  if (candidate === undefined || candidate.agreementId !== decision.agreementId) return undefined;
  if (candidate.status === 'auto') return undefined;
  const [forPair] = await pairDecisions(ctx, decision, [{ people: peopleOf(candidate), records: candidate.records }]);
  // The agreement whose grant allows the review, recorded with a decision (link_decision).
  if (forPair?.agreementId == null) return undefined;
  return { candidate, decision: forPair, agreementId: forPair.agreementId };
}

function peopleOf(candidate: Candidate): string[] {
  return candidate.recordsInFull.map((r) => r.personId).filter((id): id is string => id !== null);
}

/**
 * For each pair, the decision a reviewer reviews it under, or undefined where it may not: as a
 * lookup judges one person (shared/people/subject-scope.ts), the pair as the one person it
 * would be. A grant with `subjects: with-caller-record` answers about the pair only when the
 * caller's own extract holds a record of one of the two people (an agreement author who puts it
 * on a review grant means the reviewer's own subjects, as for lookups); then both records must
 * be in datasets the decision covers, each of a party that supplies its dataset now; then the
 * pair must be within the agreement's joint-system scope (the ISA: one of the two a Housing
 * client in temporary accommodation), as a reviewer sees and decides only pairs one of whose
 * people a lookup could show once joined (found by a review).
 *
 * A record of a party that no longer supplies its dataset (it left the agreement, or a
 * re-signing dropped it as a source: AgreementSet.isSource) is no longer the agreement's to
 * share, and a lookup shows none: nor is a pair it is in reviewed. Shown without that record,
 * the officer would decide whether two records are one person having seen only one of them;
 * decided, it would join a current source's record to one the agreement no longer covers (found
 * by a review: a Corby senior officer opened a pair with Wellingborough's old record of the
 * applicant and saw its names, date of birth and address).
 */
async function pairDecisions(
  ctx: ApiContext,
  decision: AllowDecision,
  pairs: readonly CandidatePair[],
): Promise<(AllowDecision | undefined)[]> {
  const { store, agreements } = ctx.services;
  const forGroups = await decisionsForGroups(
    store,
    agreements,
    decision,
    pairs.map((p) => p.people),
  );
  const result = forGroups.map((d, i) =>
    d !== undefined &&
    pairs[i]!.records.every((r) => d.datasets.includes(r.dataset) && agreements.isSource(r.source, r.dataset))
      ? d
      : undefined,
  );
  const byDecision = new Map<AllowDecision, number[]>();
  result.forEach((d, i) => {
    if (d !== undefined) byDecision.set(d, [...(byDecision.get(d) ?? []), i]);
  });
  for (const [d, indices] of byDecision) {
    const within = await groupsWithinJointSystemScope(
      store,
      agreements,
      d,
      indices.map((i) => pairs[i]!.people),
    );
    indices.forEach((i, k) => {
      if (within[k] !== true) result[i] = undefined;
    });
  }
  return result;
}

function scopeOf(ctx: ApiContext, decision: AllowDecision): CandidateScope {
  return async (pairs) => (await pairDecisions(ctx, decision, pairs)).map((d) => d !== undefined);
}

/**
 * A page's `next` as the reviewer is given it, and back: sealed under a key of the caller's party
 * (person-ref.ts, `review-cursor`). A page that stops having read 5,000 candidates the caller may
 * not review goes on from the last of them (review-queue.ts): in the clear, its `next` gave that
 * candidate's id and score, of a pair outside the caller's datasets or scope (found by a review).
 */
async function sealedCursor(ctx: ApiContext, call: CallContext, cursor: string | null): Promise<string | null> {
  return cursor === null ? null : (await ctx.personRefs()).encode(call.caller.partyId, cursor, 'review-cursor');
}

/** The place a sealed `next` stands for; undefined for one this party was not given. */
async function unsealedCursor(ctx: ApiContext, call: CallContext, sealed: string): Promise<string | undefined> {
  const cursor = (await ctx.personRefs()).decode(call.caller.partyId, sealed, ['review-cursor']);
  return cursor !== undefined && isCandidateCursor(cursor) ? cursor : undefined;
}

/** GET /api/v1/link-candidates */
export function listLinkCandidates(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'link.candidates', async (call) => {
    const decision = await reviewDecision(ctx, call);
    if (!decision.allow) return deny(decisionProblem(decision), decision.reason, { purpose: decision.purpose ?? null });
    const query = candidateListQuerySchema.safeParse(Object.fromEntries(req.query));
    const after = query.data?.after === undefined ? undefined : await unsealedCursor(ctx, call, query.data.after);
    if (!query.success || (query.data.after !== undefined && after === undefined)) {
      return deny(
        problem('invalid-request', {
          detail: 'after must be the next value of a previous page, limit 1–100.',
        }),
        'invalid-request',
        {
          purpose: decision.purpose,
        },
      );
    }
    const page = await listCandidates(
      ctx.services.store,
      decision.agreementId ?? '',
      decision.datasets,
      { limit: query.data.limit, after },
      scopeOf(ctx, decision),
      (dataset) => ctx.services.agreements.sourcesOf(dataset),
    );
    return {
      result: json(200, { candidates: page.candidates, next: await sealedCursor(ctx, call, page.next) }),
      log: { purpose: decision.purpose, datasets: decision.datasets, decision: 'allow', reasonCode: 'granted' },
    };
  });
}

/** GET /api/v1/link-candidates/{candidateId} */
export function viewLinkCandidate(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'link.candidate', async (call) => {
    const decision = await reviewDecision(ctx, call);
    if (!decision.allow) return deny(decisionProblem(decision), decision.reason, { purpose: decision.purpose ?? null });
    const reviewable = await reviewableCandidate(ctx, req, decision);
    if (reviewable === undefined) return deny(unknownCandidate(), 'candidate-unknown', { purpose: decision.purpose });
    const { candidate } = reviewable;
    // An open pair whose two people hold conflicting identifiers is not offered for review: the
    // list leaves it out, and its id is answered as one the list does not hold, its records unshown.
    // The entry says why, for the DPO, and names the two people, as a refused confirm's does.
    if (
      candidate.status === 'candidate' &&
      (await candidatePeopleRefusal(ctx.services.store.db, candidate.candidateId)) !== null
    ) {
      return deny(unknownCandidate(), 'candidate-identifiers-conflict', {
        purpose: decision.purpose,
        subjectRef: subjectOf(candidate),
        datasets: [...new Set(candidate.records.map((r) => r.dataset))],
      });
    }
    const released = new Set<string>();
    // A value of a field a re-signing took from the record's party is no longer the agreement's to
    // share, in review as in a lookup (suppliedNow).
    const records = candidate.recordsInFull.map((r) => {
      const fields = projectRecord(
        reviewable.decision,
        r.dataset,
        suppliedNow(ctx.services.agreements, r.dataset, r.source, r.attributes),
      );
      for (const name of Object.keys(fields)) released.add(`${r.dataset}.${name}`);
      return { dataset: r.dataset, source: r.source, asOf: r.asOf, fields };
    });
    return {
      result: json(200, {
        candidateId: candidate.candidateId,
        tier: candidate.tier,
        score: candidate.score,
        status: candidate.status,
        records,
      }),
      log: {
        purpose: decision.purpose,
        subjectRef: subjectOf(candidate),
        datasets: [...new Set(records.map((r) => r.dataset))],
        fields: [...released].sort(),
        decision: 'allow',
        reasonCode: 'granted',
      },
    };
  });
}

function decideLinkCandidate(verdict: 'confirmed' | 'rejected') {
  return (ctx: ApiContext, req: ApiRequest): Promise<HttpResult> =>
    runRequest(ctx, req, verdict === 'confirmed' ? 'link.confirm' : 'link.reject', async (call): Promise<Outcome> => {
      const decision = await reviewDecision(ctx, call);
      if (!decision.allow)
        return deny(decisionProblem(decision), decision.reason, { purpose: decision.purpose ?? null });
      const reviewable = await reviewableCandidate(ctx, req, decision);
      if (reviewable === undefined) return deny(unknownCandidate(), 'candidate-unknown', { purpose: decision.purpose });
      const { candidate } = reviewable;
      const subjectRef = subjectOf(candidate);
      // Named in every entry of the decision, as in the view's (found by a review).
      const datasets = [...new Set(candidate.records.map((r) => r.dataset))];
      // A confirmation keeps its records' identity fingerprints, under a key of person-ref-key
      // (review-queue.ts): unreadable, nothing is decided, and the officer is told to retry (503).
      const identity = verdict === 'confirmed' ? await identityKeys(ctx) : undefined;
      // The decision and its access-log entry commit together, or neither does.
      const outcome = await call.writeAhead(async (db): Promise<Outcome> => {
        const recorded = await recordDecision(
          db,
          candidate,
          {
            decision: verdict,
            by: {
              partyId: call.caller.partyId,
              clientId: call.caller.clientId,
              requestId: call.requestId,
              agreementId: reviewable.agreementId,
            },
            at: ctx.now(),
          },
          identity,
        );
        if (recorded.outcome === 'not-keyed') {
          // Still open, and not decided by anyone: not the 409 that says the first decision stands.
          return deny(
            problem('candidate-not-keyed', {
              detail:
                'The candidate predates kept decisions; the next linking pass (or npm run relink) proposes it again.',
            }),
            'candidate-not-keyed',
            { purpose: decision.purpose, subjectRef, datasets },
          );
        }
        // Replaced by a pass, or one of its records by a snapshot, since the handler read it: what
        // a read now finds, not 'decided'.
        if (recorded.outcome === 'gone')
          return deny(unknownCandidate(), 'candidate-unknown', { purpose: decision.purpose, subjectRef, datasets });
        if (recorded.outcome === 'not-open') {
          return deny(
            // What was decided, never by whom: the officer may review the pair's records again.
            problem('candidate-decided', {
              detail: 'The first decision on a candidate stands.',
              ...(recorded.decision === null ? {} : { decision: recorded.decision }),
            }),
            'candidate-decided',
            { purpose: decision.purpose, subjectRef, datasets },
          );
        }
        if (recorded.outcome === 'people-conflict') {
          return deny(
            problem('candidate-identifiers-conflict', {
              detail: `The two people hold different ${CONFLICT_NAMES[recorded.conflict] ?? 'identifiers'}, counting every record linked to each, so no confirmation joins them; nothing was decided.`,
              conflict: recorded.conflict,
            }),
            'candidate-identifiers-conflict',
            { purpose: decision.purpose, subjectRef, datasets },
          );
        }
        return {
          result: json(200, { candidateId: candidate.candidateId, decision: verdict, decidedAt: recorded.decidedAt }),
          log: {
            purpose: decision.purpose,
            subjectRef: decidedSubject(ctx, call, candidate, recorded.alsoAbout),
            datasets,
            decision: 'allow',
            reasonCode: verdict === 'confirmed' ? 'link-confirmed' : 'link-rejected',
          },
        };
      });
      // People are formed again once the decision is committed. Should this pass fail, the
      // decision stands (and is logged), the officer is told what was decided rather than an
      // error a retry would answer with 409, and the agreement's next pass (its next import, or
      // `npm run relink`) forms the people; the failure is logged for the operator.
      if (outcome.log.decision === 'allow') {
        await linkPeople(linkDeps(ctx), candidate.agreementId, 'review').catch((err: unknown) => {
          ctx.services.logger.error('link.review-pass-failed', {
            requestId: call.requestId,
            agreementId: candidate.agreementId,
            error: errorKind(err),
          });
        });
      }
      return outcome;
    });
}

/** What a confirmation refused for the two people's identifiers names (review-queue.ts), by kind. */
const CONFLICT_NAMES: Partial<Record<MergeRefusal, string>> = {
  'nhs-conflict': 'NHS numbers',
  'upn-conflict': 'UPNs',
  'system-id-conflict': 'ids of one system',
  'ni-conflict': 'NI numbers',
};

/**
 * The subject of a decision's entry: the candidate's two people, then those of the other pairs
 * of the same values the decision holds for (a source's duplicate rows, each its own person until
 * linked, proposed by the tier or not) and of the records whose earlier confirmation a rejection
 * ended (review-queue.ts),
 * whose link state it changed as much, as many as the column holds (entry-subjects.ts):
 * the two the officer saw always; a count of any left off in the app log, no ids.
 */
function decidedSubject(
  ctx: ApiContext,
  call: CallContext,
  candidate: Candidate,
  alsoAbout: readonly string[],
): string | null {
  const { subjectRef, leftOff } = subjectRefWithin([...peopleOf(candidate), ...alsoAbout]);
  if (leftOff > 0) ctx.services.logger.warn('link.decision-subjects-left-off', { requestId: call.requestId, leftOff });
  return subjectRef;
}

/** The keys a confirmation's record fingerprints are made under; a vault outage is a 503 (KeyUnavailableError). */
async function identityKeys(ctx: ApiContext): Promise<PairKeys> {
  try {
    return PairKeys.identity(await personRefKeyOf(ctx.services.secrets));
  } catch (err) {
    ctx.services.logger.error('api.person-ref-key-unavailable', { error: errorKind(err) });
    throw new KeyUnavailableError('link-decisions', { cause: err });
  }
}

/** POST /api/v1/link-candidates/{candidateId}/confirm */
export const confirmLinkCandidate = decideLinkCandidate('confirmed');
/** POST /api/v1/link-candidates/{candidateId}/reject */
export const rejectLinkCandidate = decideLinkCandidate('rejected');
