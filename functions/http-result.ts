import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { apiContextFor, type ApiContext } from '../shared/api/api-context.js';
import type { ApiRequest } from '../shared/api/api-request.js';
import { getServices } from '../shared/services.js';
import { errorKind } from '../shared/logging.js';
import { problem, type HttpResult } from '../shared/http/problem.js';

/** Runs a use case and maps a thrown error to a bare 500 problem; the error's text stays in our logs only as its kind. */
export async function respond(context: InvocationContext, run: () => Promise<HttpResult>): Promise<HttpResponseInit> {
  try {
    return await run();
  } catch (err) {
    context.error(
      JSON.stringify({ event: 'http.unhandled', invocationId: context.invocationId, error: errorKind(err) }),
    );
    return problem(500, 'internal-error', 'Internal error');
  }
}

/** The shape of every API trigger: build the request context, call the use case, map errors. */
export function apiHandler(useCase: (ctx: ApiContext, req: ApiRequest) => Promise<HttpResult>) {
  return (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
    respond(context, async () => useCase(apiContextFor(await getServices()), request));
}
