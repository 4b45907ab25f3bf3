import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pseudonymiser } from '../../shared/domain/pseudonymise.js';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { enforceRetention } from '../../shared/retention/enforce-retention.js';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { nhs } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const DPO = { party: 'la-housing', roles: ['dpo'] };
const OFFICER = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };
const ROBIN_NHS = nhs(4321);

/**
 * The ISA's joint-system rule deletes a child's records once Housing no longer has them in
 * temporary accommodation; the access log keeps every entry about the child. A subject access
 * request made afterwards, by the NHS number the child's family gives, must still show who looked.
 */
describe('DPO API: a subject access request after retention deleted the person', () => {
  const OTHER_NHS = nhs(8765);
  const ROBIN_UPN = 'A123456789012';
  let t: TestHost;
  let housingRecord: string;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const robin = (partyId: string, attributes: Record<string, unknown>, personId?: string, upn?: string) =>
      insertRecord(t.host.services, {
        partyId,
        datasetId: DATASET,
        ...(personId === undefined ? {} : { personId }),
        givenName: 'Robin',
        familyName: 'Hale',
        dateOfBirth: '2012-05-06',
        identifiers: { nhs: ROBIN_NHS, ...(upn === undefined ? {} : { upn }) },
        attributes: { firstName: 'Robin', lastName: 'Hale', ...attributes },
      });
    const housing = await robin('la-housing', { inTemporaryAccommodation: true }, undefined, ROBIN_UPN);
    housingRecord = housing.recordId;
    await robin('la-childrens-social-care', { childProtection: true }, housing.personId);
    // Someone Housing keeps, so the rule has a value to judge by beside Robin's.
    await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Bob',
      familyName: 'Jones',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: OTHER_NHS },
      attributes: { firstName: 'Bob', lastName: 'Jones', inTemporaryAccommodation: true },
    });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await t?.stop();
  });

  it('shows the accesses logged about a person whose records retention has deleted', async () => {
    expect((await callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: ROBIN_NHS } })).status).toBe(200);
    // Robin's family leaves temporary accommodation; the next pass deletes Robin's records.
    await t.host.services.store.db
      .updateTable('source_record')
      .set({ attributes: JSON.stringify({ firstName: 'Robin', lastName: 'Hale', inTemporaryAccommodation: false }) })
      .where('id', '=', housingRecord)
      .execute();
    const { store, agreements, accessLog, logger } = t.host.services;
    const [summary] = await enforceRetention({ store, agreements, accessLog, logger }, AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 2 });

    const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    expect(res.status).toBe(200);
    const actions = (res.body.entries as { action: string }[]).map((e) => e.action);
    expect(actions).toContain('person.search');
    expect(actions).toContain('retention-delete');
    // The reference leads to the same accesses.
    const byRef = await callApi(t, `/v1/audit/people/${res.body.personRef as string}/accesses`, DPO);
    expect(byRef.status).toBe(200);
    const shown = res.body.entries as unknown[];
    expect((byRef.body.entries as unknown[]).slice(0, shown.length)).toEqual(shown);
    // Nothing but hashes was kept: no name, date of birth or NHS number outlives the deletion.
    const kept = JSON.stringify(await store.db.selectFrom('retired_identifier').selectAll().execute());
    for (const value of [ROBIN_NHS, 'ROBIN', 'HALE', '2012-05-06']) expect(kept).not.toContain(value);
    expect(await store.db.selectFrom('source_record').select('id').where('given_name', '=', 'ROBIN').execute()).toEqual(
      [],
    );
  });

  it('does not settle on the deleted person when another identifier given is not theirs', async () => {
    const theirs = await callApi(t, '/v1/audit/people/accesses', {
      ...DPO,
      body: { nhsNumber: ROBIN_NHS, upn: ROBIN_UPN },
    });
    expect(theirs.status).toBe(200);
    const res = await callApi(t, '/v1/audit/people/accesses', {
      ...DPO,
      body: { nhsNumber: ROBIN_NHS, upn: 'H801200001001' },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:unsettled-match' });
    expect(res.body.matches).toEqual([{ personRef: theirs.body.personRef, tier: 1 }]);
  });
  it('still finds the deleted person once every record held is hashed under a newer key version', async () => {
    const { store } = t.host.services;
    const secrets = t.host.services.secrets as LocalSecretSource;
    const { key_version: before } = await store.db
      .selectFrom('retired_identifier')
      .select('key_version')
      .executeTakeFirstOrThrow();
    // The key is rotated and Housing re-sends Bob under the new version: no record holds the old
    // one any more; only the hashes kept for Robin were made under it.
    secrets.rotate('pseudonymisation-key');
    const current = await secrets.get('pseudonymisation-key');
    const pseudonymiser = new Pseudonymiser({ keyVersion: current.version, key: Buffer.from(current.value, 'base64') });
    await store.db
      .updateTable('record_identifier')
      .set({ hash: pseudonymiser.hash('nhs', OTHER_NHS), key_version: current.version })
      .where('key_version', '=', before)
      .execute();
    // Past the minute the API keeps the versions it read.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 * 60_000 });

    const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    expect(res.status).toBe(200);
    expect((res.body.entries as { action: string }[]).map((e) => e.action)).toContain('retention-delete');
  });
});

/**
 * Social care reuses a system id: the child it belonged to left temporary accommodation and
 * retention deleted them; the id now names another child, held. A subject access request by that
 * id names two people, and must show neither's accesses until the DPO settles which one asks.
 */
describe('DPO API: a subject access request by a system id retention retired and social care reused', () => {
  const SYSTEM_ID = { system: 'social-care', id: 'SC10042' };
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => t?.stop());

  it('answers 409 unsettled-match, not the accesses of the child who holds the id now', async () => {
    const { services } = t.host;
    const child = (partyId: string, givenName: string, familyName: string, attributes: Record<string, unknown>) =>
      insertRecord(services, {
        partyId,
        datasetId: DATASET,
        givenName,
        familyName,
        dateOfBirth: '2013-03-04',
        identifiers: { [`system-id:${SYSTEM_ID.system}`]: SYSTEM_ID.id },
        attributes: { firstName: givenName, lastName: familyName, ...attributes },
      });
    const alex = await child('la-housing', 'Alex', 'Reed', { inTemporaryAccommodation: true });
    // Someone Housing keeps, so the rule has a value to judge by.
    await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Bob',
      familyName: 'Jones',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: nhs(8801) },
      attributes: { firstName: 'Bob', lastName: 'Jones', inTemporaryAccommodation: true },
    });
    const lookUp = (givenName: string, familyName: string) =>
      callApi(t, '/v1/people/search', { ...OFFICER, body: { givenName, familyName, dateOfBirth: '2013-03-04' } });
    expect((await lookUp('Alex', 'Reed')).status).toBe(200);
    await services.store.db
      .updateTable('source_record')
      .set({ attributes: JSON.stringify({ firstName: 'Alex', lastName: 'Reed', inTemporaryAccommodation: false }) })
      .where('id', '=', alex.recordId)
      .execute();
    const { store, agreements, accessLog, logger } = services;
    const [summary] = await enforceRetention({ store, agreements, accessLog, logger }, AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1 });

    // The id is reused for Casey, whom an officer then looks up.
    const casey = await child('la-housing', 'Casey', 'Lee', { inTemporaryAccommodation: true });
    expect((await lookUp('Casey', 'Lee')).status).toBe(200);

    const res = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { systemId: SYSTEM_ID } });
    // Without the fix: 200 with Casey's accesses (Casey's lookup among them), Alex in otherMatches.
    expect((res.body.entries as unknown[] | undefined)?.length ?? 0).toBe(0);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:lintel:problem:unsettled-match' });
    // Casey held, Alex among the deleted records: both by the system id.
    expect((res.body.matches as { tier: number }[]).map((m) => m.tier)).toEqual([2, 2]);
    expect(JSON.stringify(res.body)).not.toContain(casey.personId);
  });
});

/**
 * A reference the DPO was given before linking merged the person (as a `subjectRef` of client
 * activity, or in an earlier answer) names the id that gave way. Once retention has deleted the
 * merged person, no record holds either id; the reference should still lead to every access to
 * the person — those logged under the id they merged into, and the retention-delete itself — as
 * it did the day before the deletion.
 */
describe('DPO API: a reference to an id a merge gave way, after retention deleted the merged person', () => {
  const GAVE_WAY = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
  const MERGED_INTO = '00000000-0000-4000-8000-000000000000';
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  });
  afterAll(async () => t?.stop());

  it('follows the reference to the accesses logged under the id merged into, up to the deletion', async () => {
    const { services } = t.host;
    const robin = (partyId: string, personId: string, attributes: Record<string, unknown>) =>
      insertRecord(services, {
        partyId,
        datasetId: DATASET,
        personId,
        givenName: 'Robin',
        familyName: 'Hale',
        dateOfBirth: '2012-05-06',
        identifiers: { nhs: ROBIN_NHS },
        attributes: { firstName: 'Robin', lastName: 'Hale', ...attributes },
      });
    const housing = await robin('la-housing', GAVE_WAY, { inTemporaryAccommodation: true });
    // Someone Housing keeps, so the rule has a value to judge by.
    await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Bob',
      familyName: 'Jones',
      dateOfBirth: '2010-01-01',
      identifiers: { nhs: nhs(8802) },
      attributes: { firstName: 'Bob', lastName: 'Jones', inTemporaryAccommodation: true },
    });
    const search = () => callApi(t, '/v1/people/search', { ...OFFICER, body: { nhsNumber: ROBIN_NHS } });
    expect((await search()).status).toBe(200);
    const first = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    expect(first.status).toBe(200);
    const oldRef = first.body.personRef as string;

    // Social care and education hold Robin under another id; linking merges the three records
    // into the id two of them hold.
    await robin('la-childrens-social-care', MERGED_INTO, { childProtection: true });
    await robin('la-education', MERGED_INTO, {});
    const { store, secrets, agreements, accessLog, logger } = services;
    await linkPeople({ store, secrets, agreements, logger }, AGREEMENT, 'full');
    const held = await store.db.selectFrom('source_record').select('person_id').where('given_name', '=', 'ROBIN');
    expect((await held.distinct().execute()).map((r) => r.person_id)).toEqual([MERGED_INTO]);
    expect((await search()).status).toBe(200);

    // Robin's family leaves temporary accommodation; retention deletes Robin's records.
    await store.db
      .updateTable('source_record')
      .set({ attributes: JSON.stringify({ firstName: 'Robin', lastName: 'Hale', inTemporaryAccommodation: false }) })
      .where('id', '=', housing.recordId)
      .execute();
    const [summary] = await enforceRetention({ store, agreements, accessLog, logger }, AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 3 });

    const actions = (body: Record<string, unknown>) =>
      (body.entries as { action: string }[]).map((e) => e.action).filter((a) => !a.startsWith('audit.'));
    const byIdentifiers = await callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: ROBIN_NHS } });
    expect(byIdentifiers.status).toBe(200);
    expect(actions(byIdentifiers.body)).toEqual(['person.search', 'person.search', 'retention-delete']);

    const byOldRef = await callApi(t, `/v1/audit/people/${oldRef}/accesses`, DPO);
    expect(byOldRef.status).toBe(200);
    expect(
      actions(byOldRef.body),
      'the search after the merge and the deletion, logged under the id merged into',
    ).toEqual(['person.search', 'person.search', 'retention-delete']);
    // The same entries as by identifiers, and then that request's own.
    const shown = byIdentifiers.body.entries as unknown[];
    expect((byOldRef.body.entries as unknown[]).slice(0, shown.length)).toEqual(shown);
  });
});
