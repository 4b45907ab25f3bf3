import { z } from 'zod';
import type { Services } from '../services.js';
import {
  COMPONENT_SCHEMAS,
  HTTP_SERVER_PROBLEMS,
  OPERATIONS,
  REQUEST_PATH_PROBLEMS,
  type OperationSpec,
} from './operations.js';
import { PROBLEM_CATALOGUE, problemTypeUri, type ProblemCode } from './problem-catalogue.js';
import { REQUEST_ID_PATTERN } from './request-pipeline.js';
import { servedPath } from './served-path.js';

/**
 * The OpenAPI 3.1 document of lintel's HTTP API, generated from the registered routes and the
 * zod schemas the handlers validate with (OpenAPI 3.1 schemas are JSON Schema 2020-12, which
 * is what `z.toJSONSchema` emits). Nothing here is written by hand twice: routes come from the
 * registration table, shapes from zod, problem types from the catalogue.
 */

/** An HTTP route as the registration table holds it (structurally; shared/ does not know the runtime). */
export interface RouteEntry {
  readonly name: string;
  /** Below the `api/` prefix, in Functions template syntax. */
  readonly route: string;
  readonly methods: readonly string[];
}

export interface OpenApiOptions {
  /** Purpose ids the agreements define, listed as the values `X-Purpose` may take. */
  purposes?: readonly string[];
  /**
   * Purpose ids of agreements that ended (their files removed), which an operation that takes
   * `X-Purpose` as optional (a withdrawal) also takes: an opt-out recorded under such an agreement
   * is withdrawn under one of them.
   */
  endedPurposes?: readonly string[];
  /** Entra ID token endpoint, when known, to describe the client-credentials flow. */
  tokenUrl?: string;
  /** The `.default` scope clients ask for, e.g. `api://lintel/.default`. */
  scope?: string;
  version?: string;
}

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

/**
 * `v1/people/{personRef}` → `/api/v1/people/{personRef}`; constraints and catch-alls reduce to
 * plain parameters. A constraint's brace is written doubled (`\d{{3}}`, local/route-table.ts):
 * taken for the parameter's end, it left the rest of the regex in the documented path.
 */
export function openApiPath(route: string): string {
  return servedPath(route.replace(/\{\*?([A-Za-z_][A-Za-z0-9_]*)(?:\{\{|\}\}|[^{}])*\}/g, '{$1}'));
}

export function buildOpenApiDocument(routes: readonly RouteEntry[], options: OpenApiOptions = {}): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const spec = OPERATIONS[route.name];
    if (!spec)
      throw new Error(`No OpenAPI description for HTTP function '${route.name}' (add it to shared/api/operations.ts)`);
    const path = openApiPath(route.route);
    const item = (paths[path] ??= {});
    // HEAD is its GET without the body (RFC 9110 §9.3.2), served only beside a GET: the GET
    // operation describes it, and a second operation would only add a client method per route.
    const documented = { ...route, methods: route.methods.filter((method) => method !== 'HEAD') };
    if (documented.methods.length < route.methods.length && !documented.methods.includes('GET'))
      throw new Error(`HTTP function '${route.name}' serves HEAD without GET`);
    for (const method of documented.methods) {
      const key = method.toLowerCase();
      if (item[key]) throw new Error(`Two functions serve ${method} ${path}`);
      item[key] = operation(documented, method, spec, options);
    }
  }
  const securitySchemes: Record<string, unknown> = {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'An Entra ID access token obtained with the client-credentials grant. Its client id (`azp`, or `appid` in v1 tokens) names the calling party; its `roles` claim, the app roles. Signed with an asymmetric key of the configured issuer; unsigned and HMAC tokens are refused.',
    },
  };
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }];
  if (options.tokenUrl) {
    const scopes = options.scope ? { [options.scope]: 'The app roles granted to the client application' } : {};
    securitySchemes.entraClientCredentials = {
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: options.tokenUrl, scopes } },
    };
    security.push({ entraClientCredentials: options.scope ? [options.scope] : [] });
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'lintel partner API',
      version: options.version ?? '1',
      description:
        'The data-sharing layer of a council housing partnership. Every call states its purpose in `X-Purpose`; the data sharing agreement decides what, if anything, is returned, and every call leaves one entry in a tamper-evident access log. Errors are RFC 9457 `application/problem+json` with a stable `type` (`urn:lintel:problem:<code>`). A query parameter an operation does not define is ignored (a cache-buster such as `_=` changes nothing).',
    },
    // No `jsonSchemaDialect`: OAS 3.1's default (JSON Schema 2020-12 with the OAS vocabulary)
    // takes what zod emits, and the reference page's Swagger UI shows a warning box for any other.
    tags: [...new Set(Object.values(OPERATIONS).map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes,
      parameters: {
        XRequestId: {
          name: 'X-Request-Id',
          in: 'header',
          required: false,
          description:
            'A correlation id (a UUID) to echo and log; any other value is replaced by an issued one, as free text is never stored in the append-only access log.',
          schema: { type: 'string', pattern: REQUEST_ID_PATTERN },
        },
      },
      headers: {
        XRequestId: {
          description: 'The request id, echoed or issued; also in the access log',
          schema: { type: 'string', pattern: REQUEST_ID_PATTERN },
        },
        RetryAfter: { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } },
        WwwAuthenticate: {
          description:
            'The authentication scheme, Bearer; with error="invalid_token" where a bearer token was sent, whatever was wrong with it',
          schema: { type: 'string' },
        },
        Allow: {
          description: 'On a method the path is not served for: the methods it is, comma-separated',
          schema: { type: 'string' },
        },
        AcceptEncoding: {
          description: 'On a body refused for its Content-Encoding: identity, the one coding taken',
          schema: { type: 'string' },
        },
      },
    },
    security,
  };
}

function operation(
  route: RouteEntry,
  method: string,
  spec: OperationSpec,
  options: OpenApiOptions,
): Record<string, unknown> {
  const parameters: unknown[] = Object.entries(spec.pathParameters ?? {}).map(([name, p]) => ({
    name,
    in: 'path',
    required: true,
    description: p.description,
    schema: jsonSchema(p.schema, 'input'),
  }));
  for (const [name, schema] of Object.entries(spec.query?.shape ?? {})) {
    parameters.push({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: jsonSchema(schema as z.ZodType, 'input'),
    });
  }
  const declared = new Set(Object.keys(spec.pathParameters ?? {}));
  for (const name of pathParameterNames(route.route)) {
    if (!declared.has(name))
      throw new Error(`HTTP function '${route.name}' has path parameter '${name}' with no description`);
  }
  if (spec.purpose) parameters.push(purposeParameter(spec.purpose, options.purposes, options.endedPurposes));
  // Every response carries one, the unauthenticated operations' too (functions/http-result.ts).
  parameters.push({ $ref: '#/components/parameters/XRequestId' });
  const requestIdHeader = { headers: { 'X-Request-Id': { $ref: '#/components/headers/XRequestId' } } };
  const responses: Record<string, unknown> = {};
  for (const r of spec.responses) {
    const contentType = r.contentType ?? 'application/json';
    const location = r.location
      ? { Location: { description: r.location, schema: { type: 'string', format: 'uri-reference' } } }
      : {};
    responses[String(r.status)] = {
      description: r.description,
      headers: { ...requestIdHeader.headers, ...location },
      content: {
        [contentType]: r.schema
          ? { schema: { $ref: `#/components/schemas/${r.schema}` } }
          : { schema: { type: 'string' } },
      },
    };
  }
  const problems = [
    ...new Set<ProblemCode>([
      ...(spec.authenticated ? REQUEST_PATH_PROBLEMS : []),
      ...spec.problems,
      ...HTTP_SERVER_PROBLEMS,
    ]),
  ];
  for (const [status, codes] of groupByStatus(problems)) {
    const headers: Record<string, unknown> = { ...requestIdHeader.headers };
    if (status === 429 || status === 503) headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
    if (status === 401) headers['WWW-Authenticate'] = { $ref: '#/components/headers/WwwAuthenticate' };
    // A body sent compressed is refused 415 naming the coding taken (json-body.ts, RFC 9110 §15.5.16).
    if (status === 415) headers['Accept-Encoding'] = { $ref: '#/components/headers/AcceptEncoding' };
    if (status === 405) headers.Allow = { $ref: '#/components/headers/Allow' };
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\`: ${PROBLEM_CATALOGUE[code].description}`).join('\n\n'),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/problem+json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Problem' },
              { type: 'object', properties: { type: { enum: codes.map(problemTypeUri) }, status: { const: status } } },
              // Each type's fixed title, published so a client may rely on it (RFC 9457 §3.1.3).
              {
                oneOf: codes.map((code) => ({
                  properties: {
                    type: { const: problemTypeUri(code) },
                    title: { const: PROBLEM_CATALOGUE[code].title },
                  },
                })),
              },
            ],
          },
        },
      },
    };
  }
  return {
    operationId:
      route.methods.length > 1
        ? `${route.name}${method[0]!.toUpperCase()}${method.slice(1).toLowerCase()}`
        : route.name,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    ...(spec.authenticated ? {} : { security: [] }),
    parameters,
    ...(spec.requestBody
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: `#/components/schemas/${spec.requestBody}` } } },
          },
        }
      : {}),
    responses,
  };
}

/** Inline rather than a `$ref`: whether it is required differs per operation, and a reference cannot say so. */
function purposeParameter(
  use: NonNullable<OperationSpec['purpose']>,
  purposes: readonly string[] | undefined,
  endedPurposes: readonly string[] = [],
): Record<string, unknown> {
  // Only a withdrawal takes the purpose as optional, and only it is decided under an ended
  // agreement's purpose: listed without them, the reference page could not send the one it needs.
  const values = use === 'required' ? (purposes ?? []) : [...new Set([...(purposes ?? []), ...endedPurposes])].sort();
  return {
    name: 'X-Purpose',
    in: 'header',
    required: use === 'required',
    description:
      use === 'required'
        ? 'The one purpose of this request, as the data sharing agreements name it. Missing: 400 `purpose-required`.'
        : use.optional,
    schema: values.length > 0 ? { type: 'string', enum: [...values] } : { type: 'string', maxLength: 100 },
  };
}

function pathParameterNames(route: string): string[] {
  return [...route.matchAll(/\{\*?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

function groupByStatus(codes: readonly ProblemCode[]): [number, ProblemCode[]][] {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) {
    const status = PROBLEM_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus.entries()].sort((a, b) => a[0] - b[0]);
}

function componentSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(COMPONENT_SCHEMAS).map(([name, { schema, io }]) => [name, jsonSchema(schema, io)]),
  );
}

/** JSON Schema 2020-12 from zod, without the `$schema` key (OAS 3.1's default dialect is 2020-12's). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

/**
 * Options from the running configuration: the purposes the agreements define and, for an Entra
 * ID issuer (`https://login.microsoftonline.com/{tenant}/v2.0`), its client-credentials token
 * endpoint. The development issuer has no token endpoint: tokens come from `npm run token`.
 */
export function openApiOptionsFor(services: Pick<Services, 'settings' | 'agreements'>): OpenApiOptions {
  const purposes = services.agreements.all().flatMap((a) => a.agreement.purposes.map((p) => p.id));
  const entra = /^https:\/\/login\.microsoftonline\.com\/([A-Za-z0-9.-]+)\/v2\.0\/?$/.exec(
    services.settings.AUTH_ISSUER,
  );
  return {
    purposes: [...new Set(purposes)].sort(),
    endedPurposes: services.agreements.purposesOfEndedAgreements().sort(),
    ...(entra
      ? {
          tokenUrl: `https://login.microsoftonline.com/${entra[1]}/oauth2/v2.0/token`,
          scope: `${services.settings.AUTH_AUDIENCE}/.default`,
        }
      : {}),
  };
}
