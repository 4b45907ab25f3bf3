import { randomUUID } from 'node:crypto';
import type { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import {
  COUNTS_FILE,
  COUNTS_PARQUET_FILE,
  exportCurated,
  MANIFEST_FILE,
  type CuratedExportDependencies,
} from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const FOLDER = `la-housing/service-planning/${DATASET}/`;
const family = (i: number) =>
  `Family${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;
const housing = (n: number) => [
  'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender,inTemporaryAccommodation',
  ...Array.from({ length: n }, (_, i) =>
    ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(600 + i), i % 2 ? 'Female' : 'Male', 'Y'].join(','),
  ),
];

/** A blob client whose uploads of parquet files (those `fails` names) fail, as a network error or timeout would. */
function failingParquet(blobs: BlobServiceClient, fails: (blob: string) => boolean = () => true): BlobServiceClient {
  return new Proxy(blobs, {
    get(target, prop, recv) {
      if (prop !== 'getContainerClient') return Reflect.get(target, prop, recv) as unknown;
      return (name: string) => {
        const c = target.getContainerClient(name);
        return new Proxy(c, {
          get(ct, p, r) {
            if (p !== 'getBlockBlobClient') {
              const v = Reflect.get(ct, p, r) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ct) : v;
            }
            return (blob: string) => {
              const b = ct.getBlockBlobClient(blob);
              if (!blob.endsWith(COUNTS_PARQUET_FILE) || !fails(blob)) return b;
              return { upload: () => Promise.reject(new Error('connection reset')) };
            };
          },
        });
      };
    },
  });
}

describe('a failed export and the latest/ folder', () => {
  let h: ImportHarness;
  let container: string;
  const deps = (o: Partial<CuratedExportDependencies> = {}): CuratedExportDependencies => {
    const { agreements, logger } = h.linkDeps();
    return {
      store: h.store,
      agreements,
      consents: new StoreConsentRegister(h.store),
      accessLog: h.retentionDeps().accessLog,
      blobs: h.blobs,
      secrets: h.secrets,
      logger,
      minCell: 10,
      historyDays: 400,
      container,
      ...o,
    };
  };
  const read = async (name: string) =>
    (await h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8');

  beforeAll(async () => {
    h = await createImportHarness();
    container = `cur-${randomUUID().slice(0, 8)}`;
    await h.blobs.getContainerClient(container).create();
  });
  afterAll(async () => {
    await h.blobs.getContainerClient(container).deleteIfExists();
    await h.close();
  });

  it('does not leave latest/ holding the counts of a release that failed half way', async () => {
    await importEach(h, [['la-housing', housing(40)]]);
    await linkPendingRecords(h.linkDeps());
    await exportCurated(deps({ now: () => new Date('2026-11-01T06:00:00.000Z') }));
    const novemberCsv = await read(`${FOLDER}latest/${COUNTS_FILE}`);

    // December: the parquet upload fails after the CSV has been replaced.
    await expect(
      exportCurated(deps({ blobs: failingParquet(h.blobs), now: () => new Date('2026-12-01T06:00:00.000Z') })),
    ).rejects.toThrow(/connection reset/);

    const latestCsv = await read(`${FOLDER}latest/${COUNTS_FILE}`);
    const latest = [];
    for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: `${FOLDER}latest/` }))
      latest.push(b.name.slice(FOLDER.length));
    // What Power BI reads from latest/ (README: "filter to the latest/ folder and combine"):
    // either November's whole release, or nothing new that is not complete.
    expect({ latest: latest.sort(), csvFrom: latestCsv.split('\r\n')[1]!.slice(0, 10) }).toEqual({
      latest: [`latest/${COUNTS_FILE}`, `latest/${COUNTS_PARQUET_FILE}`, `latest/${MANIFEST_FILE}`],
      csvFrom: novemberCsv.split('\r\n')[1]!.slice(0, 10),
    });
  });
  it('puts latest/ back as it was when a write there fails, and records no SQL release', async () => {
    const before = await read(`${FOLDER}latest/${COUNTS_FILE}`);
    const releases = async () =>
      (await h.store.db.selectFrom('curated_release').select('generated_at').execute()).length;
    const count = await releases();
    await expect(
      exportCurated(
        deps({
          blobs: failingParquet(h.blobs, (blob) => blob.includes('/latest/')),
          now: () => new Date('2026-12-02T06:00:00.000Z'),
        }),
      ),
    ).rejects.toThrow(/connection reset/);
    expect(await read(`${FOLDER}latest/${COUNTS_FILE}`)).toBe(before);
    expect(JSON.parse(await read(`${FOLDER}latest/${MANIFEST_FILE}`))).toMatchObject({
      generatedAt: '2026-11-01T06:00:00.000Z',
    });
    expect(await releases()).toBe(count);
  });
});
