import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord } from '../support/records.js';
import { answerShape } from '../support/consent-answers.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Any ISA party's DPO records a national data opt-out by the names and date of birth (or
 * postcode) it was given, with no identifier. Found by a review: the answer was 201 for someone
 * held, by any party (here only by children's social care), and 404 `no-match` for nobody, so the
 * school's DPO learnt whether the partnership holds someone by recording and withdrawing
 * opt-outs. With identifiers that was answered alike already (opt-out-not-held.test.ts); by
 * names alone it is now too: recorded for nobody held, answered 200 when recorded again, and
 * withdrawn as any other.
 */
describe('an opt-out by names alone for a person the partnership does not hold', () => {
  let t: TestHost;
  const dataset = 'multiple-disadvantage-indicators';
  const DPO = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };
  const person = (givenName: string, dateOfBirth: string, postcode: string) =>
    insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: dataset,
      givenName,
      familyName: 'Quarrie',
      dateOfBirth,
      postcode,
      attributes: {},
    });

  const subjects = {
    heldByDate: { givenName: 'Imogen', familyName: 'Quarrie', dateOfBirth: '2013-01-01' },
    notHeldByDate: { givenName: 'Imogen', familyName: 'Quarrie', dateOfBirth: '2013-01-02' },
    heldByPostcode: { givenName: 'Jude', familyName: 'Quarrie', postcode: 'ME14 2QQ' },
    notHeldByPostcode: { givenName: 'Jude', familyName: 'Quarrie', postcode: 'ME14 2QR' },
    // Twins held under one name and date of birth: several at the names step.
    twoHeld: { givenName: 'Kit', familyName: 'Quarrie', dateOfBirth: '2013-03-03' },
    // Leon held: his opt-out goes to whoever the names reach, not only to a Leo.
    heldFirstThreeLetters: { givenName: 'Leo', familyName: 'Quarrie', dateOfBirth: '2013-04-04' },
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await person('Imogen', '2013-01-01', 'ME14 2AA');
    await person('Jude', '2013-02-02', 'ME14 2QQ');
    await person('Kit', '2013-03-03', 'ME14 2AB');
    await person('Kitty', '2013-03-03', 'ME14 2AB');
    await person('Leon', '2013-04-04', 'ME14 2AC');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const optOut = (subject: object) =>
    callApi(t, '/v1/consents', { ...DPO, body: { kind: 'opt-out', subject, evidenceRef: 'DPO/NDOO/8' } });
  const withdraw = (consentId: string) => callApi(t, `/v1/consents/${consentId}`, { ...DPO, method: 'DELETE' });
  const consentIds: Record<string, string> = {};

  it('answers alike for names of a person held and of nobody, with one access-log entry each, twice', async () => {
    const answers: Record<string, Awaited<ReturnType<typeof optOut>>> = {};
    for (const [name, subject] of Object.entries(subjects)) {
      const before = await t.accessLogSize();
      answers[name] = await optOut(subject);
      expect(await t.accessLogSize(), `${name}: one access-log entry`).toBe(before + 1);
    }
    expect(
      Object.fromEntries(Object.entries(answers).map(([name, a]) => [name, a.status])),
      'names of nobody held were told apart from those of a person held',
    ).toEqual(Object.fromEntries(Object.keys(subjects).map((name) => [name, 201])));
    for (const [name, a] of Object.entries(answers)) {
      expect(answerShape(a.body), name).toEqual(answerShape(answers.heldByDate!.body));
      consentIds[name] = a.body.consentId as string;
    }
    for (const [name, subject] of Object.entries(subjects)) {
      const before = await t.accessLogSize();
      const again = await optOut(subject);
      expect(await t.accessLogSize(), `${name} again: one access-log entry`).toBe(before + 1);
      expect(again.status, `${name} recorded again`).toBe(200);
      expect(again.body.consentId, name).toBe(consentIds[name]);
    }
  });

  it('keeps no name, date of birth or postcode of the person not held, only keyed hashes', async () => {
    const { db } = t.host.services.store;
    const kept = await db.selectFrom('opt_out_kept_identifier').selectAll().execute();
    expect(new Set(kept.map((k) => k.kind))).toEqual(new Set(['dob-name', 'postcode-name']));
    for (const k of kept) expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await db.selectFrom('opt_out_kept_record').selectAll().execute()).toEqual([]);
    const stored = JSON.stringify([kept, await db.selectFrom('consent_event').selectAll().execute()]);
    for (const value of ['QUARRIE', 'Quarrie', 'IMOGEN', 'Imogen', 'JUDE', '2013-01-02', 'ME14 2QR'])
      expect(stored).not.toContain(value);
  });

  it('is withdrawn alike for a person held and nobody, and recorded anew after', async () => {
    for (const [name, consentId] of Object.entries(consentIds)) {
      const before = await t.accessLogSize();
      const withdrawn = await withdraw(consentId);
      expect(await t.accessLogSize(), `${name} withdrawn: one access-log entry`).toBe(before + 1);
      expect(withdrawn.status, `${name}: ${withdrawn.text}`).toBe(200);
      expect(withdrawn.body.withdrawnAt, name).not.toBeNull();
    }
    expect(await t.host.services.store.db.selectFrom('opt_out_kept_identifier').selectAll().execute()).toEqual([]);
    const anew = [await optOut(subjects.heldByDate), await optOut(subjects.notHeldByDate)];
    expect(anew.map((a) => a.status)).toEqual([201, 201]);
  });
});
