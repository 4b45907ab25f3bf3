import type { z } from 'zod';
import { auditScope, type AuditScope } from '../audit/dpo-views.js';
import { AUDIT_PURPOSE } from '../audit/entry-agreements.js';
import { decide } from '../policy/decide.js';
import type { ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { decisionProblem } from './decision-problem.js';
import { deny, type CallContext, type Outcome } from './request-pipeline.js';

/**
 * The audit and DPO endpoints are open to the roles an agreement's `audit` block names (DPOs);
 * `run` is given the part of the log the caller may read, so a DPO sees the entries of the
 * agreements they audit and no others.
 */
export async function asAuditor(
  ctx: ApiContext,
  call: CallContext,
  run: (scope: AuditScope) => Promise<Outcome>,
): Promise<Outcome> {
  const decision = await decide(
    { caller: call.caller, purpose: call.purpose, datasets: [], subject: null, action: 'audit' },
    { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now },
  );
  if (!decision.allow) return deny(decisionProblem(decision), decision.reason, { purpose: AUDIT_PURPOSE });
  return run(auditScope(ctx.services.agreements, decision.agreementIds));
}

/** A request's query string read by `schema`; undefined when it does not fit. */
export function auditQuery<S extends z.ZodType>(req: ApiRequest, schema: S): z.infer<S> | undefined {
  const parsed = schema.safeParse(Object.fromEntries(req.query));
  return parsed.success ? parsed.data : undefined;
}
