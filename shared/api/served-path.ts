/**
 * Where a route is served: below the `api/` prefix both hosts put before every route (host.json's
 * `extensions.http.routePrefix` under the Functions host, the local host's route table alike).
 * A path an answer names (a `Location`, the OpenAPI document's paths) is built here, so it cannot
 * drift from where the route is.
 */
const ROUTE_PREFIX = '/api/';

/** `v1/consents/<id>` → `/api/v1/consents/<id>`. */
export function servedPath(route: string): string {
  return ROUTE_PREFIX + route;
}
