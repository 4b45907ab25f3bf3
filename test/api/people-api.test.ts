import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { recordPersonIdMoves } from '../../shared/linkage/person-id-history.js';
import { insertRecord } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type ApiCall, type TestHost } from '../support/test-host.js';

/**
 * The partner API end to end over real HTTP: real ES256 tokens from the host's development
 * issuer, the real policy over the three agreements, SQLite and Azurite.
 */
describe('people API', () => {
  let t: TestHost;
  const NI = 'JG103759A';
  const keywaysApplicant = {
    firstName: 'Aisha',
    lastName: "O'Connor",
    dateOfBirth: '1990-04-12',
    gender: 'F',
    nationalInsuranceNumber: NI,
    address: '1 High Street, Kettering',
    telephoneNumber: '01536 000000',
    statutorySupervisionCustodyOrCareDetails: 'SC-DETAIL',
    agencyReferralRiskAssessment: 'RISK-DETAIL',
    multiAgencyPublicProtectionArrangements: 'MAPPA-DETAIL',
  };
  const participant = {
    name: 'Sam Taylor',
    telephoneNumber: '07700 900000',
    email: 'sam@example.org',
    address: '2 Low Road, Dudley',
  };

  const logSize = () => t.accessLogSize();

  /** The shape the OpenAPI document gives a `personRef`: every one answered here must have it. */
  let documentedRef: RegExp;
  const call = async (path: string, init: ApiCall) => {
    const res = await callApi(t, path, init);
    if (res.body.personRef !== undefined) expect(res.body.personRef).toMatch(documentedRef);
    return res;
  };

  const search = (party: string, roles: string[], purpose: string | undefined, body: unknown) =>
    call('/v1/people/search', { party, roles, ...(purpose ? { purpose } : {}), body });

  /**
   * A provider's tenant in arrears (`base`: names and date of birth), and one person with them, the
   * record of each other party given, in the ISA's indicators; the person id.
   */
  const tenantHeldBy = async (
    base: { familyName: string; dateOfBirth: string; givenName: string },
    others: readonly (readonly [string, Record<string, unknown>])[],
  ) => {
    const names = { firstName: base.givenName, lastName: base.familyName };
    const datasetId = 'multiple-disadvantage-indicators';
    const { personId } = await insertRecord(t.host.services, {
      partyId: 'social-housing-providers',
      datasetId,
      ...base,
      attributes: { ...names, inRentArrears: true },
    });
    for (const [partyId, attributes] of others)
      await insertRecord(t.host.services, {
        partyId,
        datasetId,
        personId,
        ...base,
        attributes: { ...names, ...attributes },
      });
    return personId;
  };

  beforeAll(async () => {
    t = await startTestHost();
    const document = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as {
      components: { schemas: { PersonView: { properties: { personRef: { pattern?: string } } } } };
    };
    const pattern = document.components.schemas.PersonView.properties.personRef.pattern;
    expect(pattern).toEqual(expect.any(String));
    documentedRef = new RegExp(pattern!);
    await insertRecord(t.host.services, {
      partyId: 'kettering-borough-council',
      datasetId: 'keyways-housing-register',
      givenName: 'Aisha',
      familyName: "O'Connor",
      dateOfBirth: '1990-04-12',
      identifiers: { ni: 'JG103759' },
      attributes: keywaysApplicant,
    });
    await insertRecord(t.host.services, {
      partyId: 'dudley-housing-options',
      datasetId: 'housing-first-participant-contacts',
      givenName: 'Sam',
      familyName: 'Taylor',
      dateOfBirth: '1985-01-02',
      attributes: participant,
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows a registered provider the housing fields and nothing special-category', async () => {
    const res = await search('keyways-registered-providers', ['rp-lettings'], 'housing-allocation', { niNumber: NI });
    expect(res.status).toBe(200);
    expect(res.body.match).toEqual({ tier: 1 });
    const fields = (res.body.records as { fields: Record<string, unknown> }[])[0]!.fields;
    expect(Object.keys(fields).sort()).toEqual([
      'address',
      'dateOfBirth',
      'firstName',
      'gender',
      'lastName',
      'telephoneNumber',
    ]);
    expect(res.text).not.toContain('MAPPA-DETAIL');
    expect(res.text).not.toContain('SC-DETAIL');
    expect(res.text).not.toContain(NI);
  });

  it('shows a council senior officer what the Keyways DSA grants, MAPPA included; a housing officer not MAPPA', async () => {
    const senior = await search('kettering-borough-council', ['senior-officer'], 'housing-allocation', {
      givenName: 'aisha',
      familyName: 'OCONNOR',
      dateOfBirth: '12/04/1990',
    });
    expect(senior.status).toBe(200);
    expect(senior.body.match).toEqual({ tier: 3 });
    expect(senior.text).toContain('MAPPA-DETAIL');
    expect(senior.text).toContain('RISK-DETAIL');

    const officer = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
      niNumber: NI,
    });
    expect(officer.status).toBe(200);
    expect(officer.text).toContain('SC-DETAIL');
    expect(officer.text).not.toContain('MAPPA-DETAIL');
    expect(officer.text).not.toContain('RISK-DETAIL');
  });

  it("gives each party its own person reference; another party's reference is 404", async () => {
    const rp = await search('keyways-registered-providers', ['rp-lettings'], 'housing-allocation', { niNumber: NI });
    const council = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
      niNumber: NI,
    });
    expect(rp.body.personRef).not.toEqual(council.body.personRef);
    const again = await call(`/v1/people/${String(rp.body.personRef)}`, {
      party: 'keyways-registered-providers',
      roles: ['rp-lettings'],
      purpose: 'housing-allocation',
    });
    expect(again.status).toBe(200);
    expect(again.body.records).toEqual(rp.body.records);
    // What shows a person may be kept by no browser or proxy, nor read as anything but JSON.
    for (const answer of [rp, again]) {
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const stolen = await call(`/v1/people/${String(rp.body.personRef)}`, {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
    });
    expect(stolen.status).toBe(404);
    expect(stolen.body.type).toBe('urn:lintel:problem:no-match');
  });

  it('answers a body with a property it does not know by the properties it does, not by the one sent', async () => {
    const res = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
      firstName: 'Aisha',
      familyName: 'Khan',
      dateOfBirth: '1990-01-01',
    });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('urn:lintel:problem:invalid-request');
    const [error] = res.body.errors as { path: string; code: string; allowed?: string[] }[];
    expect(error).toMatchObject({ path: '', code: 'unrecognized_keys' });
    expect(error!.allowed).toEqual(expect.arrayContaining(['givenName', 'familyName', 'dateOfBirth', 'niNumber']));
    expect(res.text).not.toContain('firstName');
    expect(res.text).not.toContain('Aisha');
  });

  it('answers purpose problems with the stable problem types', async () => {
    const missing = await search('kettering-borough-council', ['housing-officer'], undefined, { niNumber: NI });
    expect(missing.status).toBe(400);
    expect(missing.type).toBe('application/problem+json');
    expect(missing.body.type).toBe('urn:lintel:problem:purpose-required');

    const notGranted = await search('keyways-registered-providers', ['rp-lettings'], 'research-evaluation', {
      niNumber: NI,
    });
    expect(notGranted.status).toBe(403);
    expect(notGranted.body.type).toBe('urn:lintel:problem:purpose-not-permitted');
  });

  it('refuses a dataset the purpose does not grant without repeating the requested dataset ids', async () => {
    const res = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
      niNumber: NI,
      datasets: ['keyways-housing-register', 'multiple-disadvantage-indicators', 'housing-first-participant-contacts'],
    });
    expect(res.status).toBe(403);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.type).toBe('urn:lintel:problem:dataset-not-permitted');
    expect(res.body.detail).toMatch(/\b2 requested dataset/);
    expect(res.text).not.toMatch(/multiple-disadvantage-indicators|housing-first-participant-contacts/);
    expect(res.text).not.toContain(NI);
  });

  it('refuses a party outside every agreement with 403', async () => {
    const token = await t.token('kettering-borough-council', ['housing-officer'], { clientId: 'some-other-app' });
    const res = await call('/v1/people/search', { token, purpose: 'housing-allocation', body: { niNumber: NI } });
    expect(res.status).toBe(403);
    expect(res.body.type).toBe('urn:lintel:problem:party-unknown');
  });

  it("shows a housing provider the ISA's indicators only for its own tenants", async () => {
    const indicators = (givenName: string, personId?: string) =>
      insertRecord(t.host.services, {
        partyId: 'la-childrens-social-care',
        datasetId: 'multiple-disadvantage-indicators',
        givenName,
        familyName: 'Marsh',
        dateOfBirth: '2012-07-08',
        identifiers: {},
        attributes: { firstName: givenName, lastName: 'Marsh', childProtection: true },
        ...(personId === undefined ? {} : { personId }),
      });
    const tenant = await insertRecord(t.host.services, {
      partyId: 'social-housing-providers',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Tia',
      familyName: 'Marsh',
      dateOfBirth: '2012-07-08',
      identifiers: {},
      attributes: { firstName: 'Tia', lastName: 'Marsh', inRentArrears: true },
    });
    await indicators('Tia', tenant.personId);
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      personId: tenant.personId,
      givenName: 'Tia',
      familyName: 'Marsh',
      dateOfBirth: '2012-07-08',
      attributes: { firstName: 'Tia', lastName: 'Marsh', inTemporaryAccommodation: true },
    });
    await indicators('Uma');
    const provider = (givenName: string) =>
      search('social-housing-providers', ['rp-tenancy-officer'], 'tenancy-sustainment', {
        givenName,
        familyName: 'Marsh',
        dateOfBirth: '2012-07-08',
      });
    const own = await provider('Tia');
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.body)).toContain('childProtection');
    // Someone the provider holds no record of is not its tenant: answered as an unknown person.
    const other = await provider('Uma');
    expect(other.status).toBe(404);
    expect(other.text).toBe((await provider('Nobody')).text);
    expect((await reasonCodesOf(t, 'social-housing-providers')).slice(-3)).toEqual([
      'granted',
      'not-callers-subject',
      'no-match',
    ]);
  });

  it("does not show a provider a service's record that holds nothing of that service's own, so not that the tenant is known to it", async () => {
    const base = { familyName: 'Penn', dateOfBirth: '1980-03-03', givenName: 'Kai' };
    await tenantHeldBy(base, [
      ['la-housing', { inTemporaryAccommodation: true }],
      // Adult social care's own fields here are ones the provider's grant withholds.
      ['la-adult-social-care', { isDisabled: true, socialCareOrSendTeam: 'Adult Mental Health Team' }],
    ]);
    const res = await search('social-housing-providers', ['rp-tenancy-officer'], 'tenancy-sustainment', base);
    expect(res.status).toBe(200);
    const records = res.body.records as { source: string; fields: Record<string, unknown> }[];
    expect(records.map((r) => r.source).sort()).toEqual(['la-housing', 'social-housing-providers']);
    expect(res.text).not.toContain('la-adult-social-care');
    // The same person as la-housing's officer sees them: adult social care's record is shown.
    const officer = await search('la-housing', ['housing-officer'], 'homelessness-prevention', base);
    expect(officer.status).toBe(200);
    expect((officer.body.records as { source: string }[]).map((r) => r.source)).toContain('la-adult-social-care');
  });

  it("shows a provider a tenant's knownToSocialCareOrSend without naming the service that knows them, which its grant withholds", async () => {
    const base = { familyName: 'Hale', dateOfBirth: '1975-05-05', givenName: 'Rey' };
    const names = { firstName: 'Rey', lastName: 'Hale' };
    const personId = await tenantHeldBy(base, [
      ['la-housing', { inTemporaryAccommodation: true }],
      // Caseworkers named so that the services' order (adult before education) is not theirs.
      ['la-adult-social-care', { knownToSocialCareOrSend: true, assignedCaseworkers: 'Z Case' }],
      ['la-education', { knownToSocialCareOrSend: true, assignedCaseworkers: 'A Case', ehcp: true }],
    ]);
    const res = await search('social-housing-providers', ['rp-tenancy-officer'], 'tenancy-sustainment', base);
    expect(res.status).toBe(200);
    const records = res.body.records as { source?: string; fields: Record<string, unknown> }[];
    expect(records.map((r) => r.source)).toEqual(['la-housing', 'social-housing-providers', undefined, undefined]);
    expect(records.slice(2).map((r) => r.fields)).toEqual([
      { ...names, knownToSocialCareOrSend: true, assignedCaseworkers: 'A Case' },
      { ...names, knownToSocialCareOrSend: true, assignedCaseworkers: 'Z Case' },
    ]);
    expect(res.text).not.toMatch(/la-adult-social-care|la-education/);
    // The access log still says what was released, and only that.
    const entry = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'fields'])
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(entry.subject_ref).toBe(personId);
    expect(JSON.parse(entry.fields)).toEqual(
      expect.arrayContaining([
        'multiple-disadvantage-indicators.assignedCaseworkers',
        'multiple-disadvantage-indicators.knownToSocialCareOrSend',
      ]),
    );
    // La-housing's officer is granted socialCareOrSendTeam, so which service each record is from.
    const officer = await search('la-housing', ['housing-officer'], 'homelessness-prevention', base);
    expect(officer.status).toBe(200);
    expect((officer.body.records as { source?: string }[]).map((r) => r.source)).toEqual([
      'la-adult-social-care',
      'la-education',
      'la-housing',
      'social-housing-providers',
    ]);
  });

  it('shows a caller granted all of a source\'s own fields that source\'s record, whatever it holds: addresses "as displayed on each host system"', async () => {
    const base = { familyName: 'Vance', dateOfBirth: '1966-02-02', givenName: 'Ola' };
    const names = { firstName: 'Ola', lastName: 'Vance' };
    const { personId } = await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      ...base,
      attributes: { ...names, inTemporaryAccommodation: true, homeAddress: '1 A Road' },
    });
    for (const partyId of ['la-adult-social-care', 'social-housing-providers']) {
      await insertRecord(t.host.services, {
        partyId,
        datasetId: 'multiple-disadvantage-indicators',
        personId,
        ...base,
        attributes: { ...names, homeAddress: '1a A Rd' },
      });
    }
    const officer = await search('la-housing', ['housing-officer'], 'homelessness-prevention', base);
    expect(officer.status).toBe(200);
    expect((officer.body.records as { source: string }[]).map((r) => r.source).sort()).toEqual([
      'la-adult-social-care',
      'la-housing',
      'social-housing-providers',
    ]);
  });

  it("shows the ISA's joint system only for people Housing has in temporary accommodation", async () => {
    const person = async (givenName: string, housing?: { inTemporaryAccommodation: boolean } | null) => {
      const { personId } = await insertRecord(t.host.services, {
        partyId: 'la-childrens-social-care',
        datasetId: 'multiple-disadvantage-indicators',
        givenName,
        familyName: 'Vale',
        dateOfBirth: '2013-02-03',
        attributes: { firstName: givenName, lastName: 'Vale', childProtection: true },
      });
      if (housing)
        await insertRecord(t.host.services, {
          partyId: 'la-housing',
          datasetId: 'multiple-disadvantage-indicators',
          personId,
          givenName,
          familyName: 'Vale',
          dateOfBirth: '2013-02-03',
          attributes: { firstName: givenName, lastName: 'Vale', ...housing },
        });
    };
    await person('Wyn', { inTemporaryAccommodation: true });
    await person('Xia', { inTemporaryAccommodation: false });
    await person('Yan', null);
    const officer = (givenName: string) =>
      search('la-housing', ['housing-officer'], 'homelessness-prevention', {
        givenName,
        familyName: 'Vale',
        dateOfBirth: '2013-02-03',
      });
    expect((await officer('Wyn')).status).toBe(200);
    // Out of temporary accommodation, or not linked to Housing at all: not shown, as if unknown.
    const nobody = (await officer('Nobody')).text;
    for (const givenName of ['Xia', 'Yan']) {
      const res = await officer(givenName);
      expect(res.status).toBe(404);
      expect(res.text).toBe(nobody);
    }
    expect((await reasonCodesOf(t, 'la-housing')).slice(-4)).toEqual([
      'granted',
      'no-match',
      'outside-joint-system-scope',
      'outside-joint-system-scope',
    ]);
  });

  it('finds no one by the pseudo-postcode of no fixed abode, and shows it where the agreement grants the postcode', async () => {
    // As an import stores a housing row at ZZ99 3VZ: the postcode kept to show, none to match on.
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Nell',
      familyName: 'Vane',
      dateOfBirth: '1975-06-01',
      attributes: { firstName: 'Nell', lastName: 'Vane', homePostcode: 'ZZ99 3VZ', inTemporaryAccommodation: true },
    });
    const officer = (body: Record<string, string>) =>
      search('la-housing', ['housing-officer'], 'homelessness-prevention', {
        givenName: 'Nell',
        familyName: 'Vane',
        ...body,
      });
    // A caller's system sends the pseudo-postcode it holds beside the date of birth: found by the date.
    const found = await officer({ dateOfBirth: '1975-06-01', postcode: 'zz99 3vz' });
    expect(found.status, found.text).toBe(200);
    expect(found.body.match).toEqual({ tier: 3 });
    expect(JSON.stringify(found.body.records)).toContain('"homePostcode":"ZZ99 3VZ"');
    // Names and the pseudo-postcode alone: method 4 would find every Nell Vane of no fixed abode.
    const refused = await officer({ postcode: 'ZZ99 3VZ' });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      type: 'urn:lintel:problem:invalid-identifier',
      field: 'postcode',
      reason: 'postcode-pseudo',
    });
  });

  it('refuses a placeholder or future date of birth by its field, not finding whoever was stored with it', async () => {
    // Stored before the import refused placeholders: a date shared by everyone whose date was not known.
    await insertRecord(t.host.services, {
      partyId: 'kettering-borough-council',
      datasetId: 'keyways-housing-register',
      givenName: 'Aled',
      familyName: 'Quarry',
      dateOfBirth: '1900-01-01',
      attributes: { firstName: 'Aled', lastName: 'Quarry', dateOfBirth: '1900-01-01' },
    });
    const future = `${new Date().getUTCFullYear() + 2}-06-01`;
    for (const dateOfBirth of ['1900-01-01', '01/01/1900', '0001-01-01', '1800-01-01', '9999-12-31', future]) {
      const res = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
        givenName: 'Aled',
        familyName: 'Quarry',
        dateOfBirth,
      });
      expect(res.status, dateOfBirth).toBe(400);
      expect(res.type).toBe('application/problem+json');
      expect(res.body, dateOfBirth).toMatchObject({
        type: 'urn:lintel:problem:invalid-identifier',
        field: 'dateOfBirth',
      });
      expect(res.text).not.toContain(dateOfBirth);
    }
  });

  it("does not find anyone in the ISA's datasets by NI number, which none of its matching methods names", async () => {
    const zoe = { givenName: 'Zoe', familyName: 'Quill', dateOfBirth: '2011-09-10' };
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: 'multiple-disadvantage-indicators',
      ...zoe,
      identifiers: { ni: 'JG103765' },
      attributes: { firstName: 'Zoe', lastName: 'Quill', inTemporaryAccommodation: true },
    });
    const officer = (body: unknown) => search('la-housing', ['housing-officer'], 'homelessness-prevention', body);
    const byNi = await officer({ niNumber: 'JG103765A' });
    expect(byNi.status).toBe(404);
    expect(byNi.body).toMatchObject({ type: 'urn:lintel:problem:no-match' });
    // The ISA's own steps find her.
    expect((await officer(zoe)).status).toBe(200);
  });

  it('answers no-match with 404 and nothing about anyone else', async () => {
    const res = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
      niNumber: 'AB123456C',
    });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:no-match', status: 404 });
    expect(res.text).not.toMatch(/Aisha|Connor|1990/);
  });

  it("answers no-match for a person the caller's NI number contradicts, and the log keeps why", async () => {
    // Another applicant of Aisha's name and birth date, with an NI number of her own nobody holds.
    const namesake = { givenName: 'Aisha', familyName: "O'Connor", dateOfBirth: '1990-04-12', niNumber: 'AB123456C' };
    const res = await search('kettering-borough-council', ['housing-officer'], 'housing-allocation', namesake);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:no-match' });
    expect(res.text).not.toMatch(/Aisha|Connor|1990|conflict/);
    expect((await reasonCodesOf(t, 'kettering-borough-council', 'person.search')).at(-1)).toBe('identifier-conflict');
  });

  it('shows the research organisation contact details only with a current consent, and nothing after withdrawal', async () => {
    const subject = { givenName: 'Sam', familyName: 'Taylor', dateOfBirth: '1985-01-02' };
    // Without consent the answer is the one an unknown person gets: being a participant is itself not shown.
    const unknown = await search('icf-research', ['researcher'], 'research-evaluation', {
      ...subject,
      familyName: 'Nobody',
    });
    expect(unknown.status).toBe(404);
    const before = await search('icf-research', ['researcher'], 'research-evaluation', subject);
    expect(before.status).toBe(404);
    expect(before.text).toBe(unknown.text);
    expect(before.text).not.toContain('07700');

    const recordConsent = () =>
      call('/v1/consents', {
        party: 'dudley-housing-options',
        roles: ['housing-officer'],
        purpose: 'research-evaluation',
        body: { subject, evidenceRef: 'HOS/CONSENT/0001' },
      });
    const recorded = await recordConsent();
    expect(recorded.status).toBe(201);
    // The same consent sent again (a retry after a lost answer) is the same consent: one
    // withdrawal must end the sharing, whichever answer the caller kept.
    const again = await recordConsent();
    expect(again.status).toBe(200);
    expect(again.body).toEqual(recorded.body);

    const during = await search('icf-research', ['researcher'], 'research-evaluation', subject);
    expect(during.status).toBe(200);
    const fields = (during.body.records as { fields: Record<string, unknown> }[])[0]!.fields;
    expect(fields).toEqual(participant);

    const withdrawn = await call(`/v1/consents/${String(recorded.body.consentId)}`, {
      party: 'dudley-housing-options',
      roles: ['housing-officer'],
      method: 'DELETE',
    });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.withdrawnAt).toEqual(expect.any(String));

    const after = await search('icf-research', ['researcher'], 'research-evaluation', subject);
    expect(after.status).toBe(404);
    expect(after.text).toBe(unknown.text);
    expect(after.text).not.toContain('07700');
    // The access log keeps the real reason for the DPO.
    const reasons = await reasonCodesOf(t, 'icf-research');
    expect(reasons).toEqual(['no-match', 'consent-required', 'granted', 'consent-required']);
  });

  it('keeps a UUID request id, and replaces free text, which the append-only log must never hold', async () => {
    const send = (requestId: string) =>
      fetch(`${t.url}/api/v1/people/search`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${'x'}`,
          'content-type': 'application/json',
          'x-purpose': 'housing-allocation',
          'x-request-id': requestId,
        },
        body: JSON.stringify({ niNumber: NI }),
      });
    const uuid = '3f2b8c1e-9d4a-4c7b-8e21-5a6f0d9c3b7e';
    expect((await send(uuid.toUpperCase())).headers.get('x-request-id')).toBe(uuid);
    // An NI number used as a correlation id.
    const replaced = (await send(NI)).headers.get('x-request-id');
    expect(replaced).not.toBe(NI);
    expect(replaced).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const logged = (
      await t.host.services.store.db
        .selectFrom('access_log')
        .select('request_id')
        .orderBy('seq', 'desc')
        .limit(2)
        .execute()
    ).map((row) => row.request_id);
    expect(logged).toEqual([replaced, uuid]);
  });

  it('leaves exactly one access-log entry per call, allowed, denied or unmatched', async () => {
    const calls = [
      () => search('keyways-registered-providers', ['rp-lettings'], 'housing-allocation', { niNumber: NI }),
      () => search('kettering-borough-council', ['housing-officer'], 'housing-allocation', { niNumber: 'AB123456C' }),
      () => search('keyways-registered-providers', ['rp-lettings'], 'research-evaluation', { niNumber: NI }),
      () => call('/v1/people/search', { purpose: 'housing-allocation', body: { niNumber: NI } }),
      () => search('kettering-borough-council', ['housing-officer'], 'housing-allocation', { niNumber: 'not-an-ni' }),
    ];
    for (const make of calls) {
      const before = await logSize();
      await make();
      expect(await logSize()).toBe(before + 1);
    }
    const last = await t.host.services.store.db
      .selectFrom('access_log')
      .selectAll()
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(last).toMatchObject({
      decision: 'deny',
      reason_code: 'invalid-identifier',
      party_id: 'kettering-borough-council',
    });
    const everything = JSON.stringify(await t.host.services.store.db.selectFrom('access_log').selectAll().execute());
    expect(everything).not.toContain(NI);
    expect(everything).not.toContain('Aisha');
  });
});

/**
 * A person reference names the person id of when it was issued; linking passes since may merge
 * that person into another id or split them.
 */
describe('people API: a person reference after linking moved the person', () => {
  let t: TestHost;
  const DATASET = 'keyways-housing-register';
  const corby = { party: 'corby-borough-council', roles: ['housing-officer'], purpose: 'housing-allocation' };
  const applicant = (firstName: string, lastName: string, dateOfBirth: string) => ({
    firstName,
    lastName,
    dateOfBirth,
    address: '4 Elm Row, Corby',
  });
  const lastView = () =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'reason_code'])
      .where('action', '=', 'person.view')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows the person the reference was issued for after they were merged into another id', async () => {
    const ng = { givenName: 'Aisha', familyName: 'Ng', dateOfBirth: '1991-02-03' };
    await insertRecord(t.host.services, {
      partyId: 'corby-borough-council',
      datasetId: DATASET,
      personId: 'ffffffff-0000-7000-8000-000000000002',
      ...ng,
      attributes: applicant('Aisha', 'Ng', '1991-02-03'),
    });
    const found = await callApi(t, '/v1/people/search', { ...corby, body: ng });
    expect(found.status).toBe(200);
    // Kettering's register has her too: the next linking pass makes the two records one person.
    const { personId: merged } = await insertRecord(t.host.services, {
      partyId: 'kettering-borough-council',
      datasetId: DATASET,
      personId: '00000000-0000-7000-8000-000000000001',
      ...ng,
      identifiers: { ni: 'JG103759' },
      attributes: applicant('Aisha', 'Ng', '1991-02-03'),
    });
    const s = t.host.services;
    await linkPeople(s, 'keyways-housing-allocation', 'full');
    expect((await s.store.db.selectFrom('source_record').select('person_id').distinct().execute()).length).toBe(1);

    const again = await callApi(t, `/v1/people/${String(found.body.personRef)}`, corby);
    expect(again.status).toBe(200);
    expect(again.body.records).toEqual(
      expect.arrayContaining([expect.objectContaining({ source: 'corby-borough-council' })]),
    );
    // The log names the id whose records were shown.
    expect(await lastView()).toEqual({ subject_ref: merged, reason_code: 'granted' });
  });

  it('shows nobody by a reference whose person was split in two, so the caller searches again', async () => {
    const lee = { givenName: 'Lee', familyName: 'Rowe', dateOfBirth: '1970-05-06' };
    const { recordId, personId } = await insertRecord(t.host.services, {
      partyId: 'corby-borough-council',
      datasetId: DATASET,
      ...lee,
      attributes: applicant('Lee', 'Rowe', '1970-05-06'),
    });
    await insertRecord(t.host.services, {
      partyId: 'corby-borough-council',
      datasetId: DATASET,
      personId,
      givenName: 'Leigh',
      familyName: 'Rowe',
      dateOfBirth: '1970-05-06',
      attributes: applicant('Leigh', 'Rowe', '1970-05-06'),
    });
    const found = await callApi(t, '/v1/people/search', { ...corby, body: lee });
    expect(found.status).toBe(200);
    // A later pass finds them two people: each record gets an id of its own.
    const db = t.host.services.store.db;
    await db.updateTable('source_record').set({ person_id: 'rowe-lee' }).where('id', '=', recordId).execute();
    await db.updateTable('source_record').set({ person_id: 'rowe-leigh' }).where('person_id', '=', personId).execute();
    await recordPersonIdMoves(
      db,
      'sqlite',
      [
        { from: personId, to: 'rowe-lee' },
        { from: personId, to: 'rowe-leigh' },
      ],
      new Date().toISOString(),
    );
    const again = await callApi(t, `/v1/people/${String(found.body.personRef)}`, corby);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ type: 'urn:lintel:problem:no-match' });
    expect(await lastView()).toEqual({ subject_ref: null, reason_code: 'ambiguous' });
  });
});
