import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrations, type HttpRegistration } from '../../functions/registry.js';
import { RouteTable } from '../../local/route-table.js';
import { DOCS_ASSET_NAMES } from '../../shared/api/docs-page.js';
import { openApiPath, type OpenApiDocument } from '../../shared/api/openapi.js';
import { HTTP_SERVER_PROBLEMS } from '../../shared/api/operations.js';
import { PROBLEM_CATALOGUE } from '../../shared/api/problem-catalogue.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, SAM, SAM_PARTICIPANT } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Every HTTP route, fuzzed over real HTTP: body, path parameters, query and the headers the
 * request path reads (Authorization, X-Purpose, Content-Type, X-Request-Id). Whatever arrives,
 * the answer is never a 500, never a stack trace, every error is a documented problem+json, and
 * no error body repeats what was sent. Valid tokens and identifiers are mixed in, so the fuzzing
 * reaches the policy and matching code behind authentication rather than stopping at the door.
 */

const RUNS_PER_ROUTE = 100;
const FUZZED_ROUTES = [
  'peopleSearch',
  'peopleView',
  'duplicateChecks',
  'consentsRecord',
  'consentsView',
  'consentsWithdraw',
  'health',
  'openapi',
  'docs',
  'docsAsset',
  'auditVerify',
  'auditInclusionProof',
  'auditConsistencyProof',
  'auditPersonAccesses',
  'auditPersonAccessesSearch',
  'auditClientActivity',
  'auditAlerts',
  'auditAlertsEvaluate',
  'auditBreachOpen',
  'auditBreaches',
  'auditBreach',
  'auditBreachStep',
  'linkCandidates',
  'linkCandidate',
  'linkCandidateConfirm',
  'linkCandidateReject',
];
const ROOT = join(import.meta.dirname, '../..');

interface FuzzInput {
  method: string;
  params: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string | undefined>;
  /** The body as sent, and the caller-chosen strings inside it. */
  body: { text: string; strings: string[] } | undefined;
}

interface ResponseSeen {
  /** The path as sent, for finding which route served it. */
  pathname: string;
  status: number;
  headers: Headers;
  text: string;
}

describe('fuzzing every endpoint', () => {
  let t: TestHost;
  let doc: OpenApiDocument;
  let vocabulary: string;
  let routes: HttpRegistration[];
  let routeTable: RouteTable;
  /** Real callers, each with a purpose its agreement grants it, and the routes it is a caller of. */
  const callers: { token: string; purpose: string | undefined; routes: string[] }[] = [];
  /** Tokens that name no party, or expire during the run. */
  const otherTokens: string[] = [];
  const personRefs: string[] = [];
  const consentIds: string[] = [];

  const known = {
    ni: ['JG103759A', 'JG 10 37 59 A', 'AB123456C', 'QQ123456Z'],
    nhs: ['9434765919', '943 476 5919', '1234567890'],
    upn: ['A123456789012', 'H801200001001'],
    names: ['Aisha', "O'Connor", 'Sam', 'Taylor', ' ', ''],
    dates: ['1990-04-12', '12/04/1990', '1985-01-02', '2026-02-30', '31/31/2000'],
    postcodes: ['NN16 8AA', 'DY1 1AA', 'ZZ99 9ZZ'],
    purposes: [
      'housing-allocation',
      'fraud-prevention',
      'research-evaluation',
      'homelessness-prevention',
      'service-planning',
      'audit',
    ],
  };

  const personalValues = new Set(
    [...known.ni, ...known.nhs, ...known.upn, ...known.names, ...known.dates, ...known.postcodes].filter(
      (v) => v.trim().length >= 4,
    ),
  );

  // ---- arbitraries -------------------------------------------------------------------------

  const anyText = fc.oneof(
    { arbitrary: fc.string({ maxLength: 40 }), weight: 4 },
    { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 20 }), weight: 1 },
  );
  const knownText = (pool: readonly string[]) =>
    fc.oneof({ arbitrary: fc.constantFrom(...pool), weight: 2 }, { arbitrary: anyText, weight: 1 });
  const jsonValue = (text: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
    fc.oneof(
      { arbitrary: text, weight: 6 },
      { arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)), weight: 1 },
      { arbitrary: fc.array(anyText, { maxLength: 3 }), weight: 1 },
      { arbitrary: fc.dictionary(anyText, anyText, { maxKeys: 3 }), weight: 1 },
    );
  const personQuery = fc.record(
    {
      niNumber: jsonValue(knownText(known.ni)),
      nhsNumber: jsonValue(knownText(known.nhs)),
      upn: jsonValue(knownText(known.upn)),
      systemId: fc.oneof(
        jsonValue(anyText),
        fc.record(
          { system: jsonValue(knownText(['education', 'social-care', 'A'])), id: jsonValue(anyText) },
          { requiredKeys: [] },
        ),
      ),
      givenName: jsonValue(knownText(known.names)),
      familyName: jsonValue(knownText(known.names)),
      dateOfBirth: jsonValue(knownText(known.dates)),
      postcode: jsonValue(knownText(known.postcodes)),
      datasets: fc.oneof(
        jsonValue(anyText),
        fc.array(knownText(['keyways-housing-register', 'housing-first-participant-contacts']), { maxLength: 3 }),
      ),
    },
    { requiredKeys: [] },
  );
  /** Only well-formed values: these get past validation to matching, consent and projection. */
  const wellFormedQuery = fc.oneof(
    fc.record({ niNumber: fc.constantFrom(...known.ni) }),
    fc.record({
      givenName: fc.constantFrom('Aisha', 'Sam', 'aisha'),
      familyName: fc.constantFrom("O'Connor", 'Taylor', 'OCONNOR'),
      dateOfBirth: fc.constantFrom(...known.dates),
    }),
    fc.record(
      { nhsNumber: fc.constantFrom(...known.nhs), postcode: fc.constantFrom(...known.postcodes) },
      { requiredKeys: [] },
    ),
  );
  const bodyObject = fc.oneof(
    { arbitrary: wellFormedQuery, weight: 3 },
    { arbitrary: personQuery, weight: 3 },
    {
      arbitrary: fc.record(
        {
          kind: jsonValue(knownText(['consent', 'opt-out'])),
          subject: fc.oneof(wellFormedQuery, personQuery, jsonValue(anyText)),
          evidenceRef: jsonValue(knownText(['HOS/CONSENT/1', 'x'])),
        },
        { requiredKeys: [] },
      ),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        kind: fc.constantFrom('consent', 'opt-out'),
        subject: wellFormedQuery,
        evidenceRef: fc.constant('HOS/CONSENT/2'),
      }),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(personQuery, fc.dictionary(anyText, jsonValue(anyText), { maxKeys: 2 }))
        .map(([q, extra]) => ({ ...extra, ...q })),
      weight: 1,
    },
  );
  const body: fc.Arbitrary<FuzzInput['body']> = fc.oneof(
    { arbitrary: bodyObject.map((value) => ({ text: JSON.stringify(value), strings: stringsIn(value) })), weight: 8 },
    { arbitrary: fc.json({ maxDepth: 3 }).map((text) => ({ text, strings: stringsIn(JSON.parse(text)) })), weight: 2 },
    { arbitrary: anyText.map((text) => ({ text, strings: [text] })), weight: 2 },
    {
      arbitrary: fc.constant({ text: JSON.stringify({ givenName: 'x'.repeat(20_000) }), strings: [] as string[] }),
      weight: 1,
    },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );

  /** Header values as a client can send them: printable, trimmed (fetch trims them anyway). */
  const headerText = fc.string({ maxLength: 120 }).map((s) => s.trim());
  /**
   * Who calls and why: mostly a real caller with a purpose its agreement grants (so requests reach
   * the policy, matching and projection), sometimes a real token with any purpose, sometimes junk.
   */
  const caller = (route: string) =>
    fc.oneof(
      {
        arbitrary: fc.nat().map((i) => {
          const own = callers.filter((c) => c.routes.includes(route));
          const c = own.length > 0 ? own[i % own.length]! : callers[i % callers.length]!;
          return { authorization: `Bearer ${c.token}`, 'x-purpose': c.purpose };
        }),
        weight: 6,
      },
      {
        arbitrary: fc.record({
          authorization: fc.nat().map((i) => `Bearer ${callers[i % callers.length]!.token}`),
          'x-purpose': fc.oneof(
            { arbitrary: fc.constantFrom(...known.purposes), weight: 2 },
            { arbitrary: fc.constant(undefined), weight: 1 },
            { arbitrary: headerText, weight: 2 },
          ),
        }),
        weight: 3,
      },
      {
        arbitrary: fc.record({
          authorization: fc.oneof(
            fc.constant(undefined),
            headerText,
            headerText.map((s) => `Bearer ${s}`),
            fc.tuple(fc.nat(), headerText).map(([i, s]) => `Bearer ${callers[i % callers.length]!.token}${s}`),
            fc.nat().map((i) => `Bearer ${otherTokens[i % otherTokens.length]}`),
          ),
          'x-purpose': fc.option(fc.constantFrom(...known.purposes), { nil: undefined }),
        }),
        weight: 2,
      },
    );
  const headers = (route: string) =>
    fc
      .record({
        caller: caller(route),
        'content-type': fc.oneof(
          { arbitrary: fc.constant('application/json'), weight: 6 },
          {
            arbitrary: fc.constantFrom(
              undefined,
              'text/plain',
              'application/problem+json',
              'APPLICATION/JSON; charset=utf-8',
              'application/jsonx',
              'multipart/form-data',
            ),
            weight: 2,
          },
          { arbitrary: headerText, weight: 1 },
        ),
        'x-request-id': fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 2 },
          { arbitrary: headerText, weight: 2 },
          { arbitrary: fc.constantFrom('req-1', 'a'.repeat(101), 'a\tb'), weight: 1 },
        ),
      })
      .map(({ caller: c, ...rest }) => ({ ...c, ...rest }));

  const paramArbitraries: Record<string, () => fc.Arbitrary<string>> = {
    personRef: () =>
      fc.oneof(
        { arbitrary: fc.nat().map((i) => personRefs[i % personRefs.length]!), weight: 2 },
        { arbitrary: anyText, weight: 2 },
        {
          arbitrary: fc
            .base64String({ maxLength: 120 })
            .map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '')),
          weight: 1,
        },
      ),
    consentId: () =>
      fc.oneof(
        // The seeded ids (a consent and an opt-out) most often: only they reach the withdrawal's policy.
        { arbitrary: fc.nat().map((i) => consentIds[i % consentIds.length]!), weight: 3 },
        { arbitrary: fc.uuid(), weight: 1 },
        { arbitrary: anyText, weight: 2 },
      ),
    clientId: () =>
      fc.oneof(
        { arbitrary: fc.constantFrom('dev-client-kettering-borough-council', 'not-a-party'), weight: 1 },
        { arbitrary: anyText, weight: 2 },
      ),
    candidateId: () => fc.oneof({ arbitrary: fc.uuid(), weight: 1 }, { arbitrary: anyText, weight: 2 }),
    breachId: () => fc.oneof({ arbitrary: fc.uuid(), weight: 1 }, { arbitrary: anyText, weight: 2 }),
    alertId: () =>
      fc.oneof(
        {
          arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
          weight: 1,
        },
        { arbitrary: anyText, weight: 2 },
      ),
    asset: () =>
      fc.oneof(
        {
          arbitrary: fc.constantFrom(...DOCS_ASSET_NAMES, 'index.html', '..', '.', 'swagger-ui.js.map', 'package.json'),
          weight: 1,
        },
        { arbitrary: anyText, weight: 2 },
      ),
  };

  const queryArbitrary = fc.oneof(
    { arbitrary: fc.array(fc.tuple(anyText, anyText), { maxLength: 3 }), weight: 2 },
    {
      arbitrary: fc.array(
        fc.tuple(
          fc.constantFrom('seq', 'treeSize', 'from', 'to', 'after', 'limit', 'status'),
          fc.oneof(
            anyText,
            fc.integer().map(String),
            fc.constantFrom('1', '0', '-1', '1e3', '9007199254740993', '2026-01-01T00:00:00Z', 'open', 'breach-opened'),
          ),
        ),
        { maxLength: 4 },
      ),
      weight: 2,
    },
  );

  function inputFor(route: HttpRegistration): fc.Arbitrary<FuzzInput> {
    const names = [...route.route.matchAll(/\{\*?([A-Za-z_]\w*)/g)].map((m) => m[1]!);
    const params = fc.record(
      Object.fromEntries(names.map((n) => [n, (paramArbitraries[n] ?? (() => anyText))()])) as Record<
        string,
        fc.Arbitrary<string>
      >,
    );
    const method = fc.oneof(
      // HEAD answers carry no body to check; test/local/head-requests.test.ts covers them.
      { arbitrary: fc.constantFrom(...route.methods.filter((m) => m !== 'HEAD')), weight: 9 },
      { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), weight: 1 },
    );
    return fc.record({ method, params, query: queryArbitrary, headers: headers(route.name), body }).map((input) => ({
      ...input,
      // fetch cannot send a body with GET.
      body: input.method === 'GET' ? undefined : input.body,
    }));
  }

  /**
   * Inputs tried on every run before the random ones: each seeded id with each of the route's
   * own callers, as it sends (an opt-out's DPO without X-Purpose included), so the withdrawal's
   * policy is reached whatever the generator draws.
   */
  function examplesFor(route: HttpRegistration): [FuzzInput][] {
    // A NUL in a parameter, by a method the path does not serve: the host refuses the path 400
    // before routing, as Kestrel does, whatever the method (found by a CI run's fuzzing).
    const param = /\{\*?([A-Za-z_]\w*)/.exec(route.route)?.[1];
    const unserved = (['GET', 'PUT', 'DELETE', 'POST'] as const).find((method) => !route.methods.includes(method));
    const nul: [FuzzInput][] =
      param === undefined || unserved === undefined
        ? []
        : [[{ method: unserved, params: { [param]: '\u0000' }, query: [], headers: {}, body: undefined }]];
    if (!route.route.includes('{consentId')) return nul;
    return nul.concat(
      consentIds.flatMap((consentId) =>
        callers
          .filter((c) => c.routes.includes(route.name))
          .map((c): [FuzzInput] => [
            {
              method: route.methods[0]!,
              params: { consentId },
              query: [],
              headers: {
                authorization: `Bearer ${c.token}`,
                'x-purpose': c.purpose,
                'content-type': 'application/json',
              },
              body: undefined,
            },
          ]),
      ),
    );
  }

  // ---- checks ------------------------------------------------------------------------------

  async function send(route: HttpRegistration, input: FuzzInput): Promise<ResponseSeen> {
    const path = route.route.replace(/\{\*?([A-Za-z_]\w*)[^}]*\}/g, (_m, name: string) =>
      encodeURIComponent(input.params[name] ?? ''),
    );
    const url = new URL(`${t.url}/api/${path}`);
    for (const [k, v] of input.query) url.searchParams.append(k, v);
    const sent: Record<string, string> = {};
    for (const [name, value] of Object.entries(input.headers)) if (value !== undefined) sent[name] = value;
    const res = await fetch(url, {
      method: input.method,
      headers: sent,
      ...(input.body ? { body: input.body.text } : {}),
    });
    return { pathname: url.pathname, status: res.status, headers: res.headers, text: await res.text() };
  }

  function fuzzedStrings(input: FuzzInput): string[] {
    return [
      ...Object.values(input.params),
      ...input.query.flat(),
      ...Object.values(input.headers).filter((v): v is string => v !== undefined),
      ...(input.body ? [input.body.text, ...input.body.strings] : []),
    ];
  }

  function check(route: HttpRegistration, input: FuzzInput, res: ResponseSeen): void {
    const where = `${input.method} /api/${route.route}`;
    expect(res.status, where).toBeLessThan(500);
    const contentType = res.headers.get('content-type') ?? '';
    const textual = /json|html/.test(contentType);
    if (textual) {
      expect(res.text, `${where}: stack trace`).not.toMatch(
        /\n\s+at \S|\bat [\w.<>]+ \(|[A-Za-z]*Error: |node_modules|\/work\//,
      );
    }
    const requestId = res.headers.get('x-request-id');
    if (requestId !== null) expect(requestId, where).toMatch(/^[A-Za-z0-9._:-]{1,100}$/);
    if (res.status < 400) return;

    expect(contentType, where).toBe('application/problem+json');
    const problem = JSON.parse(res.text) as { type: string; status: number; title: string };
    expect(problem.status, where).toBe(res.status);
    const code = problem.type.replace('urn:lintel:problem:', '') as keyof typeof PROBLEM_CATALOGUE;
    expect(PROBLEM_CATALOGUE[code], `${where}: ${problem.type} is not in the catalogue`).toBeDefined();
    expect(PROBLEM_CATALOGUE[code].status, where).toBe(res.status);
    expect(problem.title, `${where}: ${problem.type}'s title`).toBe(PROBLEM_CATALOGUE[code].title);
    // Problem types raised by the router itself (no such path, wrong method, host body limit) belong to no operation.
    if (!['not-found', 'method-not-allowed', 'payload-too-large'].includes(code)) {
      // A fuzzed method or parameter can land on another route (a parameter `..` is normalised away).
      const matched = routeTable.match(input.method, res.pathname);
      const served = matched && 'registration' in matched ? matched.registration : route;
      const op = doc.paths[openApiPath(served.route)]?.[input.method.toLowerCase()] as
        | {
            responses: Record<
              string,
              {
                content?: Record<
                  string,
                  { schema: { allOf?: [unknown, { properties: { type: { enum: string[] } } }] } }
                >;
              }
            >;
          }
        | undefined;
      // A method the path does not serve is no operation: only the host's own refusals may answer it.
      if (op === undefined)
        expect(HTTP_SERVER_PROBLEMS, `${where}: ${problem.type} for a method not served`).toContain(code);
      else {
        const listed =
          op.responses[String(res.status)]?.content?.['application/problem+json']?.schema.allOf?.[1].properties.type
            .enum ?? [];
        expect(listed, `${where}: ${problem.type} not documented for status ${res.status}`).toContain(problem.type);
      }
    }
    for (const value of fuzzedStrings(input)) {
      for (const form of [value, JSON.stringify(value).slice(1, -1)]) {
        const echoed = form.length >= 4 && res.text.includes(form);
        // Text of lintel's own may coincide with the input; a person's value never may, even one
        // that also sits in a doc comment.
        if (echoed)
          expect(vocabulary.includes(form) && !personalValues.has(form), `${where}: error body echoes input`).toBe(
            true,
          );
      }
    }
  }

  // ---- setup -------------------------------------------------------------------------------

  beforeAll(async () => {
    t = await startTestHost({ RATE_LIMIT_PER_MINUTE: '1000000' });
    routes = registrations().filter((r): r is HttpRegistration => r.kind === 'http');
    routeTable = new RouteTable(routes);
    const services = t.host.services;
    await insertRecord(services, {
      partyId: 'kettering-borough-council',
      datasetId: 'keyways-housing-register',
      givenName: 'Aisha',
      familyName: "O'Connor",
      dateOfBirth: '1990-04-12',
      identifiers: { ni: 'JG103759' },
      attributes: {
        firstName: 'Aisha',
        lastName: "O'Connor",
        dateOfBirth: '1990-04-12',
        address: '1 High Street',
        nationalInsuranceNumber: 'JG103759A',
      },
    });
    await insertRecord(services, SAM_PARTICIPANT);
    await insertRecord(services, ROBIN_IN_SOCIAL_CARE);
    const lookups = ['peopleSearch', 'peopleView'];
    const consents = ['consentsRecord', 'consentsView', 'consentsWithdraw'];
    const audit = FUZZED_ROUTES.filter((name) => name.startsWith('audit'));
    const profiles: [string, string[], string | undefined, string[]][] = [
      ['kettering-borough-council', ['housing-officer'], 'housing-allocation', lookups],
      ['kettering-borough-council', ['senior-officer'], 'housing-allocation', lookups],
      ['keyways-registered-providers', ['rp-lettings'], 'housing-allocation', lookups],
      ['icf-research', ['researcher'], 'research-evaluation', lookups],
      ['kettering-borough-council', ['housing-officer'], 'fraud-prevention', ['duplicateChecks']],
      ['corby-borough-council', ['senior-officer'], 'fraud-prevention', ['duplicateChecks']],
      ['dudley-housing-options', ['housing-officer'], 'research-evaluation', consents],
      ['dudley-housing-options', ['dpo'], 'research-evaluation', consents],
      // The DPO of a party to the social care agreement, whose planning purpose the national data
      // opt-out applies to, records and withdraws opt-outs; an opt-out carries no purpose, so a
      // withdrawal may come without X-Purpose.
      ['la-housing', ['dpo'], 'service-planning', consents],
      ['la-housing', ['dpo'], undefined, ['consentsView', 'consentsWithdraw']],
      ['kettering-borough-council', ['dpo'], 'audit', audit],
      [
        'la-housing',
        ['reviewer'],
        'homelessness-prevention',
        FUZZED_ROUTES.filter((name) => name.startsWith('linkCandidate')),
      ],
      ['la-housing', [], 'homelessness-prevention', []],
    ];
    for (const [party, roles, purpose, routes] of profiles)
      callers.push({ token: await t.token(party, roles), purpose, routes });
    otherTokens.push(await t.token('kettering-borough-council', ['housing-officer'], { clientId: 'not-a-party' }));
    otherTokens.push(await t.token('kettering-borough-council', ['housing-officer'], { expiresInSeconds: 1 }));

    const post = async (path: string, token: string, purpose: string | undefined, json: unknown) =>
      fetch(`${t.url}/api${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(purpose === undefined ? {} : { 'x-purpose': purpose }),
        },
        body: JSON.stringify(json),
      });
    const found = (await (
      await post('/v1/people/search', callers[0]!.token, 'housing-allocation', { niNumber: 'JG103759A' })
    ).json()) as { personRef: string };
    personRefs.push(found.personRef);
    const consent = (await (
      await post('/v1/consents', callers[6]!.token, 'research-evaluation', {
        subject: SAM,
        evidenceRef: 'HOS/1',
      })
    ).json()) as { consentId: string };
    consentIds.push(consent.consentId);
    const dpo = callers.find((c) => c.purpose === 'service-planning')!;
    const optOut = (await (
      await post('/v1/consents', dpo.token, 'service-planning', {
        kind: 'opt-out',
        subject: { nhsNumber: '9434765919' },
        evidenceRef: 'DPO/OPTOUT/1',
      })
    ).json()) as { consentId: string };
    consentIds.push(optOut.consentId);
    expect(personRefs[0]).toEqual(expect.any(String));
    expect(consentIds).toEqual([expect.any(String), expect.any(String)]);

    doc = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as OpenApiDocument;
    // The product's own words: text that appears in lintel's source, agreements or API document
    // is not an echo of the input even when a fuzzed string happens to equal it.
    vocabulary = [JSON.stringify(doc), ...sourceTexts(['shared', 'functions', 'local', 'agreements'])].join('\n');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('fuzzes every registered HTTP route, with an arbitrary for each path parameter', () => {
    expect(routes.map((r) => r.name).filter((n) => !FUZZED_ROUTES.includes(n))).toEqual([]);
    for (const route of routes) {
      for (const name of [...route.route.matchAll(/\{\*?([A-Za-z_]\w*)/g)].map((m) => m[1]!)) {
        expect(paramArbitraries[name], `${route.name}: no arbitrary for path parameter ${name}`).toBeDefined();
      }
    }
  });

  // The local host's route table must treat a segment that does not percent-decode as no match.
  it('survives raw, malformed percent-encoding in the path', async () => {
    for (const raw of [
      '/api/v1/people/%',
      '/api/v1/people/%E0%A4%A',
      '/api/v1/consents/%ZZ',
      '/api/docs/%C0%AF',
      '/api/v1/people/%00',
    ]) {
      const res = await fetch(`${t.url}${raw}`, {
        headers: { authorization: `Bearer ${callers[0]!.token}`, 'x-purpose': 'housing-allocation' },
      });
      const text = await res.text();
      expect(res.status, raw).toBeLessThan(500);
      expect(res.headers.get('content-type'), raw).toBe('application/problem+json');
      expect(text).not.toMatch(/URIError|\n\s+at /);
    }
  });

  describe.each(FUZZED_ROUTES)('%s', (name) => {
    it(`holds over ${RUNS_PER_ROUTE} fuzzed requests`, async () => {
      const route = routes.find((r) => r.name === name)!;
      expect(route, `${name} is not registered`).toBeDefined();
      await fc.assert(
        fc.asyncProperty(inputFor(route), async (input) => {
          check(route, input, await send(route, input));
        }),
        { numRuns: RUNS_PER_ROUTE, examples: examplesFor(route) },
      );
      // A hundred real HTTP requests: up to 20 s on a slow, loaded machine, near the default 30 s.
    }, 120_000);
  });
});

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

function sourceTexts(folders: string[]): string[] {
  return folders.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|ya?ml)$/.test(f))
      .map((f) => readFileSync(join(ROOT, folder, f), 'utf8')),
  );
}
