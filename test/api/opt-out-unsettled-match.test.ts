import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nhs } from '../support/linked-people.js';
import { insertRecord, type TestRecord } from '../support/records.js';
import { answerShape } from '../support/consent-answers.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Any ISA party's DPO records a national data opt-out by the identifiers it was given. Found by a
 * defect hunt: an opt-out for someone not held was answered as for someone held
 * (opt-out-not-held.test.ts), yet identifiers that reached two people answered 409
 * `ambiguous-match`, and ones the person found contradicted 404 `no-match`, so a DPO of a party
 * with no lookup rights still learnt that social care holds someone under an NHS number. An
 * opt-out holds data back: where the match is unsettled it fails closed, for everyone matched
 * (or, where the identifiers reach nobody, by their keyed hashes), answered as any other.
 */
describe('an opt-out whose identifiers do not settle on one person', () => {
  let t: TestHost;
  const dataset = 'multiple-disadvantage-indicators';
  const DPO = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const person = (partyId: string, givenName: string, dateOfBirth: string, identifiers: TestRecord['identifiers']) =>
    insertRecord(t.host.services, {
      partyId,
      datasetId: dataset,
      givenName,
      familyName: 'Vale',
      dateOfBirth,
      identifiers,
      attributes: {},
    });
  const ids: Record<string, string> = {};

  const subjects = {
    held: { nhsNumber: nhs(7410) },
    notHeld: { nhsNumber: nhs(7490) },
    // Two people held under one NHS number: several at the surest step.
    sharedNhs: { nhsNumber: nhs(7420) },
    // The NHS number one child's, the system id another's: contradicted.
    nhsAndOthersSystemId: { nhsNumber: nhs(7430), systemId: { system: 'education', id: 'ED-7404' } },
    // The NHS number one child's, the names and date of birth another's: found, and someone else too.
    nhsAndOthersNames: { nhsNumber: nhs(7450), givenName: 'Quinn', familyName: 'Vale', dateOfBirth: '2012-05-05' },
    // An NHS number nobody holds, with the names of someone held under another: contradicted.
    unheldNhsAndNames: { nhsNumber: nhs(7470), givenName: 'Rosa', familyName: 'Vale', dateOfBirth: '2012-06-06' },
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    ids.held = (await person('la-housing', 'Hana', '2012-01-01', { nhs: nhs(7410) })).personId;
    ids.a1 = (await person('la-housing', 'Abel', '2012-02-02', { nhs: nhs(7420) })).personId;
    ids.a2 = (await person('la-childrens-social-care', 'Ada', '2012-02-03', { nhs: nhs(7420) })).personId;
    ids.x = (await person('la-childrens-social-care', 'Xena', '2012-03-03', { nhs: nhs(7430) })).personId;
    ids.y = (await person('la-education', 'Yuri', '2012-04-04', { 'system-id:education': 'ED-7404' })).personId;
    ids.p = (await person('la-childrens-social-care', 'Pia', '2012-05-01', { nhs: nhs(7450) })).personId;
    ids.q = (await person('la-housing', 'Quinn', '2012-05-05', {})).personId;
    ids.r = (await person('la-childrens-social-care', 'Rosa', '2012-06-06', { nhs: nhs(7460) })).personId;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const optOut = (subject: object) =>
    callApi(t, '/v1/consents', { ...DPO, body: { kind: 'opt-out', subject, evidenceRef: 'DPO/NDOO/7' } });
  const consentIds: Record<string, string> = {};

  it('answers alike for a person held, one not held, and identifiers that reach several or contradict, twice', async () => {
    const answers: Record<string, Awaited<ReturnType<typeof optOut>>> = {};
    for (const [name, subject] of Object.entries(subjects)) {
      const before = await t.accessLogSize();
      answers[name] = await optOut(subject);
      expect(await t.accessLogSize(), `${name}: one access-log entry`).toBe(before + 1);
    }
    const statuses = Object.fromEntries(Object.entries(answers).map(([name, a]) => [name, a.status]));
    expect(statuses, 'an unsettled match was told apart from a person held').toEqual(
      Object.fromEntries(Object.keys(subjects).map((name) => [name, 201])),
    );
    for (const [name, a] of Object.entries(answers)) {
      expect(answerShape(a.body), name).toEqual(answerShape(answers.held!.body));
      consentIds[name] = a.body.consentId as string;
    }
    for (const [name, subject] of Object.entries(subjects)) {
      const again = await optOut(subject);
      expect(again.status, `${name} recorded again`).toBe(200);
      expect(again.body.consentId, name).toBe(consentIds[name]);
    }
    const entries = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['reason_code', 'subject_ref'])
      .where('action', '=', 'consent.record')
      .execute();
    expect(new Set(entries.map((e) => e.reason_code))).toEqual(
      new Set(['opt-out-recorded', 'opt-out-already-recorded']),
    );
    const given = [...Object.values(subjects).flatMap((s) => Object.values(s)), 'ED-7404', 'VALE', 'Vale'];
    for (const value of given.filter((v) => typeof v === 'string'))
      expect(JSON.stringify(entries)).not.toContain(value);
  });

  it('leaves out everyone the identifiers reach, and one withdrawal ends it for them all', async () => {
    const optedOut = () => t.host.services.consents.subjectsWith('opt-out', null);
    const everyone = ['held', 'a1', 'a2', 'x', 'y', 'p', 'q'];
    const before = await optedOut();
    expect(
      Object.fromEntries(everyone.map((name) => [name, before.has(ids[name]!)])),
      'a person an unsettled opt-out reached is still in the curated output',
    ).toEqual(Object.fromEntries(everyone.map((name) => [name, true])));

    for (const name of ['sharedNhs', 'nhsAndOthersSystemId', 'nhsAndOthersNames']) {
      const withdrawn = await callApi(t, `/v1/consents/${consentIds[name]!}`, { ...DPO, method: 'DELETE' });
      expect(withdrawn.status, withdrawn.text).toBe(200);
    }
    const after = await optedOut();
    expect(Object.fromEntries(everyone.map((name) => [name, after.has(ids[name]!)]))).toEqual({
      ...Object.fromEntries(everyone.map((name) => [name, false])),
      held: true,
    });
  });
});
