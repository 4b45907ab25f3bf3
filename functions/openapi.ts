import { buildOpenApiDocument, openApiOptionsFor } from '../shared/api/openapi.js';
import { json, type HttpResult } from '../shared/http/problem.js';
import { getServices } from '../shared/services.js';
import { respond } from './http-result.js';
import { registerHttp, registrations, type HttpRegistration } from './registry.js';

let document: Promise<HttpResult> | undefined;

/** Built on first request, when every trigger module has registered; the table does not change after. */
async function openApiResult(): Promise<HttpResult> {
  const routes = registrations().filter((r): r is HttpRegistration => r.kind === 'http');
  const body = buildOpenApiDocument(routes, openApiOptionsFor(await getServices()));
  return json(200, body, { 'cache-control': 'no-cache' });
}

registerHttp({
  name: 'openapi',
  route: 'openapi.json',
  // HEAD as well, as on every route that holds no personal data (health.ts).
  methods: ['GET', 'HEAD'],
  handler: (request, context) =>
    respond(
      context,
      () => {
        document ??= openApiResult();
        document.catch(() => (document = undefined));
        return document;
      },
      request,
    ),
});
