import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registrations, type HttpRegistration } from '../../functions/registry.js';
import { startHttpServer } from '../../local/http-server.js';
import type { OpenApiDocument } from '../../shared/api/openapi.js';
import { AccessLogUnavailableError } from '../../shared/audit/access-log.js';
import { checkpointNow } from '../../shared/audit/audit-service.js';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { createLogger } from '../../shared/logging.js';
import { SecretUnavailableError } from '../../shared/secrets/secret-source.js';
import { rawRequest, type RawResponse } from '../local/raw-http.js';
import { providerAlert } from '../support/alerts.js';
import { linkForReview, jonathanIn, nhs } from '../support/linked-people.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS, SAM, SAM_PARTICIPANT } from '../support/records.js';
import {
  callApi,
  clientIdOf,
  ownAnchorContainer,
  startTestHost,
  type ApiAnswer,
  type ApiCall,
  type TestHost,
} from '../support/test-host.js';

/**
 * The OpenAPI document against what the host really answers. openapi.test.ts checks that the
 * document is valid and names every route; partners generate clients from it, so it must also
 * be true: every answer here, driven through real HTTP with real tokens and data, has a status
 * the document lists for its operation, the media type it names for that status, and a body its
 * schema accepts, with the document's own `$ref`s, its times and dates where the schema says
 * they are, and a problem's members named; the headers a client acts on are documented where
 * sent. A handler that answers a problem type, status or shape the zod schemas do not describe
 * fails here, whichever side is wrong.
 */

// JSON Schema 2020-12 (the document's dialect): Ajv as the OpenAPI validator already depends on it.
const fromValidator = createRequire(createRequire(import.meta.url).resolve('@seriousme/openapi-schema-validator'));
type ValidateFunction = ((data: unknown) => boolean) & { errors?: unknown[] | null };
const { default: Ajv2020 } = fromValidator('ajv/dist/2020.js') as {
  default: new (options: object) => {
    addSchema(schema: object, key: string): void;
    compile(schema: object): ValidateFunction;
  };
};
const { default: addFormats } = fromValidator('ajv-formats') as { default: (ajv: unknown) => void };

type MediaObject = { schema: Record<string, unknown> };
type ResponseObject = { headers?: Record<string, unknown>; content?: Record<string, MediaObject> };
type Operation = { operationId: string; responses: Record<string, ResponseObject> };

const DOCUMENT_ID = 'urn:lintel:openapi';
/** Response headers a client acts on; framing, caching and security headers are HTTP's own. */
const ACTIONABLE_HEADERS = new Set([
  'x-request-id',
  'retry-after',
  'www-authenticate',
  'allow',
  'accept-encoding',
  'location',
]);

/**
 * The schemas, each plain string refusing a time or a date: a client generated from the document
 * reads a time as one only where its `format` says so (`date-time`, `date`), so one sent where the
 * document declares a bare string is a mismatch too.
 */
function timesDeclared(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timesDeclared);
  if (value === null || typeof value !== 'object') return value;
  const node = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, timesDeclared(v)]));
  const bare = ['format', 'pattern', 'enum', 'const'].every((k) => !(k in node));
  const string = node.type === 'string' || (Array.isArray(node.type) && node.type.includes('string'));
  return string && bare
    ? { ...node, not: { type: 'string', anyOf: [{ format: 'date-time' }, { format: 'date' }] } }
    : node;
}

describe('OpenAPI document against real responses', () => {
  let t: TestHost;
  let doc: OpenApiDocument;
  let ajv: InstanceType<typeof Ajv2020>;
  const validators = new Map<string, ValidateFunction>();
  /** `operationId status` of every answer checked, for the coverage check at the end. */
  const seen = new Set<string>();

  /** The document's `#/components/...` references, made absolute so a schema compiles on its own. */
  const absoluteRefs = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(absoluteRefs)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value).map(([k, v]) => [
              k,
              k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOCUMENT_ID}${v}` : absoluteRefs(v),
            ]),
          )
        : value;

  /** A `#/components/...` reference followed to what it names. */
  const resolved = (value: unknown): Record<string, unknown> => {
    const ref = (value as { $ref?: string }).$ref;
    if (!ref) return value as Record<string, unknown>;
    return ref
      .slice(2)
      .split('/')
      .reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, doc);
  };

  /**
   * Asserts that `res`, the answer to `method` on the documented `path`, is what the document
   * says that operation answers: a listed status, its media type, a body its schema accepts.
   */
  function expectDocumented(method: string, path: string, res: ApiAnswer): void {
    const op = doc.paths[path]?.[method.toLowerCase()] as Operation | undefined;
    expect(op, `${method} ${path} is documented`).toBeDefined();
    const where = `${op!.operationId} answered ${res.status}`;
    seen.add(`${op!.operationId} ${res.status}`);
    const response = op!.responses[String(res.status)] ?? op!.responses.default;
    expect.soft(Object.keys(op!.responses), `${where}: a status the document lists`).toContain(String(res.status));
    expect.soft(res.headers.get('x-request-id'), `${where}: X-Request-Id`).toMatch(/^[0-9a-f-]{36}$/);
    // Headers a client reads to act on an answer (when to retry, what to send instead): each one
    // sent is documented on that response, with a value its schema takes.
    const documentedHeaders = new Map(
      Object.entries(response?.headers ?? {}).map(([name, header]) => [name.toLowerCase(), header]),
    );
    res.headers.forEach((value, name) => {
      if (!ACTIONABLE_HEADERS.has(name)) return;
      const header = documentedHeaders.get(name);
      expect.soft(header, `${where}: ${name} is documented on this response`).toBeDefined();
      if (!header) return;
      const schema = resolved(header).schema as Record<string, unknown>;
      const typed = schema.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value;
      const headerKey = JSON.stringify(schema);
      let validateHeader = validators.get(headerKey);
      if (!validateHeader) {
        validateHeader = ajv.compile(absoluteRefs(schema) as object);
        validators.set(headerKey, validateHeader);
      }
      expect.soft(validateHeader(typed) ? [] : validateHeader.errors, `${where}: ${name} as documented`).toEqual([]);
    });
    const documentedTypes = Object.keys(response?.content ?? {});
    const mediaType = (res.type ?? '').split(';')[0]!.trim().toLowerCase();
    const media = documentedTypes.find((type) => type === mediaType || type === '*/*');
    expect
      .soft(media, `${where}: Content-Type ${res.type ?? 'none'} is one of ${documentedTypes.join(', ')}`)
      .toBeDefined();
    if (!response || !media || !media.includes('json')) return;
    const key = `${op!.operationId} ${res.status} ${media}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(absoluteRefs(response.content![media]!.schema) as object);
      validators.set(key, validate);
    }
    const body = JSON.parse(res.text) as { type?: unknown };
    // Ajv's errors name schema paths and keywords; of the body, only a problem's type is repeated.
    const problemType = typeof body.type === 'string' ? ` (${body.type})` : '';
    expect
      .soft(validate(body) ? [] : validate.errors, `${where}${problemType}: body matches the documented schema`)
      .toEqual([]);
    // RFC 9457 lets a problem carry members of its own, so the schema cannot refuse one it does
    // not name; a generated client exposes only those it names, and a DPO could not follow an
    // unsettled match's references, nor an officer see which identifier failed its check.
    if (media === 'application/problem+json') {
      const named = Object.keys(
        (resolved({ $ref: '#/components/schemas/Problem' }) as { properties: object }).properties,
      );
      expect
        .soft(
          Object.keys(body).filter((member) => !named.includes(member)),
          `${where}${problemType}: members named`,
        )
        .toEqual([]);
    }
  }

  /** One call over real HTTP, checked against the document; returned for the test's own assertions. */
  async function call(method: string, path: string, concrete: string, init: ApiCall = {}): Promise<ApiAnswer> {
    const res = await callApi(t, concrete, { method, ...init });
    expectDocumented(method, path, res);
    return res;
  }

  const RP = { party: 'keyways-registered-providers', roles: ['rp-lettings'], purpose: 'housing-allocation' };
  const FRAUD = { party: 'kettering-borough-council', roles: ['housing-officer'], purpose: 'fraud-prevention' };
  const KETTERING_DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  const LA_DPO = { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' };
  const REVIEWER = { party: 'la-housing', roles: ['reviewer'], purpose: 'homelessness-prevention' };
  const AISHA_NI = 'JG103759A';
  const CHRIS = { givenName: 'Chris', familyName: 'Smith', dateOfBirth: '2000-01-01' };
  /** No token: 401, and 429 once the address has spent its limit of such calls. */
  const ANONYMOUS: ApiCall = {};
  const UNAUTHENTICATED_LIMIT = 60;

  /** Every authenticated operation with a call that reaches it, for the request path's answers. */
  const authenticated: [method: string, path: string, concrete: string, init: ApiCall][] = [
    ['POST', '/api/v1/people/search', '/v1/people/search', { body: { niNumber: AISHA_NI } }],
    ['GET', '/api/v1/people/{personRef}', '/v1/people/nobody', {}],
    ['POST', '/api/v1/duplicate-checks', '/v1/duplicate-checks', { body: { niNumber: AISHA_NI } }],
    ['POST', '/api/v1/consents', '/v1/consents', { body: { subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'R' } }],
    ['DELETE', '/api/v1/consents/{consentId}', `/v1/consents/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, {}],
    ['GET', '/api/v1/consents/{consentId}', `/v1/consents/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, {}],
    ['GET', '/api/v1/link-candidates', '/v1/link-candidates', {}],
    ['GET', '/api/v1/link-candidates/{candidateId}', `/v1/link-candidates/${randomUUID()}`, {}],
    ['GET', '/api/v1/audit/verify', '/v1/audit/verify', {}],
    ['GET', '/api/v1/audit/alerts', '/v1/audit/alerts', {}],
    ['GET', '/api/v1/audit/breaches', '/v1/audit/breaches', {}],
    ['GET', '/api/v1/audit/breaches/{breachId}', `/v1/audit/breaches/${randomUUID()}`, {}],
    ['POST', '/api/v1/audit/people/accesses', '/v1/audit/people/accesses', { body: { niNumber: AISHA_NI } }],
  ];

  beforeAll(async () => {
    t = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: String(UNAUTHENTICATED_LIMIT),
    });
    await ownAnchorContainer(t);
    const services = t.host.services;
    const res = await fetch(`${t.url}/api/openapi.json`);
    doc = (await res.json()) as OpenApiDocument;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: DOCUMENT_ID, components: timesDeclared(doc.components) }, DOCUMENT_ID);

    // Aisha on two Keyways registers (one person); two Chris Smiths, who share names and a birthday.
    const register = { datasetId: 'keyways-housing-register', familyName: "O'Connor", dateOfBirth: '1990-04-12' };
    const aisha = { givenName: 'Aisha', identifiers: { ni: 'JG103759' }, attributes: { firstName: 'Aisha' } };
    const { personId } = await insertRecord(services, { ...register, ...aisha, partyId: 'kettering-borough-council' });
    await insertRecord(services, { ...register, ...aisha, partyId: 'corby-borough-council', personId });
    for (const partyId of ['corby-borough-council', 'wellingborough-borough-council'])
      await insertRecord(services, { ...CHRIS, partyId, datasetId: 'keyways-housing-register', attributes: {} });
    // Robin, for consents and opt-outs; the two Jonathans, for a link candidate, and a second pair for another.
    await insertRecord(services, ROBIN_IN_SOCIAL_CARE);
    // Sam, a Housing First participant, for a consent and the research lookup it allows.
    await insertRecord(services, SAM_PARTICIPANT);
    await insertRecord(services, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }));
    await insertRecord(services, jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }));
    const pat = (partyId: string, familyName: string, flag: string) => ({
      partyId,
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Patricia',
      familyName,
      dateOfBirth: '2009-09-09',
      postcode: 'ME20 9AA',
      attributes: { firstName: 'Patricia', lastName: familyName, homePostcode: 'ME20 9AA', [flag]: true },
    });
    await insertRecord(services, pat('la-housing', 'Oakes', 'inTemporaryAccommodation'));
    await insertRecord(services, pat('la-education', 'Oakley', 'ehcp'));
    await linkForReview(t, 'social-care-education-housing');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers the unauthenticated operations as documented', async () => {
    await call('GET', '/api/health', '/health');
    await call('GET', '/api/openapi.json', '/openapi.json');
    // Not JSON: read as text, as a browser would.
    const page = async (path: string): Promise<ApiAnswer> => {
      const res = await fetch(`${t.url}/api${path}`);
      const text = await res.text();
      return { status: res.status, headers: res.headers, type: res.headers.get('content-type'), text, body: {} };
    };
    expectDocumented('GET', '/api/docs', await page('/docs'));
    expectDocumented('GET', '/api/docs/{asset}', await page('/docs/swagger-ui.css'));
    expectDocumented('GET', '/api/docs/{asset}', await page('/docs/nothing.js'));
  });

  it('answers a people search, a view by reference and the request path’s refusals as documented', async () => {
    const search = '/api/v1/people/search';
    const found = await call('POST', search, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
    expect(found.status).toBe(200);
    await call('POST', search, '/v1/people/search', { ...RP, body: { niNumber: 'CE123456D' } });
    await call('POST', search, '/v1/people/search', { ...RP, purpose: undefined, body: { niNumber: AISHA_NI } });
    await call('POST', search, '/v1/people/search', { ...RP, purpose: 'no-such-purpose', body: {} });
    await call('POST', search, '/v1/people/search', { ...RP, purpose: 'fraud-prevention', body: {} });
    await call('POST', search, '/v1/people/search', { ...RP, body: { nhsNumber: '1234567890' } });
    await call('POST', search, '/v1/people/search', { ...RP, body: { firstName: 'Aisha' } });
    await call('POST', search, '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI, datasets: ['nope'] } });
    await call('POST', search, '/v1/people/search', {
      ...RP,
      body: { niNumber: AISHA_NI, datasets: ['multiple-disadvantage-indicators'] },
    });
    await call('POST', search, '/v1/people/search', { ...RP, rawBody: '{"niNumber":', headers: {} });
    await call('POST', search, '/v1/people/search', {
      ...RP,
      rawBody: JSON.stringify({ givenName: 'x'.repeat(17 * 1024) }),
    });
    await call('POST', search, '/v1/people/search', {
      ...RP,
      rawBody: 'niNumber=x',
      headers: { 'content-type': 'text/plain' },
    });
    await call('POST', search, '/v1/people/search', {
      token: await t.token('keyways-registered-providers', ['rp-lettings'], { clientId: randomUUID() }),
      purpose: 'housing-allocation',
      body: { niNumber: AISHA_NI },
    });

    const view = '/api/v1/people/{personRef}';
    await call('GET', view, `/v1/people/${found.body.personRef as string}`, RP);
    await call('GET', view, '/v1/people/nobody', RP);
    await call('GET', view, `/v1/people/${found.body.personRef as string}`, { ...RP, purpose: undefined });
    await call('GET', view, `/v1/people/${found.body.personRef as string}`, { ...RP, roles: ['nobody'] });
  });

  it('answers duplicate checks as documented', async () => {
    const path = '/api/v1/duplicate-checks';
    expect((await call('POST', path, '/v1/duplicate-checks', { ...FRAUD, body: { niNumber: AISHA_NI } })).status).toBe(
      200,
    );
    expect((await call('POST', path, '/v1/duplicate-checks', { ...FRAUD, body: CHRIS })).status).toBe(409);
    await call('POST', path, '/v1/duplicate-checks', { ...FRAUD, body: { niNumber: 'nope' } });
    await call('POST', path, '/v1/duplicate-checks', { ...FRAUD, body: { niNumber: AISHA_NI, extra: 1 } });
    await call('POST', path, '/v1/duplicate-checks', { ...FRAUD, purpose: undefined, body: {} });
    await call('POST', path, '/v1/duplicate-checks', { ...FRAUD, purpose: 'housing-allocation', body: {} });
    await call('POST', path, '/v1/duplicate-checks', {
      ...FRAUD,
      rawBody: '[]',
      headers: { 'content-encoding': 'gzip' },
    });
  });

  it('answers consents recorded and withdrawn as documented', async () => {
    const path = '/api/v1/consents';
    const optOut = { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/1' };
    const recorded = await call('POST', path, '/v1/consents', { ...LA_DPO, body: optOut });
    expect(recorded.status).toBe(201);
    expect((await call('POST', path, '/v1/consents', { ...LA_DPO, body: optOut })).status).toBe(200);
    await call('POST', path, '/v1/consents', { ...LA_DPO, body: { ...optOut, subject: { nhsNumber: nhs(4242) } } });
    await call('POST', path, '/v1/consents', { ...LA_DPO, body: { ...optOut, subject: { nhsNumber: '123' } } });
    await call('POST', path, '/v1/consents', { ...LA_DPO, body: { subject: {} } });
    await call('POST', path, '/v1/consents', { ...LA_DPO, purpose: undefined, body: optOut });
    await call('POST', path, '/v1/consents', { ...LA_DPO, purpose: 'no-such-purpose', body: optOut });
    await call('POST', path, '/v1/consents', { ...LA_DPO, roles: ['analyst'], body: optOut });
    await call('POST', path, '/v1/consents', { ...LA_DPO, purpose: 'homelessness-prevention', body: optOut });

    // A consent, which carries its purpose, and the research lookup it allows and its withdrawal ends.
    const DUDLEY = { party: 'dudley-housing-options', roles: ['housing-officer'], purpose: 'research-evaluation' };
    const ICF = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };
    const consent = await call('POST', path, '/v1/consents', { ...DUDLEY, body: { subject: SAM, evidenceRef: 'F-1' } });
    expect(consent.status).toBe(201);
    // A consent, unlike an opt-out, is recorded only for someone held.
    const unknown = { ...SAM, familyName: 'Nobody' };
    const noMatch = await call('POST', path, '/v1/consents', {
      ...DUDLEY,
      body: { subject: unknown, evidenceRef: 'F-2' },
    });
    expect(noMatch.status).toBe(404);
    const search = '/api/v1/people/search';
    expect((await call('POST', search, '/v1/people/search', { ...ICF, body: SAM })).status).toBe(200);
    const withdraw = '/api/v1/consents/{consentId}';
    await call('DELETE', withdraw, `/v1/consents/${consent.body.consentId as string}`, DUDLEY);
    expect((await call('POST', search, '/v1/people/search', { ...ICF, body: SAM })).status).toBe(404);

    const id = recorded.body.consentId as string;
    expect((await call('GET', withdraw, `/v1/consents/${id}`, LA_DPO)).status).toBe(200);
    expect((await call('DELETE', withdraw, `/v1/consents/${id}`, LA_DPO)).status).toBe(200);
    expect((await call('DELETE', withdraw, `/v1/consents/${id}`, LA_DPO)).status).toBe(200);
    expect((await call('GET', withdraw, `/v1/consents/${id}`, LA_DPO)).status).toBe(200);
    expect((await call('GET', withdraw, `/v1/consents/${id}`, { ...LA_DPO, party: 'la-education' })).status).toBe(404);
    await call('DELETE', withdraw, `/v1/consents/${id}`, { ...LA_DPO, party: 'la-education' });
    await call('DELETE', withdraw, '/v1/consents/not-a-uuid', LA_DPO);
  });

  it('answers link review as documented', async () => {
    const list = '/api/v1/link-candidates';
    const listed = await call('GET', list, '/v1/link-candidates', REVIEWER);
    const ids = (listed.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    await call('GET', list, '/v1/link-candidates?limit=0', REVIEWER);
    await call('GET', list, '/v1/link-candidates', { ...REVIEWER, roles: ['housing-officer'] });
    await call('GET', list, '/v1/link-candidates', { ...REVIEWER, purpose: undefined });

    const one = '/api/v1/link-candidates/{candidateId}';
    await call('GET', one, `/v1/link-candidates/${ids[0]!}`, REVIEWER);
    await call('GET', one, `/v1/link-candidates/${randomUUID()}`, REVIEWER);
    await call('GET', one, '/v1/link-candidates/not-a-uuid', REVIEWER);

    const confirm = '/api/v1/link-candidates/{candidateId}/confirm';
    const reject = '/api/v1/link-candidates/{candidateId}/reject';
    expect((await call('POST', confirm, `/v1/link-candidates/${ids[0]!}/confirm`, REVIEWER)).status).toBe(200);
    expect((await call('POST', confirm, `/v1/link-candidates/${ids[0]!}/confirm`, REVIEWER)).status).toBe(409);
    expect((await call('POST', reject, `/v1/link-candidates/${ids[1]!}/reject`, REVIEWER)).status).toBe(200);
    await call('POST', reject, `/v1/link-candidates/${ids[1]!}/reject`, REVIEWER);
    // A decided candidate is shown with its decision.
    await call('GET', one, `/v1/link-candidates/${ids[0]!}`, REVIEWER);
    await call('GET', one, `/v1/link-candidates/${ids[1]!}`, REVIEWER);
    await call('POST', reject, `/v1/link-candidates/${randomUUID()}/reject`, REVIEWER);
    await call('POST', confirm, `/v1/link-candidates/${ids[1]!}/confirm`, { ...REVIEWER, roles: ['dpo'] });
  });

  it('answers the DPO’s audit endpoints as documented', async () => {
    const started = new Date(Date.now() - 60_000).toISOString();
    // A fishing run for the watch rules, and a checkpoint for the proofs.
    for (let i = 0; i < 10; i++)
      await callApi(t, '/v1/people/search', { ...RP, body: { ...CHRIS, dateOfBirth: `1970-01-${10 + i}` } });
    await checkpointNow(t.host.services);

    await call('GET', '/api/v1/audit/verify', '/v1/audit/verify', KETTERING_DPO);
    await call('GET', '/api/v1/audit/verify', '/v1/audit/verify', RP);
    const inclusion = '/api/v1/audit/proofs/inclusion';
    await call('GET', inclusion, '/v1/audit/proofs/inclusion?seq=1', KETTERING_DPO);
    await call('GET', inclusion, '/v1/audit/proofs/inclusion?seq=1&treeSize=2', KETTERING_DPO);
    await call('GET', inclusion, '/v1/audit/proofs/inclusion?seq=999999', KETTERING_DPO);
    await call('GET', inclusion, '/v1/audit/proofs/inclusion?seq=x', KETTERING_DPO);
    const consistency = '/api/v1/audit/proofs/consistency';
    await call('GET', consistency, '/v1/audit/proofs/consistency?from=1&to=2', KETTERING_DPO);
    await call('GET', consistency, '/v1/audit/proofs/consistency?from=1&to=999999', KETTERING_DPO);
    await call('GET', consistency, '/v1/audit/proofs/consistency?from=x&to=2', KETTERING_DPO);

    const search = '/api/v1/audit/people/accesses';
    const accesses = await call('POST', search, '/v1/audit/people/accesses', {
      ...KETTERING_DPO,
      body: { niNumber: AISHA_NI, limit: 2 },
    });
    expect(accesses.status).toBe(200);
    await call('POST', search, '/v1/audit/people/accesses', { ...KETTERING_DPO, body: CHRIS });
    await call('POST', search, '/v1/audit/people/accesses', { ...KETTERING_DPO, body: { niNumber: 'CE123456D' } });
    await call('POST', search, '/v1/audit/people/accesses', { ...KETTERING_DPO, body: { niNumber: 'nope' } });
    await call('POST', search, '/v1/audit/people/accesses', { ...KETTERING_DPO, body: { limit: 0 } });
    const byRef = '/api/v1/audit/people/{personRef}/accesses';
    await call('GET', byRef, `/v1/audit/people/${accesses.body.personRef as string}/accesses?limit=1`, KETTERING_DPO);
    await call('GET', byRef, '/v1/audit/people/nobody/accesses', KETTERING_DPO);
    await call('GET', byRef, `/v1/audit/people/${accesses.body.personRef as string}/accesses?limit=x`, KETTERING_DPO);

    const activity = '/api/v1/audit/clients/{clientId}/activity';
    const rp = clientIdOf('keyways-registered-providers');
    const to = new Date(Date.now() + 60_000).toISOString();
    await call('GET', activity, `/v1/audit/clients/${rp}/activity?from=${started}&to=${to}&limit=3`, KETTERING_DPO);
    await call('GET', activity, `/v1/audit/clients/${rp}/activity?from=yesterday&to=${to}`, KETTERING_DPO);
    // The reviewer's decisions, each entry about two people, in the ISA's DPO's view.
    const reviewer = clientIdOf('la-housing');
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const decisions = await call('GET', activity, `/v1/audit/clients/${reviewer}/activity?from=${since}&to=${to}`, {
      party: 'la-housing',
      roles: ['dpo'],
    });
    const refs = (decisions.body.entries as { subjectRefs: string[] }[]).map((e) => e.subjectRefs.length);
    expect(Math.max(...refs)).toBe(2);

    const run = await call('POST', '/api/v1/audit/alerts/evaluate', '/v1/audit/alerts/evaluate', KETTERING_DPO);
    const alert = (run.body.raised as { id: string; rule: string }[]).find((a) => a.rule === 'no-match-run');
    expect(alert).toBeDefined();
    await call('GET', '/api/v1/audit/alerts', '/v1/audit/alerts?status=open', KETTERING_DPO);
    await call('GET', '/api/v1/audit/alerts', '/v1/audit/alerts?status=closed', KETTERING_DPO);

    const open = '/api/v1/audit/alerts/{alertId}/breach';
    const opened = await call('POST', open, `/v1/audit/alerts/${alert!.id}/breach`, KETTERING_DPO);
    expect(opened.status).toBe(201);
    expect((await call('POST', open, `/v1/audit/alerts/${alert!.id}/breach`, KETTERING_DPO)).status).toBe(200);
    await call('POST', open, `/v1/audit/alerts/${'0'.repeat(32)}/breach`, KETTERING_DPO);

    const step = '/api/v1/audit/breaches/{breachId}/steps';
    const breach = `/v1/audit/breaches/${opened.body.id as string}/steps`;
    // Not before the breach began (its alert's window), nor in the future.
    const at = opened.body.openedAt as string;
    expect((await call('POST', step, breach, { ...KETTERING_DPO, body: { step: 'ico-notified', at } })).status).toBe(
      200,
    );
    const later = new Date().toISOString();
    expect(
      (await call('POST', step, breach, { ...KETTERING_DPO, body: { step: 'ico-notified', at: later } })).status,
    ).toBe(409);
    await call('POST', step, breach, { ...KETTERING_DPO, body: { step: 'nonsense' } });
    await call('POST', step, `/v1/audit/breaches/${randomUUID()}/steps`, {
      ...KETTERING_DPO,
      body: { step: 'ico-notified', at },
    });
    // Every step, so the record is shown with each of its nullable members filled in.
    await call('POST', step, breach, { ...KETTERING_DPO, body: { step: 'partners-notified', at } });
    await call('POST', step, breach, { ...KETTERING_DPO, body: { step: 'closed' } });
    // A second alert as the rules write one: which others the run raised depends on the clock (the
    // out-of-hours rule raises one only outside 07:00–19:00 UK time, weekdays), and a run in office
    // hours raised none.
    const other = 'c'.repeat(32);
    await t.host.services.store.db
      .insertInto('audit_alert')
      .values(providerAlert(other, new Date().toISOString()))
      .execute();
    const second = await call('POST', open, `/v1/audit/alerts/${other}/breach`, KETTERING_DPO);
    const judged = `/v1/audit/breaches/${second.body.id as string}/steps`;
    const notReportable = { step: 'not-reportable', reason: 'accesses-authorised' };
    expect((await call('POST', step, judged, { ...KETTERING_DPO, body: notReportable })).status).toBe(200);
    await call('GET', '/api/v1/audit/breaches', '/v1/audit/breaches', KETTERING_DPO);
    await call('GET', '/api/v1/audit/alerts', '/v1/audit/alerts', KETTERING_DPO);
    await call('GET', '/api/v1/audit/breaches', '/v1/audit/breaches?limit=0', KETTERING_DPO);
    await call('GET', '/api/v1/audit/breaches', '/v1/audit/breaches', RP);
    const read = '/api/v1/audit/breaches/{breachId}';
    expect((await call('GET', read, `/v1/audit/breaches/${opened.body.id as string}`, KETTERING_DPO)).status).toBe(200);
    await call('GET', read, `/v1/audit/breaches/${randomUUID()}`, KETTERING_DPO);
    await call('GET', read, `/v1/audit/breaches/${opened.body.id as string}`, RP);
  });

  it('answers as documented while no key can be read (Key Vault throttled, a network fault)', async () => {
    const secrets = t.host.services.secrets as LocalSecretSource;
    const spy = vi.spyOn(secrets, 'get').mockImplementation((name) => Promise.reject(new SecretUnavailableError(name)));
    try {
      await call('POST', '/api/v1/people/search', '/v1/people/search', { ...RP, body: { niNumber: AISHA_NI } });
      await call('POST', '/api/v1/duplicate-checks', '/v1/duplicate-checks', {
        ...FRAUD,
        body: { niNumber: AISHA_NI },
      });
      await call('POST', '/api/v1/consents', '/v1/consents', {
        ...LA_DPO,
        body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/2' },
      });
      await call('POST', '/api/v1/audit/people/accesses', '/v1/audit/people/accesses', {
        ...KETTERING_DPO,
        body: { niNumber: AISHA_NI },
      });
      // The access log's checkpoints are signed: verifying them, or handing one out with a proof, reads the key.
      await call('GET', '/api/v1/audit/verify', '/v1/audit/verify', KETTERING_DPO);
      await call('GET', '/api/v1/audit/proofs/inclusion', '/v1/audit/proofs/inclusion?seq=1', KETTERING_DPO);
      await call('GET', '/api/v1/audit/proofs/consistency', '/v1/audit/proofs/consistency?from=1&to=2', KETTERING_DPO);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers as documented while the access log cannot be written (fail closed)', async () => {
    const callers: Record<string, ApiCall> = {
      '/api/v1/people/search': RP,
      '/api/v1/people/{personRef}': RP,
      '/api/v1/duplicate-checks': FRAUD,
      '/api/v1/consents': LA_DPO,
      '/api/v1/consents/{consentId}': LA_DPO,
      '/api/v1/link-candidates': REVIEWER,
      '/api/v1/link-candidates/{candidateId}': REVIEWER,
    };
    const log = t.host.services.accessLog;
    const spy = vi.spyOn(log, 'append').mockRejectedValue(new AccessLogUnavailableError());
    try {
      for (const [method, path, concrete, init] of authenticated) {
        const res = await call(method, path, concrete, { ...(callers[path] ?? KETTERING_DPO), ...init });
        expect.soft(res.status, path).toBe(503);
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('answers a call without a token 401 as documented, and 429 once the address has spent its limit', async () => {
    for (const [method, path, concrete, init] of authenticated)
      expect((await call(method, path, concrete, { ...ANONYMOUS, ...init })).status, path).toBe(401);
    for (let i = 0; i < UNAUTHENTICATED_LIMIT; i++) await callApi(t, '/v1/audit/verify');
    // The limit refills a call a second: on a loaded machine a call can find one refilled since
    // the last, and be answered 401. So each operation is asked straight after a call the limit
    // refused, up to three times; one that is never limited still fails.
    const spent = async () => {
      for (let i = 0; i <= UNAUTHENTICATED_LIMIT; i++)
        if ((await callApi(t, '/v1/audit/verify')).status === 429) return;
      throw new Error('the limit of calls without a token never refused one');
    };
    for (const [method, path, concrete, init] of authenticated) {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 3 && statuses.at(-1) !== 429; attempt++) {
        await spent();
        statuses.push((await call(method, path, concrete, { ...ANONYMOUS, ...init })).status);
      }
      expect(statuses.at(-1), `${path}: ${statuses.join(', ')}`).toBe(429);
    }
  });

  /**
   * What the HTTP server answers itself, before any function, on whichever operation a request
   * was for: an `Expect` it cannot meet (417), headers over its limit (431), a URL over it
   * (414), a request without Host (400), one not received in time (408), a request line of an
   * HTTP version other than 1.0 or 1.1 (505), a method the parser does not know (501: methods are
   * case-sensitive, so a client that sends `get` meets it on any path), and a method the path is
   * not served for (405). Each is problem+json with a stable type; each operation's document must
   * list it, as a client generated from the document meets them on any call. They were on none
   * (carried from a review), and 501 was left off after the others were added.
   */
  it('answers the HTTP server’s own refusals as every operation documents them', async () => {
    const asAnswer = (raw: RawResponse): ApiAnswer => ({
      status: raw.status ?? 0,
      headers: new Headers(raw.headers),
      type: raw.headers['content-type'] ?? null,
      text: raw.body,
      body: {},
    });
    // A server of the same functions that gives up on a request after half a second, not 300.
    const impatient = await startHttpServer({
      registrations: registrations().filter((r): r is HttpRegistration => r.kind === 'http'),
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('error', () => undefined),
      requestTimeoutMs: 500,
    });
    try {
      const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => [method.toUpperCase(), path] as const),
      );
      expect(operations.length).toBeGreaterThanOrEqual(20);
      // The server closes each of these connections once it has answered, so a long wait costs
      // nothing but lets a loaded machine answer some 150 at once: the servers, their timers and
      // these clients all share this one process, whose turns a loaded machine hands out late.
      const closed = { waitMs: 15_000 };
      const at = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: x\r\n`;
      const answered = await Promise.all(
        operations.map(([method, path]) => {
          const target = path.replace(/\{[^}]+\}/g, 'x');
          const head = at(method, target);
          return Promise.all([
            rawRequest(t.url, `${head}Expect: something-else\r\nConnection: close\r\n\r\n`, closed),
            rawRequest(t.url, `${head}X-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, closed),
            rawRequest(t.url, `${method} ${target}?padding=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, closed),
            rawRequest(t.url, `${method} ${target} HTTP/1.1\r\nConnection: close\r\n\r\n`, closed),
            rawRequest(t.url, `${method} ${target} HTTP/2.0\r\nHost: x\r\n\r\n`, closed),
            rawRequest(t.url, `${method.toLowerCase()} ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, closed),
          ]);
        }),
      );
      // The 408s once the rest are in: sent among them, each waited its turn behind that burst and
      // their checks, and under load a 5 s wait ran out before the 408 the server wrote was read.
      const timedOut = await Promise.all(
        operations.map(([method, path]) =>
          rawRequest(
            impatient.url,
            `${at(method, path.replace(/\{[^}]+\}/g, 'x'))}Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{`,
            closed,
          ),
        ),
      );
      operations.forEach(([method, path], i) => {
        const [expectFailed, headersOver, urlOver, noHost, version, unknownMethod] = answered[i]!;
        const answers = [expectFailed!, headersOver!, urlOver!, noHost!, timedOut[i]!, version!, unknownMethod!];
        expect(
          answers.map((a) => a.status),
          `${method} ${path}`,
        ).toEqual([417, 431, 414, 400, 408, 505, 501]);
        for (const answer of answers) expectDocumented(method, path, asAnswer(answer));
      });
      // No function is served for PATCH: every path answers it 405, with the methods it has. Each
      // on a connection of its own: fetch would reuse one the earlier tests left idle through the
      // probes above, which under load the server was closing (its keep-alive timeout) just as the
      // PATCH went out on it, and the call failed with a reset.
      for (const [path, item] of Object.entries(doc.paths)) {
        const target = path.replace(/\{[^}]+\}/g, 'x');
        const res = asAnswer(
          await rawRequest(t.url, `PATCH ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, closed),
        );
        expect(res.status, path).toBe(405);
        // Exactly the documented methods: /api/v1/people/search's Allow once named GET too, as a
        // GET there was taken for a view of the personRef "search".
        // HEAD, where it is served beside GET, is in Allow but documented by the GET.
        const allowed = res.headers.get('allow')?.split(', ');
        expect(allowed?.filter((m) => m !== 'HEAD').sort(), path).toEqual(
          Object.keys(item)
            .map((m) => m.toUpperCase())
            .sort(),
        );
        for (const method of Object.keys(item)) expectDocumented(method, path, res);
      }
    } finally {
      await impatient.close();
    }
    for (const item of Object.values(doc.paths))
      for (const op of Object.values(item) as Operation[])
        for (const status of [400, 405, 408, 414, 417, 431, 501, 505])
          expect(seen).toContain(`${op.operationId} ${status}`);
  });

  it('drove every operation through its main statuses', () => {
    const expected = [
      'health 200',
      'openapi 200',
      'docs 200',
      'docsAsset 200',
      'docsAsset 404',
      ...['200', '400', '401', '403', '404', '413', '415', '429'].map((s) => `peopleSearch ${s}`),
      ...['200', '400', '403', '404'].map((s) => `peopleView ${s}`),
      ...['200', '400', '403', '409', '415'].map((s) => `duplicateChecks ${s}`),
      ...['200', '201', '400', '403', '404'].map((s) => `consentsRecord ${s}`),
      ...['200', '404'].map((s) => `consentsView ${s}`),
      ...['200', '404'].map((s) => `consentsWithdraw ${s}`),
      ...['200', '400', '403'].map((s) => `linkCandidates ${s}`),
      ...['200', '404'].map((s) => `linkCandidate ${s}`),
      ...['200', '403', '409'].map((s) => `linkCandidateConfirm ${s}`),
      ...['200', '404', '409'].map((s) => `linkCandidateReject ${s}`),
      ...['200', '403', '503'].map((s) => `auditVerify ${s}`),
      ...['200', '400', '404', '503'].map((s) => `auditInclusionProof ${s}`),
      ...['200', '400', '404', '503'].map((s) => `auditConsistencyProof ${s}`),
      ...['200', '400', '404', '409'].map((s) => `auditPersonAccessesSearch ${s}`),
      ...['200', '400', '404'].map((s) => `auditPersonAccesses ${s}`),
      ...['200', '400'].map((s) => `auditClientActivity ${s}`),
      ...['200', '400'].map((s) => `auditAlerts ${s}`),
      'auditAlertsEvaluate 200',
      ...['200', '201', '404'].map((s) => `auditBreachOpen ${s}`),
      ...['200', '400', '404', '409'].map((s) => `auditBreachStep ${s}`),
      ...['200', '400', '403'].map((s) => `auditBreaches ${s}`),
      ...['200', '403', '404'].map((s) => `auditBreach ${s}`),
    ];
    expect(expected.filter((e) => !seen.has(e))).toEqual([]);
  });
});
