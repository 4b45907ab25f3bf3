import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrations, type HttpRegistration } from '../../functions/registry.js';
import { DOCS_ASSET_NAMES, swaggerUiDirectory } from '../../shared/api/docs-page.js';
import {
  buildOpenApiDocument,
  openApiOptionsFor,
  openApiPath,
  type OpenApiDocument,
} from '../../shared/api/openapi.js';
import { WATCH_RULES } from '../../shared/audit/watch-rules.js';
import { PersonRefCodec } from '../../shared/people/person-ref.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

type Operation = {
  operationId: string;
  security?: unknown[];
  parameters: { name?: string; in?: string; required?: boolean; $ref?: string; schema?: { enum?: string[] } }[];
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<
    string,
    { content?: Record<string, { schema: { allOf?: [unknown, { properties: { type: { enum: string[] } } }] } }> }
  >;
};

/**
 * The API's machine-readable contract and its reference page, both served by the running host:
 * the document validates as OpenAPI 3.1, covers exactly the routes the host serves, and is
 * built from the same zod schemas the handlers validate with; the page works with no network.
 */
describe('OpenAPI document and reference page', () => {
  let t: TestHost;
  let doc: OpenApiDocument;
  let routes: HttpRegistration[];

  const operation = (path: string, method: string) => doc.paths[path]?.[method] as Operation | undefined;
  const problemTypes = (op: Operation, status: number) =>
    op.responses[String(status)]?.content?.['application/problem+json']?.schema.allOf?.[1].properties.type.enum ?? [];

  beforeAll(async () => {
    t = await startTestHost();
    routes = registrations().filter((r): r is HttpRegistration => r.kind === 'http');
    const res = await fetch(`${t.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    doc = (await res.json()) as OpenApiDocument;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes every route the host serves, with its methods, and no route it does not serve', async () => {
    expect(routes.length).toBeGreaterThanOrEqual(9);
    const served = new Set<string>();
    for (const route of routes) {
      // HEAD is documented by its GET (openapi.ts).
      for (const method of route.methods.filter((m) => m !== 'HEAD')) {
        served.add(`${method.toLowerCase()} ${openApiPath(route.route)}`);
        expect(
          operation(openApiPath(route.route), method.toLowerCase()),
          `${method} /api/${route.route}`,
        ).toBeDefined();
      }
    }
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual([...served].sort());
    // And each documented path really is routed by the host: no 404 `not-found` from the router.
    for (const entry of documented) {
      const [method, path] = entry.split(' ') as [string, string];
      const concrete = path.replace('{asset}', 'swagger-ui.css').replace(/\{[^}]+\}/g, 'x');
      const res = await fetch(`${t.url}${concrete}`, {
        method: method.toUpperCase(),
        ...(method === 'post' ? { body: '{}' } : {}),
      });
      const body = await res.text();
      expect(body.includes('urn:lintel:problem:not-found') && res.status === 404, entry).toBe(false);
    }
  });

  it('documents a constrained parameter by its name alone, a doubled brace in its regex included', () => {
    expect(openApiPath('v1/people/{personRef:regex(^(?!search$))}')).toBe('/api/v1/people/{personRef}');
    expect(openApiPath('v1/r/{id:regex(^\\d{{3}}$)}/x')).toBe('/api/v1/r/{id}/x');
  });

  it('refuses to build when a served route has no description', () => {
    const unknown = { name: 'somethingNew', route: 'v1/something', methods: ['GET'] };
    expect(() => buildOpenApiDocument([...routes, unknown])).toThrow(/somethingNew/);
  });

  it('takes request and response shapes from the zod schemas the handlers use', () => {
    const schemas = (
      doc.components as {
        schemas: Record<
          string,
          { properties?: Record<string, unknown>; additionalProperties?: unknown; required?: string[] }
        >;
      }
    ).schemas;
    const search = operation('/api/v1/people/search', 'post')!;
    expect(search.requestBody?.content['application/json']?.schema.$ref).toBe(
      '#/components/schemas/PersonSearchRequest',
    );
    expect(Object.keys(schemas.PersonSearchRequest!.properties!).sort()).toEqual(
      [
        'dateOfBirth',
        'datasets',
        'familyName',
        'givenName',
        'nhsNumber',
        'niNumber',
        'postcode',
        'systemId',
        'upn',
      ].sort(),
    );
    expect(schemas.PersonSearchRequest!.additionalProperties).toBe(false);
    expect(schemas.DuplicateCheck!.required?.sort()).toEqual(['councils', 'duplicate']);
    // A default makes a property optional for the client: `kind` defaults to consent.
    expect(schemas.ConsentRequest!.required?.sort()).toEqual(['evidenceRef', 'subject']);
    expect(schemas.PersonView!.required).toContain('match');
    expect(schemas.PersonViewByRef!.required).not.toContain('match');
  });

  it('gives the shape of every person reference it answers or takes, and the rules an alert may name', () => {
    // Every ref was documented as any string, and an alert's rule as any string: a client generated
    // from the document accepted any text where the API only ever answers one shape, and could not
    // know which rules a DPO's alerts come from.
    type Schema = { pattern?: string; enum?: string[]; anyOf?: Schema[]; items?: Schema };
    const refSchemas: [string, Schema][] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${at}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const value = node as Record<string, unknown>;
      if (value.in === 'path' && value.name === 'personRef') refSchemas.push([`${at} (path)`, value.schema as Schema]);
      for (const [key, child] of Object.entries(value)) {
        if (key === 'properties')
          for (const [name, property] of Object.entries(child as Record<string, Schema>)) {
            if (name === 'personRef') refSchemas.push([`${at}/${name}`, property]);
            // The activity view's references, not an inclusion proof's entry, whose `subjectRef`
            // is the log's own pseudonymous key, hashed as stored.
            if (!at.includes('/ClientActivity/')) continue;
            if (name === 'subjectRef') refSchemas.push([`${at}/${name}`, property]);
            if (name === 'subjectRefs') refSchemas.push([`${at}/${name}[]`, property.items!]);
          }
        walk(child, `${at}/${key}`);
      }
    };
    walk(doc, '#');
    // The search and view, the DPO's subject access view and its activity view, the problem
    // details of an unsettled match, and the two paths that take one.
    expect(refSchemas.length).toBeGreaterThanOrEqual(8);
    const codec = new PersonRefCodec(randomBytes(32));
    const issued = [
      codec.encode('la-housing', randomUUID()),
      codec.encode('la-housing', randomUUID(), 'lookup', new Date().toISOString()),
      codec.encode('la-housing', randomUUID(), 'audit'),
    ];
    for (const [at, schema] of refSchemas) {
      const pattern = schema.pattern ?? schema.anyOf?.find((s) => s.pattern !== undefined)?.pattern;
      expect(pattern, at).toEqual(expect.any(String));
      for (const ref of issued) expect(ref, at).toMatch(new RegExp(pattern!));
      expect('not-a-ref', at).not.toMatch(new RegExp(pattern!));
    }

    const alert = (doc.components as { schemas: Record<string, { properties: Record<string, Schema> }> }).schemas
      .Alert!;
    expect(alert.properties.rule!.enum?.sort()).toEqual([...WATCH_RULES].sort());
  });

  it('requires a bearer token everywhere but health and the reference, and states the purpose header', () => {
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const schemes = (
      doc.components as { securitySchemes: Record<string, { type: string; scheme?: string; bearerFormat?: string }> }
    ).securitySchemes;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const path of ['/api/health', '/api/openapi.json', '/api/docs', '/api/docs/{asset}']) {
      const op = operation(path, 'get')!;
      expect(op.security, path).toEqual([]);
      // The host gives these a request id too (echoing a caller's UUID): the document says so.
      expect(op.parameters, path).toContainEqual({ $ref: '#/components/parameters/XRequestId' });
      expect(Object.keys((op.responses['200'] as { headers?: object }).headers ?? {}), path).toContain('X-Request-Id');
    }
    for (const [path, method] of [
      ['/api/v1/people/search', 'post'],
      ['/api/v1/duplicate-checks', 'post'],
      ['/api/v1/people/{personRef}', 'get'],
    ] as const) {
      const op = operation(path, method)!;
      expect(op.security).toBeUndefined();
      const purpose = op.parameters.find((p) => p.name === 'X-Purpose');
      expect(purpose, path).toMatchObject({ in: 'header', required: true });
      expect(purpose!.schema!.enum).toEqual(
        expect.arrayContaining(['housing-allocation', 'fraud-prevention', 'research-evaluation']),
      );
      expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/XRequestId' });
    }
  });

  it('documents the client ids the activity view takes: exactly those it does not refuse 400', async () => {
    // The path parameter was documented as any string of up to 200 characters, a copy of its own
    // beside the handler's rule: a DPO's client, generated from the document, sent a client id
    // with a space or an accented letter and was refused 400 `invalid-request`.
    const op = operation('/api/v1/audit/clients/{clientId}/activity', 'get')!;
    const schema = (
      op.parameters.find((p) => p.name === 'clientId') as { schema: { pattern?: string; maxLength?: number } }
    ).schema;
    const admits = (value: string) =>
      (schema.pattern === undefined || new RegExp(schema.pattern).test(value)) &&
      value.length <= (schema.maxLength ?? Infinity);
    const dpo = await t.token('kettering-borough-council', ['dpo']);
    const period = `from=${new Date(Date.now() - 60_000).toISOString()}&to=${new Date().toISOString()}`;
    for (const clientId of ['dev-client-kettering-borough-council', 'a b', 'café-app', 'app+1', 'x'.repeat(200)]) {
      const res = await fetch(`${t.url}/api/v1/audit/clients/${encodeURIComponent(clientId)}/activity?${period}`, {
        headers: { authorization: `Bearer ${dpo}` },
      });
      expect(res.status === 200, `${clientId.slice(0, 20)} answered ${res.status}`).toBe(admits(clientId));
    }
  });

  it('says what a 404 `not-found` on the breach endpoints means: no such alert or breach record, not a wrong route', async () => {
    // Documented as "No such route or file." alone, a DPO whose alert id was unknown (or outside
    // its audit scope) went looking for a mistyped URL.
    const dpo = await t.token('kettering-borough-council', ['dpo']);
    for (const [path, concrete, body, names] of [
      ['/api/v1/audit/alerts/{alertId}/breach', `/api/v1/audit/alerts/${'0'.repeat(32)}/breach`, undefined, /alert/],
      [
        '/api/v1/audit/breaches/{breachId}/steps',
        `/api/v1/audit/breaches/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/steps`,
        JSON.stringify({ step: 'closed' }),
        /breach record/,
      ],
    ] as const) {
      const res = await fetch(`${t.url}${concrete}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dpo}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
      });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { type: string }).type).toBe('urn:lintel:problem:not-found');
      const documented = (operation(path, 'post')!.responses['404'] as { description: string }).description;
      expect(documented, path).toMatch(names);
    }
  });

  it('says `party-unknown` also answers a mapped party whose agreements have all ended', () => {
    // decide.ts answers it to a party to ended agreements alone, or one a re-signing dropped, for
    // anything but its withdrawals and its log (audit-scope-agreement-removed.test.ts): a partner
    // told only "not mapped to a party" looked for a fault in its client mapping.
    const documented = (operation('/api/v1/people/search', 'post')!.responses['403'] as { description: string })
      .description;
    const partyUnknown = documented.split('\n\n').find((line) => line.startsWith('`party-unknown`:'));
    expect(partyUnknown).toMatch(/not mapped to a party/);
    expect(partyUnknown).toMatch(/agreements have all ended/);
    expect(partyUnknown).toMatch(/re-signing dropped/);
  });

  it('says when withdrawing a consent needs X-Purpose: for an opt-out, else 404 `consent-unknown`', () => {
    // An opt-out's record carries no purpose: withdrawn without the header, or under a purpose of
    // another agreement or one it does not apply to, it is answered as an unknown id
    // (consents-api.test.ts). The document said only that the header was not required.
    const purpose = operation('/api/v1/consents/{consentId}', 'delete')!.parameters.find(
      (p) => p.name === 'X-Purpose',
    ) as { required: boolean; description: string };
    expect(purpose.required).toBe(false);
    expect(purpose.description).toMatch(/opt-out/);
    expect(purpose.description).toMatch(/national data opt-out applies/);
    expect(purpose.description).toMatch(/404 `consent-unknown`/);
    expect(purpose.description).toMatch(/consent.*ignored|ignored.*consent/);
  });

  it('describes the Entra ID client-credentials flow when the issuer is Entra ID', async () => {
    const tenant = '11111111-2222-3333-4444-555555555555';
    const services = {
      agreements: t.host.services.agreements,
      settings: {
        ...t.settings,
        AUTH_ISSUER: `https://login.microsoftonline.com/${tenant}/v2.0`,
        AUTH_AUDIENCE: '66666666-7777-8888-9999-000000000000',
      },
    };
    const entra = buildOpenApiDocument(routes, openApiOptionsFor(services));
    expect(
      (entra.components as { securitySchemes: Record<string, unknown> }).securitySchemes.entraClientCredentials,
    ).toEqual({
      type: 'oauth2',
      flows: {
        clientCredentials: {
          tokenUrl: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
          scopes: { '66666666-7777-8888-9999-000000000000/.default': expect.any(String) },
        },
      },
    });
    expect(entra.security).toEqual([
      { bearerAuth: [] },
      { entraClientCredentials: ['66666666-7777-8888-9999-000000000000/.default'] },
    ]);
    expect((await new Validator().validate(entra)).valid).toBe(true);
    // The development issuer has no token endpoint to describe.
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  it('documents the headers a refusal carries: Accept-Encoding on a 415, as Retry-After on a 429', () => {
    // A body sent with a Content-Encoding is refused 415 with Accept-Encoding: identity (RFC 9110
    // §15.5.16), which the README names; the document listed only X-Request-Id on a 415, so a
    // client generated from it did not know to look (found by a review).
    const headersOf = (op: Operation, status: number) =>
      Object.keys((op.responses[String(status)] as { headers?: object } | undefined)?.headers ?? {});
    const withBody = Object.entries(doc.paths).flatMap(([path, item]) =>
      (Object.entries(item) as [string, Operation][])
        .filter(([, op]) => op.responses['415'] !== undefined)
        .map(([method, op]) => [`${method} ${path}`, op] as const),
    );
    expect(withBody.length).toBeGreaterThanOrEqual(5);
    for (const [name, op] of withBody) {
      expect(headersOf(op, 415), name).toEqual(expect.arrayContaining(['X-Request-Id', 'Accept-Encoding']));
      expect(headersOf(op, 429), name).toContain('Retry-After');
    }
    // Every path answers a method it is not served for 405 with the methods it is.
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item) as [string, Operation][])
        expect(headersOf(op, 405), `${method} ${path}`).toContain('Allow');
  });

  it('lists the stable problem types each operation can answer with, as problem+json', () => {
    const search = operation('/api/v1/people/search', 'post')!;
    expect(problemTypes(search, 401)).toEqual(['urn:lintel:problem:unauthenticated']);
    expect(problemTypes(search, 400)).toEqual(
      expect.arrayContaining(['urn:lintel:problem:purpose-required', 'urn:lintel:problem:invalid-identifier']),
    );
    expect(problemTypes(search, 403)).toEqual(
      expect.arrayContaining(['urn:lintel:problem:purpose-not-permitted', 'urn:lintel:problem:role-not-permitted']),
    );
    // A subject's missing consent or opt-out is answered as no-match, never as its own problem.
    expect(problemTypes(search, 403)).not.toContain('urn:lintel:problem:consent-required');
    expect(problemTypes(search, 404)).toEqual(['urn:lintel:problem:no-match']);
    expect(problemTypes(search, 503)).toEqual(
      expect.arrayContaining([
        'urn:lintel:problem:authentication-unavailable',
        'urn:lintel:problem:audit-log-unavailable',
        'urn:lintel:problem:key-unavailable',
      ]),
    );
    expect(problemTypes(search, 503)).toHaveLength(3);
    // Every call that matches identifiers needs every stored key version; a verify or a proof
    // needs the key the access log's checkpoints are signed under (openapi-responses.test.ts
    // found them answering key-unavailable undocumented); reading alerts needs no key.
    for (const [path, method] of [
      ['/api/v1/duplicate-checks', 'post'],
      ['/api/v1/consents', 'post'],
      ['/api/v1/audit/people/accesses', 'post'],
      ['/api/v1/audit/verify', 'get'],
      ['/api/v1/audit/proofs/inclusion', 'get'],
      ['/api/v1/audit/proofs/consistency', 'get'],
    ] as const)
      expect(problemTypes(operation(path, method)!, 503), path).toContain('urn:lintel:problem:key-unavailable');
    expect(problemTypes(operation('/api/v1/audit/alerts', 'get')!, 503)).not.toContain(
      'urn:lintel:problem:key-unavailable',
    );
    expect(problemTypes(operation('/api/v1/duplicate-checks', 'post')!, 409)).toEqual([
      'urn:lintel:problem:ambiguous-match',
      'urn:lintel:problem:subject-relinked',
    ]);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item) as [string, Operation][]) {
        const authenticated = op.security === undefined;
        if (authenticated)
          expect(problemTypes(op, 401), `${method} ${path}`).toEqual(['urn:lintel:problem:unauthenticated']);
        for (const [status, response] of Object.entries(op.responses)) {
          // The one error status that is not a problem: health's 503 is its report, for the probes.
          if (Number(status) >= 400 && !(path === '/api/health' && status === '503'))
            expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).toEqual([
              'application/problem+json',
            ]);
        }
      }
    }
  });

  describe('reference page', () => {
    it('serves HTML that loads only its own files', async () => {
      const res = await fetch(`${t.url}/api/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await res.text();
      expect(html).toContain('<div id="swagger-ui">');
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).not.toContain('<script>');
      const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(referenced.filter((r) => r.startsWith('/api/docs/'))).toHaveLength(referenced.length - 1);
      for (const path of referenced) {
        const asset = await fetch(`${t.url}${path}`);
        expect(asset.status, path).toBe(200);
      }
    });

    it('serves swagger-ui-dist files byte for byte with their content types', async () => {
      const types: Record<string, string> = {
        css: 'text/css; charset=utf-8',
        js: 'text/javascript; charset=utf-8',
        png: 'image/png',
      };
      for (const name of DOCS_ASSET_NAMES.filter((n) => n !== 'lintel-docs.js')) {
        const res = await fetch(`${t.url}/api/docs/${name}`);
        expect(res.status, name).toBe(200);
        expect(res.headers.get('content-type')).toBe(types[name.split('.').pop()!]);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(swaggerUiDirectory(), name))), name).toBe(
          true,
        );
      }
    });

    it('shows the document without a warning box: no JSON Schema dialect the page’s Swagger UI does not take', async () => {
      // The page's own Swagger UI puts a "Warning … Values different from the default one are
      // currently not supported" box above the operations for any `jsonSchemaDialect` but OAS
      // 3.1's default (found by opening /api/docs in a browser): a partner reads the reference as
      // one its own viewer cannot show.
      const bundle = await (await fetch(`${t.url}/api/docs/swagger-ui-bundle.js`)).text();
      const oas31Default = 'https://spec.openapis.org/oas/3.1/dialect/base';
      expect(bundle).toContain('Values different from the default one are currently not supported');
      expect(bundle).toContain(oas31Default);
      expect([undefined, oas31Default]).toContain(doc.jsonSchemaDialect);
    });

    it('points Swagger UI at the local document, with the online validator off', async () => {
      const res = await fetch(`${t.url}/api/docs/lintel-docs.js`);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const script = await res.text();
      expect(script).toContain('"/api/openapi.json"');
      expect(script).toContain('validatorUrl: null');
      expect(script).not.toMatch(/https?:\/\//);
    });

    it('serves nothing outside its allow-list, and does not repeat the name asked for', async () => {
      for (const name of [
        'index.html',
        'swagger-ui.js.map',
        'package.json',
        '..%2Fpackage.json',
        '..%2F..%2Fpackage.json',
        '%2Fetc%2Fpasswd',
        'absolute-path.js',
        'constructor',
        '__proto__',
      ]) {
        const res = await fetch(`${t.url}/api/docs/${name}`);
        expect(res.status, name).toBe(404);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        const text = await res.text();
        expect(text).not.toContain(decodeURIComponent(name).replace(/^[./]+/, ''));
      }
    });
  });
});
