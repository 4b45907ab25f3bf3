import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { seedExtracts, type SeededExtract } from '../../../shared/synthetic/extracts/demo-seed.js';
import { AGREEMENTS_DIR, createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * The seed generator's extracts are what `npm start` loads: every one must import, whatever
 * agreement files the folder holds (agreements/README.md: a new one needs no change here).
 */
describe('seeded extracts', () => {
  let h: ImportHarness;
  let seeded: SeededExtract[];
  let outDir: string;

  beforeAll(async () => {
    h = await createImportHarness();
    outDir = mkdtempSync(join(tmpdir(), 'lintel-seed-'));
    seeded = await seedExtracts({
      agreements: loadAgreements(AGREEMENTS_DIR),
      outDir,
      blobs: h.blobs,
      container: h.containers.incoming,
      size: 400,
      asOf: '2025-03-31',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('writes one extract for every source party of every dataset in the agreements', () => {
    const agreements = loadAgreements(AGREEMENTS_DIR);
    const expected = agreements
      .all()
      .flatMap(({ agreement }) =>
        agreement.datasets.flatMap((d) => d.sources.map((party) => `${party}/${d.id}/extract-2025-03-31.csv`)),
      );
    expect(seeded.map((s) => s.blobName).sort()).toEqual(expected.sort());
    // 120 people each, but for a dataset whose source cannot hold a person without an NHS number,
    // UPN or NI number (the field is required): the people without one are left out of it.
    const identifierRequired = new Set(
      agreements
        .all()
        .flatMap(({ agreement }) => agreement.datasets)
        .filter((d) => d.fields.some((f) => f.required && ['nhs-number', 'upn', 'ni-number'].includes(f.type)))
        .map((d) => d.id),
    );
    for (const s of seeded) {
      if (identifierRequired.has(s.blobName.split('/')[1]!)) expect(s.rows, s.blobName).toBeLessThanOrEqual(120);
      else expect(s.rows, s.blobName).toBe(120);
      expect(s.rows, s.blobName).toBeGreaterThan(0);
    }
  });

  it('imports every extract, with only the bad rows its error profile puts there', async () => {
    for (const extract of seeded) {
      const outcome = await h.run(extract.blobName);
      expect(outcome, extract.blobName).toMatchObject({ outcome: 'loaded', rows: extract.rows });
      if (outcome.outcome === 'loaded') expect(outcome.rejected, extract.blobName).toBeLessThanOrEqual(6);
    }
  });

  it('writes the truth of every row beside the extracts', () => {
    const truth = readFileSync(join(outDir, 'truth.csv'), 'utf8').trim().split('\n').slice(1);
    expect(truth).toHaveLength(seeded.reduce((n, s) => n + s.rows, 0));
    expect(truth[0]).toMatch(/^[a-z-]+\/[a-z-]+\/extract-2025-03-31\.csv,2,P\d+,\d+$/);
  });
});

/**
 * agreements/README.md tells whoever adds an agreement that `npm run seed` (and a fresh
 * `npm start`) gives its datasets demo extracts too. A new agreement names its fields as its
 * own document does, not as the three signed ones happen to: found by following the README,
 * when every row of the new dataset's extract left its names empty and the file was rejected.
 */
describe('seeded extracts of an agreement added by the README', () => {
  const ADDED = `
id: tenancy-sustainment-pilot
title: Tenancy sustainment pilot
version: '1.0.0'
source: { file: pilot.pdf, title: Tenancy sustainment pilot DSA, documentVersion: '1.0' }
effectiveDate: 2025-01-01
review: { due: 2027-06-30, cycle: P1Y }
controllers:
  - { name: Orbit Housing, party: orbit-housing, role: controller }
parties:
  - { id: orbit-housing, name: Orbit Housing, kind: registered-provider, roles: [tenancy-officer, dpo] }
  - { id: corby-borough-council, name: Corby Borough Council, kind: council, roles: [senior-officer, dpo] }
purposes:
  - id: orbit-tenancy-sustainment
    description: Preventing evictions of tenants at risk.
    source: s.2
    lawfulBasis: { article6: ['6(1)(e)'] }
    consentRequired: false
    nationalDataOptOutApplies: false
datasets:
  - id: orbit-tenancies-at-risk
    title: Tenancies at risk
    source: s.4
    sources: [orbit-housing]
    fields:
      - { name: tenantNiNumber, type: ni-number, classification: matching-only, required: true, description: NI number. }
      - { name: surname, type: string, classification: display, required: true, description: Surname. }
      - { name: forename, type: string, classification: display, required: true, description: Forename. }
      - { name: birthDate, type: date, classification: display, required: true, description: Date of birth. }
      - { name: tenancyStartDate, type: date, classification: display, required: true, description: Tenancy start. }
      - { name: propertyPostcode, type: postcode, classification: display, required: true, description: Postcode. }
      - { name: tenancyReference, type: string, classification: display, required: true, description: Tenancy ref. }
      - { name: rentArrears, type: flag, classification: display, required: true, description: In arrears. }
      - { name: arrearsShare, type: percentage, classification: display, required: true, description: Arrears share. }
grants:
  - purpose: orbit-tenancy-sustainment
    dataset: orbit-tenancies-at-risk
    roles: [senior-officer]
    parties: [corby-borough-council]
    actions: [lookup, search]
    source: s.5
    fields: [surname, forename, birthDate, tenancyStartDate, rentArrears, arrearsShare]
matching:
  - { tier: 1, name: NI number, method: deterministic, keys: [[{ field: tenantNiNumber }]], confirmation: automatic, source: s.6 }
  - tier: 2
    name: Date of birth, surname and first three letters of forename
    method: deterministic
    keys: [[{ field: birthDate }, { field: surname }, { field: forename, prefix: 3 }]]
    confirmation: automatic
    source: s.6
retention:
  - { dataset: orbit-tenancies-at-risk, scope: joint-system, holder: Orbit Housing, period: P2Y, rule: Two years., source: s.7 }
audit:
  roles: [dpo]
`;
  const blobName = 'orbit-housing/orbit-tenancies-at-risk/extract-2025-03-31.csv';
  let h: ImportHarness;
  let extract: SeededExtract;

  beforeAll(async () => {
    const agreementsDir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
    for (const file of readdirSync(AGREEMENTS_DIR).filter((f) => f.endsWith('.yaml')))
      copyFileSync(join(AGREEMENTS_DIR, file), join(agreementsDir, file));
    writeFileSync(join(agreementsDir, 'tenancy-sustainment-pilot.yaml'), ADDED);
    h = await createImportHarness({ agreementsDir });
    const seeded = await seedExtracts({
      agreements: loadAgreements(agreementsDir),
      outDir: mkdtempSync(join(tmpdir(), 'lintel-seed-')),
      blobs: h.blobs,
      container: h.containers.incoming,
      size: 400,
      asOf: '2025-03-31',
    });
    extract = seeded.find((s) => s.blobName === blobName)!;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('imports the new dataset’s extract, its names and date of birth read as the import reads them', async () => {
    expect(extract).toBeDefined();
    const outcome = await h.run(blobName);
    expect(outcome).toMatchObject({ outcome: 'loaded', rows: extract.rows });
    expect(extract.rows).toBeGreaterThan(60);
    if (outcome.outcome === 'loaded') expect(outcome.rejected).toBeLessThanOrEqual(6);
    const records = await storedRecords(h.store, 'orbit-housing', 'orbit-tenancies-at-risk');
    const without = (column: 'family_name' | 'given_name' | 'date_of_birth') =>
      records.filter((r) => !r[column]).length;
    expect([without('family_name'), without('given_name'), without('date_of_birth')]).toEqual([0, 0, 0]);
    // Another date of the dataset is not the person's date of birth written again.
    const sameAsBirth = records.filter((r) => r.attributes.tenancyStartDate === r.attributes.birthDate).length;
    expect(sameAsBirth).toBeLessThan(records.length / 10);
  });
});

/**
 * `npm run seed` dates its extracts by the day it is in the UK, as partners date theirs: by the
 * UTC day, a seed run between midnight and one in the morning of a summer day named yesterday.
 */
describe('seeded extracts dated by the clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('names the UK day in the first hour of a summer day, not the UTC day before it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // 00:30 on 2 July in the UK (BST), 23:30 on 1 July UTC.
    vi.setSystemTime(new Date('2026-07-01T23:30:00Z'));
    const seeded = await seedExtracts({
      agreements: loadAgreements(AGREEMENTS_DIR),
      outDir: mkdtempSync(join(tmpdir(), 'lintel-seed-')),
      size: 20,
    });
    expect(seeded.length).toBeGreaterThan(0);
    for (const s of seeded) expect(s.blobName, s.blobName).toMatch(/\/extract-2026-07-02\.csv$/);
  });
});
