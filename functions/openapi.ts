import { buildOpenApiDocument, openApiOptionsFor } from '../shared/api/openapi.js';
import { json, type HttpResult } from '../shared/http/problem.js';
import { getServices, type Services } from '../shared/services.js';
import { respond } from './http-result.js';
import { registerHttp, registrations, type HttpRegistration } from './registry.js';

/**
 * Built on the first request to each set of services, when every trigger module has registered;
 * the table does not change after. Kept by services, not once for the process: the document
 * offers the purposes of the agreements those services loaded, and a process given other services
 * (useServices: a local host restarted with other agreement files) served the first one's.
 */
const documents = new WeakMap<Services, Promise<HttpResult>>();

function openApiResult(services: Services): Promise<HttpResult> {
  let document = documents.get(services);
  if (document === undefined) {
    const routes = registrations().filter((r): r is HttpRegistration => r.kind === 'http');
    document = Promise.resolve().then(() =>
      json(200, buildOpenApiDocument(routes, openApiOptionsFor(services)), { 'cache-control': 'no-cache' }),
    );
    documents.set(services, document);
    document.catch(() => documents.delete(services));
  }
  return document;
}

registerHttp({
  name: 'openapi',
  route: 'openapi.json',
  // HEAD as well, as on every route that holds no personal data (health.ts).
  methods: ['GET', 'HEAD'],
  handler: (request, context) => respond(context, async () => openApiResult(await getServices()), request),
});
