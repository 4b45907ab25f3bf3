import { sql } from 'kysely';
import { checkpointNow } from '../../shared/audit/audit-service.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEY_RETRY_AFTER_SECONDS } from '../../shared/api/api-context.js';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { SecretUnavailableError } from '../../shared/secrets/secret-source.js';
import { AISHA_NI, aishaOnKeyways, insertRecord, SAM, SAM_PARTICIPANT } from '../support/records.js';
import { callApi, ownAnchorContainer, startTestHost, type ApiCall, type TestHost } from '../support/test-host.js';

/**
 * The design's step 6: if the access log cannot be written, nothing is returned. With the
 * access_log table gone from under the running host, every lookup — one that would be allowed,
 * one that would be denied — answers 503 and carries nothing about the person.
 */
describe('fail closed when the access log cannot be written', () => {
  let t: TestHost;
  let personRef: string;
  let consentId: string;
  const participant = SAM;
  const consentBy = (body?: unknown, method?: string) => ({
    party: 'dudley-housing-options',
    roles: ['housing-officer'],
    purpose: 'research-evaluation',
    ...(body === undefined ? {} : { body }),
    ...(method === undefined ? {} : { method }),
  });
  const consentEvents = async () =>
    (await t.host.services.store.db.selectFrom('consent_event').select('action').execute()).map((e) => e.action);
  const NI = 'JG103759A';
  const personal = [
    'Aisha',
    'Connor',
    '1990-04-12',
    '1990',
    'JG103759',
    'High Street',
    '01536',
    'SC-DETAIL',
    'kettering-borough-council',
  ];

  const call = (path: string, init: ApiCall) => callApi(t, path, init);

  const officer = { party: 'kettering-borough-council', roles: ['housing-officer', 'senior-officer'] };
  const lookups: [string, () => ReturnType<typeof call>][] = [
    [
      'search that would be allowed',
      () => call('/v1/people/search', { ...officer, purpose: 'housing-allocation', body: { niNumber: NI } }),
    ],
    [
      'search by names',
      () =>
        call('/v1/people/search', {
          ...officer,
          purpose: 'housing-allocation',
          body: { givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '1990-04-12' },
        }),
    ],
    ['view by reference', () => call(`/v1/people/${personRef}`, { ...officer, purpose: 'housing-allocation' })],
    [
      'duplicate check',
      () =>
        call('/v1/duplicate-checks', {
          party: 'corby-borough-council',
          roles: ['housing-officer'],
          purpose: 'fraud-prevention',
          body: { niNumber: NI },
        }),
    ],
    [
      'search that would be denied',
      () =>
        call('/v1/people/search', {
          party: 'keyways-registered-providers',
          roles: ['rp-lettings'],
          purpose: 'research-evaluation',
          body: { niNumber: NI },
        }),
    ],
    [
      'search with no token',
      () => call('/v1/people/search', { purpose: 'housing-allocation', body: { niNumber: NI } }),
    ],
    [
      'consent record',
      () =>
        call('/v1/consents', {
          party: 'dudley-housing-options',
          roles: ['housing-officer'],
          purpose: 'research-evaluation',
          body: { subject: { niNumber: NI }, evidenceRef: 'REF-1' },
        }),
    ],
  ];

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, {
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
        nationalInsuranceNumber: NI,
        address: '1 High Street, Kettering',
        telephoneNumber: '01536 000000',
        statutorySupervisionCustodyOrCareDetails: 'SC-DETAIL',
      },
    });
    const found = await call('/v1/people/search', {
      ...officer,
      purpose: 'housing-allocation',
      body: { niNumber: NI },
    });
    expect(found.status).toBe(200);
    expect(found.text).toContain('Aisha');
    personRef = (JSON.parse(found.text) as { personRef: string }).personRef;
    await insertRecord(t.host.services, SAM_PARTICIPANT);
    const recorded = await call('/v1/consents', consentBy({ subject: participant, evidenceRef: 'REF-0' }));
    expect(recorded.status).toBe(201);
    consentId = (JSON.parse(recorded.text) as { consentId: string }).consentId;
    await sql`alter table access_log rename to access_log_unreachable`.execute(t.host.services.store.db);
  });
  afterAll(async () => {
    if (t) await sql`alter table access_log_unreachable rename to access_log`.execute(t.host.services.store.db);
    await t?.stop();
  });

  it.each(lookups)('%s: 503 audit-log-unavailable with nothing about the person', async (_name, make) => {
    const res = await make();
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('x-request-id')).toEqual(expect.any(String));
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'urn:lintel:problem:audit-log-unavailable', status: 503 });
    expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
    for (const value of personal) expect(res.text).not.toContain(value);
  });

  it('makes no change without its entry: a consent is neither recorded nor withdrawn', async () => {
    expect(await consentEvents()).toEqual(['record']);
    const record = await call('/v1/consents', consentBy({ subject: participant, evidenceRef: 'REF-1' }));
    expect(record.status).toBe(503);
    const withdraw = await call(`/v1/consents/${consentId}`, consentBy(undefined, 'DELETE'));
    expect(withdraw.status).toBe(503);
    expect(await consentEvents()).toEqual(['record']);
  });

  it('serves again once the log can be written', async () => {
    await sql`alter table access_log_unreachable rename to access_log`.execute(t.host.services.store.db);
    try {
      const res = await lookups[0]![1]();
      expect(res.status).toBe(200);
    } finally {
      await sql`alter table access_log rename to access_log_unreachable`.execute(t.host.services.store.db);
    }
  });
});

/**
 * A pseudonymisation key version the store's identifiers are hashed under cannot be read (Key
 * Vault throttling or down). A lookup without it would miss everyone hashed under it and answer
 * "no match" — for a duplicate check, "no application with another council" — so every call
 * that matches identifiers answers 503 instead, and says nothing about anyone. A call giving
 * names and a date of birth alone hashes nothing, and is answered.
 */
describe('fail closed when a stored key version cannot be read', () => {
  let t: TestHost;
  let vaultDown = true;
  const NI = 'JG103759A';
  const officer = { party: 'kettering-borough-council', roles: ['housing-officer', 'senior-officer'] };
  const call = (path: string, init: ApiCall) => callApi(t, path, init);
  const matching: [string, () => ReturnType<typeof call>][] = [
    ['search', () => call('/v1/people/search', { ...officer, purpose: 'housing-allocation', body: { niNumber: NI } })],
    [
      'duplicate check',
      () =>
        call('/v1/duplicate-checks', {
          party: 'corby-borough-council',
          roles: ['housing-officer'],
          purpose: 'fraud-prevention',
          body: { niNumber: NI },
        }),
    ],
    [
      'consent',
      () =>
        call('/v1/consents', {
          party: 'dudley-housing-options',
          roles: ['housing-officer'],
          purpose: 'research-evaluation',
          body: { subject: { ...SAM, niNumber: NI }, evidenceRef: 'REF-1' },
        }),
    ],
    ['DPO lookup', () => call('/v1/audit/people/accesses', { ...officer, roles: ['dpo'], body: { niNumber: NI } })],
  ];

  beforeAll(async () => {
    t = await startTestHost();
    const services = t.host.services;
    const secrets = services.secrets as LocalSecretSource;
    const oldVersion = (await secrets.get('pseudonymisation-key')).version;
    await insertRecord(services, aishaOnKeyways());
    await insertRecord(services, SAM_PARTICIPANT);
    secrets.rotate('pseudonymisation-key');
    const get = secrets.get.bind(secrets);
    // The services' own key source, failing for the version Aisha and Sam are hashed under.
    vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (version === oldVersion && vaultDown) throw new SecretUnavailableError(name);
      return get(name, version);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  it.each(matching)('%s: 503 key-unavailable with Retry-After, logged as such', async (_name, make) => {
    const before = await t.accessLogSize();
    const res = await make();
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe(String(KEY_RETRY_AFTER_SECONDS));
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable', status: 503 });
    expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
    for (const value of ['Aisha', 'JG103759', 'Taylor']) expect(res.text).not.toContain(value);
    expect(await t.accessLogSize()).toBe(before + 1);
    const [last] = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['decision', 'reason_code'])
      .orderBy('seq', 'desc')
      .limit(1)
      .execute();
    expect(last).toEqual({ decision: 'deny', reason_code: 'key-unavailable' });
  });

  // Names and a date of birth are matched as stored, not hashed: no key version is needed to
  // find everyone such a lookup can find, so the vault's outage does not stop it (found by a
  // review: it answered 503 like a lookup by identifiers).
  const byNames = { givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '1990-04-12' };
  it('answers a search by names and date of birth alone', async () => {
    const res = await call('/v1/people/search', { ...officer, purpose: 'housing-allocation', body: byNames });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Aisha');
  });

  it('answers a duplicate check by names and date of birth alone', async () => {
    const res = await call('/v1/duplicate-checks', {
      party: 'corby-borough-council',
      roles: ['housing-officer'],
      purpose: 'fraud-prevention',
      body: byNames,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ duplicate: true, councils: ['kettering-borough-council'] });
  });

  it('still answers 503 to a search giving an identifier beside the names', async () => {
    const res = await call('/v1/people/search', {
      ...officer,
      purpose: 'housing-allocation',
      body: { ...byNames, niNumber: NI },
    });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
    expect(res.text).not.toContain('Aisha');
  });

  // As for a search: a consent or a DPO's request by names and date of birth hashes nothing, so
  // it is answered too (they read every version first, and answered 503 like a call giving an
  // identifier).
  it('records a consent by names and date of birth alone', async () => {
    const res = await call('/v1/consents', {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: SAM, evidenceRef: 'REF-2' },
    });
    expect(res.status).toBe(201);
  });

  // An opt-out by names for nobody held keeps their names key hashed under the current key, which
  // reads: an older version down must not make it 503 where one for someone held is 201.
  it('records an opt-out by names and date of birth alone, for nobody held too', async () => {
    const res = await call('/v1/consents', {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
      body: {
        kind: 'opt-out',
        subject: { givenName: 'Zinnia', familyName: 'Quell', dateOfBirth: '1990-04-13' },
        evidenceRef: 'REF-3',
      },
    });
    expect(res.status, res.text).toBe(201);
  });

  it("answers a DPO's request for a person's accesses by names and date of birth alone", async () => {
    const res = await call('/v1/audit/people/accesses', { ...officer, roles: ['dpo'], body: byNames });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ otherMatches: [] });
    expect(typeof res.body.personRef).toBe('string');
  });

  // (A consent giving one beside Sam's names is the 503 'consent' case above.)
  it("still answers 503 to a DPO's request giving an identifier beside the names", async () => {
    const request = await call('/v1/audit/people/accesses', {
      ...officer,
      roles: ['dpo'],
      body: { ...byNames, niNumber: NI },
    });
    expect(request.status).toBe(503);
    expect(request.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
  });

  it('finds the person once the version can be read again', async () => {
    vaultDown = false;
    await new Promise((resolve) => setTimeout(resolve, KEY_RETRY_AFTER_SECONDS * 1000 + 100));
    const res = await matching[0]![1]();
    expect(res.status).toBe(200);
    expect(res.text).toContain('Aisha');
  }, 30_000);
});

describe('fail closed when person-ref-key cannot be read', () => {
  let t: TestHost;
  const NI = AISHA_NI;
  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await insertRecord(t.host.services, aishaOnKeyways());
    const secrets = t.host.services.secrets as LocalSecretSource;
    const get = secrets.get.bind(secrets);
    vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (name === 'person-ref-key') throw new SecretUnavailableError(name);
      return get(name, version);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  it.each<[string, ApiCall & { path: string }]>([
    [
      'a search that matched',
      {
        path: '/v1/people/search',
        party: 'kettering-borough-council',
        roles: ['housing-officer'],
        purpose: 'housing-allocation',
        body: { niNumber: NI },
      },
    ],
    [
      'a DPO search',
      { path: '/v1/audit/people/accesses', party: 'kettering-borough-council', roles: ['dpo'], body: { niNumber: NI } },
    ],
  ])('%s: 503 key-unavailable with Retry-After, not a 500', async (_name, { path, ...init }) => {
    const res = await callApi(t, path, init);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(res.text).not.toContain('Aisha');
  });

  it('a view by reference: 503 saying the person-reference key was needed, not one to match identifiers', async () => {
    // No identifiers are matched on a view: a detail saying so sent partners after the wrong key.
    const res = await callApi(t, '/v1/people/not-a-reference-anyway', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
    });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
    expect(res.body.detail).not.toMatch(/identifier/i);
    expect(res.body.detail).toMatch(/person references/);
  });
});

describe('a key version newer than the versions an instance last read', () => {
  let t: TestHost;
  const aisha = aishaOnKeyways;
  const officer = { party: 'kettering-borough-council', roles: ['housing-officer'], purpose: 'housing-allocation' };
  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await insertRecord(t.host.services, aisha('JG103759'));
    // The host now holds the store's one key version for a minute.
    expect((await callApi(t, '/v1/people/search', { ...officer, body: { niNumber: 'JG103759A' } })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('finds people an import hashed under it since, rather than answer nobody', async () => {
    (t.host.services.secrets as LocalSecretSource).rotate('pseudonymisation-key');
    await insertRecord(t.host.services, aisha('AB123456'));
    expect((await callApi(t, '/v1/people/search', { ...officer, body: { niNumber: 'AB123456C' } })).status).toBe(200);
    const duplicate = await callApi(t, '/v1/duplicate-checks', {
      party: 'corby-borough-council',
      roles: ['housing-officer'],
      purpose: 'fraud-prevention',
      body: { niNumber: 'AB123456C' },
    });
    expect(duplicate.status).toBe(200);
    expect(duplicate.body.duplicate).toBe(true);
  });

  it('does not let a namesake answer for an identifier hashed under it since', async () => {
    await insertRecord(t.host.services, {
      partyId: 'wellingborough-borough-council',
      datasetId: 'keyways-housing-register',
      givenName: 'Zara',
      familyName: 'Ahmed',
      dateOfBirth: '1991-02-03',
      attributes: { firstName: 'Zara', lastName: 'Ahmed' },
    });
    // Read the versions now, so the key rotated next is not among them.
    await callApi(t, '/v1/people/search', { ...officer, body: { niNumber: 'JG103759A' } });
    (t.host.services.secrets as LocalSecretSource).rotate('pseudonymisation-key');
    await insertRecord(t.host.services, {
      ...aishaOnKeyways('CE123456'),
      partyId: 'corby-borough-council',
      givenName: 'Zara',
      familyName: 'Khan',
      dateOfBirth: '1991-02-03',
    });
    const duplicate = await callApi(t, '/v1/duplicate-checks', {
      ...officer,
      purpose: 'fraud-prevention',
      body: { niNumber: 'CE123456D', givenName: 'Zara', familyName: 'Ahmed', dateOfBirth: '1991-02-03' },
    });
    expect(duplicate.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });
  });
});

/**
 * The DPO's own reads show personal data (who looked at whom), so they fail closed too: with
 * the log readable but refusing every new entry (a full disk, a lock held past the timeout),
 * each read the DPO makes is computed and then withheld, 503 with nothing of it.
 */
describe("fail closed for the DPO's own reads when only the log's writes fail", () => {
  let t: TestHost;
  let personRef: string;
  const dpo = { party: 'kettering-borough-council', roles: ['dpo'] };
  const call = (path: string, init: ApiCall) => callApi(t, path, init);

  beforeAll(async () => {
    t = await startTestHost();
    await insertRecord(t.host.services, aishaOnKeyways());
    const found = await call('/v1/people/search', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      body: { niNumber: AISHA_NI },
    });
    expect(found.status).toBe(200);
    personRef = (JSON.parse(found.text) as { personRef: string }).personRef;
    await sql`create trigger audit.access_log_refuses before insert on access_log begin select raise(abort, 'full'); end`.execute(
      t.host.services.store.db,
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each([
    ['who accessed a person', () => call(`/v1/audit/people/${personRef}/accesses`, dpo)],
    [
      'who accessed a person, by identifiers',
      () => call('/v1/audit/people/accesses', { ...dpo, body: { niNumber: AISHA_NI } }),
    ],
    [
      "a client's activity",
      () => call('/v1/audit/clients/client/activity?from=2020-01-01T00:00:00.000Z&to=2100-01-01T00:00:00.000Z', dpo),
    ],
    ['verify the log', () => call('/v1/audit/verify', dpo)],
  ])('%s: 503 audit-log-unavailable with nothing of the answer', async (_name, make) => {
    const res = await make();
    expect(res.status).toBe(503);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'urn:lintel:problem:audit-log-unavailable', status: 503 });
    expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
    expect(res.text).not.toContain(personRef);
  });
});

describe('fail closed when audit-signing-key cannot be read for a moment', () => {
  let t: TestHost;
  const DPO = { party: 'kettering-borough-council', roles: ['dpo'] };
  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await ownAnchorContainer(t);
    await callApi(t, '/v1/audit/verify', DPO);
    await checkpointNow(t.host.services);
    const secrets = t.host.services.secrets as LocalSecretSource;
    const get = secrets.get.bind(secrets);
    // Throttled or a network fault: the version is there, but could not be read this time.
    vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (name === 'audit-signing-key') throw new SecretUnavailableError(name);
      return get(name, version);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  it("answers a DPO's verify 503 key-unavailable with Retry-After, not a 500, and not a forged log", async () => {
    const res = await callApi(t, '/v1/audit/verify', DPO);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable', status: 503 });
    expect(res.headers.get('retry-after')).not.toBeNull();
    const [last] = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['action', 'decision', 'reason_code'])
      .orderBy('seq', 'desc')
      .limit(1)
      .execute();
    expect(last).toEqual({ action: 'audit.verify', decision: 'deny', reason_code: 'key-unavailable' });
  });
});
