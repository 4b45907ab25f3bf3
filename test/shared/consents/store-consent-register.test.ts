import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { decide } from '../../../shared/policy/decide.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { AGREEMENTS_DIR } from '../agreements/agreement-files.js';
import { sourceRecordRow } from '../../support/records.js';

const agreements = loadAgreements(AGREEMENTS_DIR, { now: new Date('2026-03-01') });
const T = new Date('2026-03-02T09:00:00.000Z');
const ms = (n: number) => new Date(T.getTime() + n);
const researcherDpo = { partyId: 'icf-research', clientId: 'instance-a' };
const otherInstance = { partyId: 'icf-research', clientId: 'instance-b' };

/** A linked record of Housing's holding the person id, as the linker leaves it. */
const housingRecordOf = (personId: string) => ({
  ...sourceRecordRow(`record-of-${personId}`, personId, { datasetId: 'multiple-disadvantage-indicators' }),
  party_id: 'la-housing',
});

/**
 * Several Functions instances write to one store, each with its own clock. The register must
 * not let a clock a few milliseconds off decide whether a withdrawal or an opt-out counts.
 */
describe('the consent register across instances whose clocks differ', () => {
  let store: Store;
  let register: StoreConsentRegister;

  /** A linked record holding the person id, as the linker leaves it. */
  const person = async (personId: string) => {
    await store.db.insertInto('source_record').values(housingRecordOf(personId)).execute();
    return personId;
  };

  const researchSearch = (subjectKey: string, at: Date) =>
    decide(
      {
        caller: { partyId: 'icf-research', clientId: 'c', roles: ['researcher'] },
        purpose: 'research-evaluation',
        datasets: [],
        subject: { subjectKey },
        action: 'search',
      },
      { agreements, consents: register, now: () => at },
    );
  const planningExport = (subjectKey: string, at: Date) =>
    decide(
      {
        caller: { partyId: 'la-housing', clientId: 'c', roles: ['analyst'] },
        purpose: 'service-planning',
        datasets: [],
        subject: { subjectKey },
        action: 'export',
      },
      { agreements, consents: register, now: () => at },
    );

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-consents-')), 'lintel.db') });
    await migrateToLatest(store);
    register = new StoreConsentRegister(store);
  });
  afterEach(async () => store.close());

  it('ends a consent withdrawn by an instance whose clock is 1 ms behind the one that recorded it', async () => {
    const subject = await person('p-1');
    const consent = await register.record({
      subjectKey: subject,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-1',
      by: researcherDpo,
      at: T,
    });
    expect(await register.currentConsent(subject, 'research-evaluation', ms(500))).toBe(true);
    expect(await researchSearch(subject, ms(500))).toMatchObject({ allow: true, subjectConditions: 'checked' });

    const withdrawn = await register.withdraw(consent.consentId, otherInstance, ms(-1));
    expect(withdrawn?.withdrawnAt).toBe(ms(-1).toISOString());
    expect((await register.find(consent.consentId))?.withdrawnAt).toBe(ms(-1).toISOString());
    for (const at of [ms(-1), T, ms(1), ms(60_000)]) {
      expect(await register.currentConsent(subject, 'research-evaluation', at)).toBe(false);
      expect(await researchSearch(subject, at)).toMatchObject({ allow: false, reason: 'consent-required' });
    }
    // A second withdrawal changes nothing.
    expect((await register.withdraw(consent.consentId, researcherDpo, ms(5)))?.withdrawnAt).toBe(ms(-1).toISOString());
  });

  it('honours a withdrawal stamped a little after the moment a lagging instance asks', async () => {
    const subject = await person('p-2');
    const consent = await register.record({
      subjectKey: subject,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-2',
      by: researcherDpo,
      at: T,
    });
    // Written by an instance 20 ms ahead; read by one still at T + 5 ms.
    await register.withdraw(consent.consentId, otherInstance, ms(20));
    expect(await register.currentConsent(subject, 'research-evaluation', ms(5))).toBe(false);
    expect(await researchSearch(subject, ms(5))).toMatchObject({ allow: false, reason: 'consent-required' });
  });

  it('ends an opt-out withdrawn by an instance whose clock is behind', async () => {
    const subject = await person('p-3');
    const optOut = await register.record({
      subjectKey: subject,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-3',
      by: researcherDpo,
      at: T,
    });
    expect(await register.isOptedOut(subject, ms(1))).toBe(true);
    expect(await planningExport(subject, ms(1))).toMatchObject({ allow: false, reason: 'opted-out' });

    await register.withdraw(optOut.consentId, otherInstance, ms(-1));
    expect(await register.isOptedOut(subject, ms(1))).toBe(false);
    expect(await planningExport(subject, ms(1))).toMatchObject({ allow: true, subjectConditions: 'checked' });
  });

  it('applies an opt-out at once, even one stamped by an instance whose clock is ahead', async () => {
    const subject = await person('p-4');
    await register.record({
      subjectKey: subject,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo-4',
      by: researcherDpo,
      at: ms(30),
    });
    expect(await register.isOptedOut(subject, T)).toBe(true);
    expect(await planningExport(subject, T)).toMatchObject({ allow: false, reason: 'opted-out' });
  });

  it('keeps one subject’s withdrawal from touching another’s consent', async () => {
    const a = await person('p-5');
    const b = await person('p-6');
    const ofA = await register.record({
      subjectKey: a,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-5',
      by: researcherDpo,
      at: T,
    });
    await register.record({
      subjectKey: b,
      kind: 'consent',
      purposeId: 'research-evaluation',
      evidenceRef: 'form-6',
      by: researcherDpo,
      at: T,
    });
    await register.withdraw(ofA.consentId, otherInstance, ms(-3));
    expect(await register.currentConsent(a, 'research-evaluation', T)).toBe(false);
    expect(await register.currentConsent(b, 'research-evaluation', T)).toBe(true);
  });

  it('refuses to record against a person id no record holds any more (re-linked since the lookup)', async () => {
    await expect(
      register.record({
        subjectKey: 'merged-away',
        kind: 'opt-out',
        purposeId: null,
        evidenceRef: 'nddo-7',
        by: researcherDpo,
        at: T,
      }),
    ).rejects.toThrow(/no longer/);
    const rows = await store.db.selectFrom('consent_event').selectAll().execute();
    expect(rows).toEqual([]);
  });
});

describe('an opt-out recorded for many people on the store (SQLite)', () => {
  let store: Store;
  let register: StoreConsentRegister;

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-consents-')), 'lintel.db') });
    await migrateToLatest(store);
    register = new StoreConsentRegister(store);
  });
  afterEach(async () => store.close());

  it('holds it for each of 250 people matched and the kept-only id, answers it again, and ends it for all with one withdrawal', async () => {
    // SQL Server takes ten parameters an event, 2,100 a statement, so it is written in several
    // statements there (sql-server-statements.test.ts); here every person holds it all the same.
    const people = Array.from({ length: 250 }, (_, n) => `person-${String(n).padStart(3, '0')}`);
    await store.db
      .insertInto('source_record')
      .values(people.map((personId, n) => ({ ...housingRecordOf(personId), row_number: n + 1 })))
      .execute();
    const hash = 'a'.repeat(64);
    const input = {
      subjectKeys: people,
      keep: {
        personId: 'kept-only',
        keys: [{ datasetId: 'multiple-disadvantage-indicators', kind: 'upn', hash, keyVersion: 'v1', hashes: [hash] }],
      },
      evidenceRef: 'nddo-250',
      by: researcherDpo,
      at: T,
    };
    const recorded = await register.recordForEach(input);
    expect(recorded.alreadyInForce).toBe(false);
    const everyone = [...people, 'kept-only'];
    const optedOut = async () =>
      (await Promise.all(everyone.map((p) => register.isOptedOut(p, T)))).filter((out) => out).length;
    expect(await optedOut()).toBe(251);
    expect([...(await register.find(recorded.consentId))!.subjectKeys].sort()).toEqual(everyone.sort());

    const again = await register.recordForEach({ ...input, keep: { ...input.keep, personId: 'another-kept-only' } });
    expect(again).toMatchObject({ consentId: recorded.consentId, alreadyInForce: true });

    expect(await register.withdraw(recorded.consentId, researcherDpo, ms(1))).toMatchObject({ withdrawnNow: true });
    expect(await optedOut()).toBe(0);
  });
});
