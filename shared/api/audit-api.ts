import { z } from 'zod';
import { consistencyProofFor, inclusionProofFor, LOG_INCONSISTENT, verifyLog } from '../audit/audit-service.js';
import { AUDIT_PURPOSE } from '../audit/entry-agreements.js';
import { personIdsOf, subjectRefWithin } from '../audit/entry-subjects.js';
import { onlyUnverifiable, type VerificationReport } from '../audit/verify-log.js';
import { idsAnsweringFor } from '../linkage/person-id-history.js';
import { json, problem, type HttpResult } from '../http/problem.js';
import type { ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { deny, runRequest, type CallContext } from './request-pipeline.js';
import { asAuditor, auditQuery } from './as-auditor.js';

const positive = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const inclusionQuerySchema = z.object({ seq: positive, treeSize: positive.optional() });
// A proof from a larger tree to a smaller one is a query that does not make sense, not a tree the
// log lacks: answered 404 `tree-size-unknown`, a DPO looked for a size the log does have.
export const consistencyQuerySchema = z
  .object({ from: positive, to: positive.describe('A tree size no smaller than `from`') })
  .refine((q) => q.from <= q.to);

/** GET /api/v1/audit/verify */
export function verifyAuditLog(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.verify', (call) =>
    asAuditor(ctx, call, async () => {
      const report = await verifyLog(ctx.services);
      return {
        result: json(200, report),
        log: { purpose: AUDIT_PURPOSE, decision: 'allow', reasonCode: verifyReason(report) },
      };
    }),
  );
}

/**
 * What the verify's entry says of the log: `log-unverifiable` when all that stands in the way is
 * checkpoints under signing key versions that are gone, which is not a sign of tampering.
 */
function verifyReason(report: VerificationReport): string {
  if (report.ok) return 'log-intact';
  return onlyUnverifiable(report) ? 'log-unverifiable' : 'log-tampered';
}

/** GET /api/v1/audit/proofs/inclusion?seq=N */
export function auditInclusionProof(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.inclusion-proof', (call) =>
    asAuditor(ctx, call, async (scope) => {
      const q = auditQuery(req, inclusionQuerySchema);
      if (!q)
        return deny(problem('invalid-request', { detail: 'seq must be a positive integer.' }), 'invalid-request', {
          purpose: AUDIT_PURPOSE,
        });
      const proof = await inclusionProofFor(ctx.services, q.seq, q.treeSize, (entry) => scope.covers(entry));
      if (proof === LOG_INCONSISTENT) return inconsistent();
      if (!proof)
        return deny(problem('entry-unknown'), 'entry-unknown', {
          purpose: AUDIT_PURPOSE,
        });
      return {
        result: json(200, proof),
        // The proof carries the entry, and so who it was about, when the scope covers it: the DPO
        // read an entry about those people, which their subject access requests must show (the
        // proved entry's people, several for an entry about several, by the ids they hold now:
        // proofSubject). A proof without the entry showed nobody. The proved entry's datasets
        // file the DPO's read under the agreements that entry was the business of
        // (entry-agreements.ts), not every one the DPO audits: those people are no business of
        // the others' DPOs.
        log: {
          purpose: AUDIT_PURPOSE,
          decision: 'allow',
          reasonCode: 'proof-issued',
          subjectRef: proof.entry ? await proofSubject(ctx, call, proof.entry) : null,
          datasets: proof.entry?.datasets ?? [],
        },
      };
    }),
  );
}

/**
 * Who a proof of `entry` is about: its people, by the ids their subject access answers show it
 * under now (person-id-history.ts). The entry names the id of its moment, and a pass since may
 * have moved them on to another: named as it was, the proof fell after their answer's window on
 * that id, and their answer left it out (found by a review). An entry about several people whose
 * ids split names more, as many as an entry's subject holds (entry-subjects.ts): the first ten,
 * and a count of any left off in the app log, no ids.
 */
async function proofSubject(
  ctx: ApiContext,
  call: CallContext,
  entry: { subjectRef: string | null; time: string },
): Promise<string | null> {
  const ids: string[] = [];
  for (const id of personIdsOf(entry.subjectRef))
    ids.push(...(await idsAnsweringFor(ctx.services.store.db, id, entry.time)));
  const { subjectRef, leftOff } = subjectRefWithin(ids);
  if (leftOff > 0) ctx.services.logger.warn('audit.proof-subjects-left-off', { requestId: call.requestId, leftOff });
  return subjectRef;
}

/** GET /api/v1/audit/proofs/consistency?from=A&to=B */
export function auditConsistencyProof(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'audit.consistency-proof', (call) =>
    asAuditor(ctx, call, async () => {
      const q = auditQuery(req, consistencyQuerySchema);
      if (!q)
        return deny(
          problem('invalid-request', { detail: 'from and to must be positive integers, from no larger than to.' }),
          'invalid-request',
          {
            purpose: AUDIT_PURPOSE,
          },
        );
      const proof = await consistencyProofFor(ctx.services, q.from, q.to);
      if (proof === LOG_INCONSISTENT) return inconsistent();
      if (!proof)
        return deny(problem('tree-size-unknown'), 'tree-size-unknown', {
          purpose: AUDIT_PURPOSE,
        });
      return {
        result: json(200, proof),
        log: { purpose: AUDIT_PURPOSE, decision: 'allow', reasonCode: 'proof-issued' },
      };
    }),
  );
}

/** The stored log no longer leads to a signed checkpoint's root: no proof is given (audit-service.ts). */
function inconsistent() {
  return deny(
    problem('log-inconsistent', {
      detail: 'Run a full verification: GET /api/v1/audit/verify names what changed.',
    }),
    'log-inconsistent',
    { purpose: AUDIT_PURPOSE },
  );
}
