import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkAfterImport } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender';
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };

/** The person id of the housing record tagged `tag` (in `gender`). */
async function personOfTag(h: ImportHarness, tag: string): Promise<string> {
  const rows = await h.store.db.selectFrom('source_record').select(['person_id', 'attributes']).execute();
  const row = rows.find((r) => (JSON.parse(r.attributes as string) as { gender: string }).gender === tag);
  return row!.person_id!;
}

async function send(h: ImportHarness, name: string, lines: string[]): Promise<void> {
  const outcome = await h.importFile(`la-housing/${DATASET}/${name}`, [HEADER, ...lines].join('\n'));
  expect(outcome.outcome).toBe('loaded');
  await linkAfterImport(h.linkDeps(), (outcome as { runId: string }).runId);
}

/**
 * KNOWN DEFECT, not yet fixed (found by linkage-properties.test.ts, 2026-12-02). An opt-out is
 * recorded for the person of a record known to one source only; the source's next snapshot sends
 * the record changed in a way the import does not carry the person id across (a twin row makes
 * the carry ambiguous, a corrected NHS number contradicts it, a corrected surname changes the
 * matching key: snapshot-writer.ts), so the new record gets a fresh person id at the next pass
 * and the opt-out stays on an id no record holds: the person's data is shared again.
 *
 * These tests are `it.fails`: each passes while the opt-out is lost, and fails once it is kept.
 * Whoever fixes the defect (carrying opt-outs, never consents, to every plausible successor:
 * fail closed) turns them into plain `it`.
 */
describe('an opt-out across a snapshot the import cannot follow the person through (known defect)', () => {
  let h: ImportHarness;
  let consents: StoreConsentRegister;
  beforeEach(async () => {
    h = await createImportHarness();
    consents = new StoreConsentRegister(h.store);
  });
  afterEach(async () => h.close());
  /** Records a national data opt-out for the person of the record tagged `tag`. */
  const optOut = async (tag: string) =>
    consents.record({
      subjectKey: await personOfTag(h, tag),
      kind: 'opt-out',
      purposeId: null,
      evidenceRef: 'nddo',
      by: dpo,
      at: new Date(),
    });
  const optedOut = async (tag: string) => consents.isOptedOut(await personOfTag(h, tag), new Date());

  it.fails('stays with the record when its twin rows make the carry ambiguous (shrunk counterexample)', async () => {
    const row = (tag: string, nhsNumber = '') => `Jonathan,Smith,2012-03-04,ME14 1XX,${nhsNumber},${tag}`;
    await send(h, 'a.csv', [row('t0'), row('t1'), row('t2')]);
    await optOut('t0');
    await send(h, 'b.csv', [row('t0', '9990020000'), row('t1'), row('t2')]);
    expect(await optedOut('t0')).toBe(true);
  });

  it.fails('stays with the record when its NHS number is corrected', async () => {
    const row = (nhsNumber: string) => `Jonathan,Smyth,2012-03-04,ME14 1XX,${nhsNumber},t1`;
    await send(h, 'a.csv', [row('9990009074')]);
    await optOut('t1');
    await send(h, 'b.csv', [row('9990020000')]);
    expect(await optedOut('t1')).toBe(true);
  });

  it.fails('stays with the record when its surname is corrected', async () => {
    await send(h, 'a.csv', ['Mary,Green,1980-05-06,ME15 2YY,,t0']);
    await optOut('t0');
    await send(h, 'b.csv', ['Mary,Greene,1980-05-06,ME15 2YY,,t0']);
    expect(await optedOut('t0')).toBe(true);
  });
});
