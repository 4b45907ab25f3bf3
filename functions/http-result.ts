import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { apiContextFor, type ApiContext } from '../shared/api/api-context.js';
import type { ApiRequest } from '../shared/api/api-request.js';
import { requestIdFrom, withRequestId } from '../shared/api/request-pipeline.js';
import { getServices } from '../shared/services.js';
import { errorKind } from '../shared/logging.js';
import { problem, type HttpResult } from '../shared/http/problem.js';

/**
 * Runs a use case and maps a thrown error to a bare 500 problem; the error's text stays in our logs only as its kind.
 * Every response carries an `X-Request-Id`: the one the use case set (the request pipeline's), else the
 * request's own if it is a UUID, else a fresh one.
 */
export async function respond(
  context: InvocationContext,
  run: () => Promise<HttpResult>,
  request?: Pick<HttpRequest, 'headers'>,
): Promise<HttpResponseInit> {
  let result: HttpResult;
  try {
    result = await run();
  } catch (err) {
    context.error(
      JSON.stringify({ event: 'http.unhandled', invocationId: context.invocationId, error: errorKind(err) }),
    );
    result = problem('internal-error');
  }
  return ensureRequestId(result, request);
}

/** The result as it is if the use case gave it a request id (the pipeline does), else with one. */
function ensureRequestId(result: HttpResult, request: Pick<HttpRequest, 'headers'> | undefined): HttpResult {
  if (Object.keys(result.headers ?? {}).some((name) => name.toLowerCase() === 'x-request-id')) return result;
  return withRequestId(result, requestIdFrom(request?.headers.get('x-request-id')));
}

/** The shape of every API trigger: build the request context, call the use case, map errors. */
export function apiHandler(useCase: (ctx: ApiContext, req: ApiRequest) => Promise<HttpResult>) {
  return (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(context, async () => useCase(apiContextFor(await getServices()), request), request);
}
