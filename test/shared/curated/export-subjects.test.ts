import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { COUNTS_FILE, exportCurated, MANIFEST_FILE } from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { AGREEMENTS_DIR, createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const FOLDER = `social-housing-providers/service-planning/${DATASET}/`;
const PEOPLE = 40;
/**
 * The provider's tenants among the 40 in temporary accommodation: enough that, with any noise,
 * the people its extract and Housing's hold records of are published, and both are named.
 */
const TENANTS = 14;
const family = (i: number) =>
  `Family${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;
const HOUSING = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender,inTemporaryAccommodation',
  ...Array.from({ length: PEOPLE }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), i % 2 ? 'Female' : 'Male', 'Y'].join(','),
  ),
];
const PROVIDER = [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
  ...Array.from({ length: TENANTS }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), 'Y'].join(','),
  ),
];
/** Education's pupils: none of them is anyone Housing or the provider holds. */
const EDUCATION = [
  'firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp',
  ...Array.from({ length: 15 }, (_, i) =>
    ['Robin', `Pupil${family(i)}`, '2013-05-06', 'ME2 2ZZ', `ED-${900 + i}`, 'N'].join(','),
  ),
];

/**
 * The ISA's planning export grant given instead to the social housing providers, for "their
 * tenants" only (`subjects: with-caller-record`, as their lookup grant says).
 */
function agreementsWithProviderExport() {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
  cpSync(AGREEMENTS_DIR, dir, { recursive: true });
  const file = join(dir, 'social-care-education-housing.yaml');
  const text = readFileSync(file, 'utf8');
  const from = '    roles: [analyst]\n    parties: [la-housing]\n    actions: [export]\n';
  expect(text.split(from)).toHaveLength(2);
  writeFileSync(
    file,
    text.replace(
      from,
      '    roles: [rp-tenancy-officer]\n    parties: [social-housing-providers]\n    actions: [export]\n    subjects: with-caller-record\n',
    ),
  );
  return loadAgreements(dir);
}

/** The export to the provider under {@link agreementsWithProviderExport}: its one target's summary, written. */
async function exportToProvider(h: ImportHarness, container: string) {
  const [summary] = (
    await exportCurated(
      h.exportDeps(container, {
        agreements: agreementsWithProviderExport(),
        now: () => new Date('2027-01-01T06:00:00.000Z'),
      }),
    )
  ).summaries;
  expect(summary).toMatchObject({ partyId: 'social-housing-providers', outcome: 'written' });
  return summary!;
}

/** A file of the provider's `latest/` release (or another recipient's folder), as text. */
async function latestFile(h: ImportHarness, container: string, name: string, folder = FOLDER): Promise<string> {
  const blob = h.blobs.getContainerClient(container).getBlobClient(`${folder}latest/${name}`);
  return (await blob.downloadToBuffer()).toString('utf8');
}

describe('a planning export granted for the recipient’s own subjects only', () => {
  let h: ImportHarness;
  let container: string;

  beforeAll(async () => {
    h = await createImportHarness();
    container = await h.exportContainer();
    await importEach(h, [
      ['la-housing', HOUSING],
      ['social-housing-providers', PROVIDER],
      ['la-education', EDUCATION],
    ]);
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(() => h?.close());

  it('counts only the people the recipient’s own extract holds, not everyone in the joint system', async () => {
    const summary = await exportToProvider(h, container);
    // The provider may be told about its 14 tenants, not about the 28 other households in
    // temporary accommodation it has no relationship with.
    expect(summary.peopleCounted).toBe(TENANTS);
    const all = (await latestFile(h, container, COUNTS_FILE))
      .split('\r\n')
      .find((line) => line.includes(',all people,all,'))!
      .split(',')[4]!;
    expect(all === '' || Math.abs(Number(all) - TENANTS) <= 6).toBe(true);
    const manifest = JSON.parse(await latestFile(h, container, MANIFEST_FILE)) as { method: { counts: string } };
    expect(manifest.method.counts).toMatch(/recipient's own extract/);
  });

  it('names in its manifest only the extracts that hold a record of someone counted', async () => {
    await exportToProvider(h, container);
    const manifest = JSON.parse(await latestFile(h, container, MANIFEST_FILE)) as {
      extractsAsOf: Record<string, string>;
    };
    // The provider's own extract, and Housing's, which holds records of its tenants; not
    // Education's, none of whose pupils is one: the counts took nothing from it, and when it was
    // sent is not the provider's to know.
    expect(Object.keys(manifest.extractsAsOf)).toEqual(['la-housing', 'social-housing-providers']);
  });
});

describe('the manifest of a planning export granted for the recipient’s own subjects only', () => {
  let h: ImportHarness;
  let container: string;

  beforeAll(async () => {
    h = await createImportHarness();
    container = await h.exportContainer();
    // No linking pass yet: every record of both extracts awaits linkage.
    await importEach(h, [
      ['la-housing', HOUSING],
      ['social-housing-providers', PROVIDER],
    ]);
  });
  afterAll(() => h?.close());

  it('says how many of the recipient’s own records await linkage, not how many every source holds', async () => {
    const summary = await exportToProvider(h, container);
    const manifest = JSON.parse(await latestFile(h, container, MANIFEST_FILE)) as { recordsAwaitingLinkage: unknown };
    // The provider's 14 records wait (published rounded, as 15), not Housing's 40 as well: the
    // counts beside the manifest are of the provider's tenants, and Housing's other households
    // are none of its business.
    expect(manifest.recordsAwaitingLinkage).toBe(15);
    expect(summary.recordsAwaitingLinkage).toBe(TENANTS);
  });
});

describe('the manifest of a planning export granted for everyone the joint system may hold', () => {
  let h: ImportHarness;
  let container: string;
  /** Housing's households no longer in temporary accommodation: the joint system may not hold them. */
  const MOVED_ON = 10;

  beforeAll(async () => {
    h = await createImportHarness();
    container = await h.exportContainer();
    await importEach(h, [
      [
        'la-housing',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender,inTemporaryAccommodation',
          ...Array.from({ length: PEOPLE + MOVED_ON }, (_, i) =>
            ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), 'Female', i < PEOPLE ? 'Y' : 'N'].join(','),
          ),
        ],
      ],
      // Social care knows only the households Housing has moved on: none of them is counted.
      [
        'la-childrens-social-care',
        [
          'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
          ...Array.from({ length: MOVED_ON }, (_, j) => {
            const i = PEOPLE + j;
            return ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), `SC-${i}`, 'Y'].join(',');
          }),
        ],
      ],
      ['social-housing-providers', PROVIDER],
    ]);
    await linkPendingRecords(h.linkDeps());
  });
  afterAll(() => h?.close());

  it('names only the extracts that hold a record of someone counted', async () => {
    const [summary] = (await exportCurated(h.exportDeps(container))).summaries;
    expect(summary).toMatchObject({ partyId: 'la-housing', outcome: 'written', peopleCounted: PEOPLE });
    const manifest = JSON.parse(
      await latestFile(h, container, MANIFEST_FILE, `la-housing/service-planning/${DATASET}/`),
    ) as { extractsAsOf: Record<string, string> };
    // Housing's and the provider's, which hold records of the people counted; not social care's,
    // whose every record is of someone the joint system may not hold: the counts took nothing
    // from it, and a DPO reading the manifest is not to be told they did.
    expect(Object.keys(manifest.extractsAsOf)).toEqual(['la-housing', 'social-housing-providers']);
  });
});
