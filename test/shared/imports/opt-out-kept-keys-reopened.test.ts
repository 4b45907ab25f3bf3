import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { nhs, personOf } from '../../support/linked-people.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };
const careDpo = { partyId: 'la-adult-social-care', clientId: 'care-dpo-client' };

/**
 * Kept opt-out keys (shared/imports/opt-out-kept-keys.ts) when a record id comes back: a record's
 * id is its run and row (record-ids.ts), and a run is opened again when its bytes are sent as a
 * newer snapshot, so the same record can leave twice.
 */
describe('keys kept of a record that leaves again under a reopened run', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeEach(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());

  const content = (lines: string[]) => [HEADER, ...lines].join('\n');
  async function send(name: string, body: string) {
    const outcome = await h.importFile(`la-housing/${DATASET}/${name}`, body);
    if (outcome.outcome === 'loaded') await linkAfterImport(h.linkDeps(), outcome.runId);
    return outcome;
  }
  const optOut = (subjectKey: string, by = dpo) =>
    consents.record({ subjectKey, kind: 'opt-out', purposeId: null, evidenceRef: 'evidence', by, at: new Date() });

  it('loads the extract that drops her a second time, and keeps her keys under the id that now holds her opt-outs', async () => {
    const withMary = content([`Mary,Green,1980-05-06,ME15 2YY,${nhs(6801)}`, 'Susan,White,1960-09-10,ME18 5BB,']);
    const withoutMary = content(['Susan,White,1960-09-10,ME18 5BB,']);
    const first = await send('extract-20261101.csv', withMary);
    expect(first.outcome).toBe('loaded');
    const firstId = await personOf(h, 'la-housing', 'MARY');
    await optOut(firstId);
    expect((await send('extract-20261102.csv', withoutMary)).outcome).toBe('loaded');
    // Her case reopens: Housing's system writes the very file of the first day again, which
    // opens that run again (the same record ids), and the kept keys give her record the opt-out.
    const again = await send('extract-20261103.csv', withMary);
    expect(again).toMatchObject({ outcome: 'loaded', runId: (first as { runId: string }).runId });
    const secondId = await personOf(h, 'la-housing', 'MARY');
    expect(secondId).not.toBe(firstId);
    expect(await consents.isOptedOut(secondId, new Date())).toBe(true);
    // Adult social care records her objection too, for the person as now held.
    expect((await optOut(secondId, careDpo)).alreadyInForce).not.toBe(true);

    // Her case closes again: the next extract must load, not fail on every delivery.
    const closed = await send(
      'extract-20261104.csv',
      content(['Susan,White,1960-09-10,ME18 5BB,', 'Ann,Jones,1990-01-02,,']),
    );
    expect(closed, JSON.stringify(closed)).toMatchObject({ outcome: 'loaded' });
    const keptPeople = await h.store.db.selectFrom('opt_out_kept_record').select('person_id').execute();
    expect(new Set(keptPeople.map((r) => r.person_id))).toEqual(new Set([firstId, secondId]));
  });
});
