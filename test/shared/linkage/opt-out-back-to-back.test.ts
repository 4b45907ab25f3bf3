import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { nhs } from '../../support/linked-people.js';
import { withAttributes } from '../../../shared/store/record-attributes.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

/**
 * An opted-out person's records replaced snapshot after snapshot, several loaded back to back
 * with no linking pass between, across a key rotation, or while another party holds them
 * (opt-out-successors.ts, opt-out-kept-keys.ts): the opt-out must stay with them throughout, and
 * a withdrawal must end it and every key kept for it. No defect was found here; these pin
 * sequences the other opt-out tests do not run (a hunt for defects, from a DPO's point of view).
 */
describe('an opt-out through snapshots sent back to back', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  let files = 0;
  beforeEach(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());

  /** Loads a snapshot of the party's extract, then links it if `link`. */
  const send = async (lines: string[], link: boolean, party = 'la-housing') => {
    // The same bytes twice would be refused as a duplicate: each file ends in its own blank lines.
    const body = [HEADER, ...lines].join('\n') + '\n'.repeat(++files);
    const outcome = await h.importFile(`${party}/${DATASET}/f${files}.csv`, body);
    expect(outcome.outcome).toBe('loaded');
    if (link) await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
  };
  /** The person id of the record tagged `tag` (in `gender`). */
  const personOfTag = async (tag: string): Promise<string | null> => {
    const rows = await withAttributes(
      await h.store.db.selectFrom('source_record').select(['person_id', 'attributes']).execute(),
      h.store.db,
    );
    return rows.find((r) => r.attributes.gender === tag)!.person_id;
  };
  const optOut = async (tag: string) =>
    consents.record({
      subjectKey: (await personOfTag(tag))!,
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo',
      by: dpo,
      at: new Date(),
    });
  /** Whether the record is held under an opted-out person (a record with no person is shown to no one). */
  const optedOut = async (tag: string) => {
    const person = await personOfTag(tag);
    return person !== null && (await consents.isOptedOut(person, new Date()));
  };
  const keptRows = async () =>
    (await h.store.db.selectFrom('opt_out_kept_record').selectAll().execute()).length +
    (await h.store.db.selectFrom('opt_out_kept_identifier').selectAll().execute()).length;

  it('stays with a record whose NHS number is corrected twice before a linking pass', async () => {
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], true);
    await optOut('t0');
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(2)},t0`], false);
    expect(await optedOut('t0')).toBe(true);
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(3)},t0`], false);
    expect(await optedOut('t0')).toBe(true);
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(3)},t0`], true);
    expect(await optedOut('t0')).toBe(true);
  });

  it('stays when the NHS number changes and changes back, and its withdrawal leaves nothing kept', async () => {
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], true);
    const recorded = await optOut('t0');
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(2)},t0`], true);
    expect(await optedOut('t0')).toBe(true);
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], true);
    expect(await optedOut('t0')).toBe(true);
    expect(await keptRows()).toBeGreaterThan(0);
    await consents.withdraw(recorded.consentId, dpo, new Date());
    expect(await optedOut('t0')).toBe(false);
    expect(await keptRows()).toBe(0);
  });

  it('stays through a key rotation between two snapshots no pass has linked', async () => {
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], true);
    await optOut('t0');
    await send([`Mary,Greene,1980-05-06,ME15 2YY,${nhs(1)},t0`], false);
    expect(await optedOut('t0')).toBe(true);
    h.secrets.rotate('pseudonymisation-key');
    await send([`Mary,Greene,1980-05-06,ME15 2YY,${nhs(2)},t0`], false);
    expect(await optedOut('t0')).toBe(true);
    await send([`Mary,Greene,1980-05-06,ME15 2YY,${nhs(2)},t0`], true);
    expect(await optedOut('t0')).toBe(true);
  });

  it('stays with both parties’ records when each corrects the person in turn', async () => {
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], true);
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},c0`], true, 'la-childrens-social-care');
    expect(await personOfTag('c0')).toBe(await personOfTag('t0'));
    await optOut('t0');
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(2)},t0`], true);
    expect(await optedOut('t0')).toBe(true);
    expect(await optedOut('c0')).toBe(true);
    await send(['Mary,Greene,1980-05-06,ME15 2YY,,c0'], false, 'la-childrens-social-care');
    expect(await optedOut('c0')).toBe(true);
    expect(await optedOut('t0')).toBe(true);
  });

  it('stays with a record opted out under its carried id, replaced before any pass', async () => {
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], true);
    await send([`Mary,Green,1980-05-06,ME15 2YY,${nhs(1)},t0`], false);
    await optOut('t0');
    await send([`Mary,Greene,1980-05-06,,${nhs(2)},t0`], false);
    expect(await optedOut('t0')).toBe(true);
    await send([`Mary,Greene,1980-05-06,,${nhs(2)},t0`], true);
    expect(await optedOut('t0')).toBe(true);
  });

  it('reaches another party’s record by the NHS number only its successor held', async () => {
    await send(['Mary,Green,1980-05-06,ME15 2YY,,t0', 'Owen,Hart,1970-06-07,ME15 3DE,,t9'], true);
    await optOut('t0');
    await send([`Mary,Greene,1980-05-06,ME15 2YY,${nhs(2)},t0`, 'Owen,Hart,1970-06-07,ME15 3DE,,t9'], false);
    expect(await optedOut('t0')).toBe(true);
    await send(['Owen,Hart,1970-06-07,ME15 3DE,,t9'], true);
    await send([`Maria,Browne,1981-07-08,ME1 4XY,${nhs(2)},c0`], true, 'la-childrens-social-care');
    expect(await optedOut('c0')).toBe(true);
  });
});
