import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COUNTS_FILE,
  COUNTS_PARQUET_FILE,
  EXPORT_LOCK_BLOB,
  exportCurated,
  healCurated,
  MANIFEST_FILE,
  type CuratedExportDependencies,
} from '../../../shared/curated/curated-export.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AGREEMENTS_DIR, type ImportHarness } from '../imports/import-harness.js';
import {
  breakExportLease,
  curatedHarness,
  DATASET,
  FOLDER,
  housing as housingOf,
  importHousing,
  overBlockBlobs,
  runThatCannotCount,
  startHeldRun,
} from './curated-runs.js';

/** Housing's extract of `n` children, its NHS numbers this file's own. */
const housing = (n: number) => housingOf(n, 600);

/** A blob client whose uploads of parquet files (those `fails` names) fail, as a network error or timeout would. */
function failingParquet(blobs: BlobServiceClient, fails: (blob: string) => boolean = () => true): BlobServiceClient {
  return overBlockBlobs(blobs, (blob, real) =>
    !blob.endsWith(COUNTS_PARQUET_FILE) || !fails(blob)
      ? real()
      : { upload: () => Promise.reject(new Error('connection reset')) },
  );
}

/** The real agreements, with the ISA's service-planning export grant taken out. */
function agreementsWithoutExportGrant() {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
  cpSync(AGREEMENTS_DIR, dir, { recursive: true });
  const file = join(dir, 'social-care-education-housing.yaml');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('  - purpose: service-planning\n');
  const end = text.indexOf('# "How will data be matched between systems"');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  writeFileSync(file, text.slice(0, start) + text.slice(end).replace("version: '1.2.0'", "version: '1.3.0'"));
  return loadAgreements(dir);
}

/**
 * The real agreements, the ISA re-signed: its file now says it comes into force on `effectiveDate`
 * (a date to come, and until then the policy grants nothing under it).
 */
function agreementsResignedFrom(effectiveDate: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
  cpSync(AGREEMENTS_DIR, dir, { recursive: true });
  const file = join(dir, 'social-care-education-housing.yaml');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('\neffectiveDate: null\n');
  writeFileSync(
    file,
    text
      .replace('\neffectiveDate: null\n', `\neffectiveDate: '${effectiveDate}'\n`)
      .replace("version: '1.2.0'", "version: '2.0.0'"),
  );
  return loadAgreements(dir);
}

describe('what a failed or withdrawn export leaves published', () => {
  let h: ImportHarness;
  let container: string;
  const deps = (o: Partial<CuratedExportDependencies> = {}): CuratedExportDependencies => h.exportDeps(container, o);
  const read = async (name: string) =>
    (await h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8');
  /** The days whose dated folder holds a whole release (its manifest). */
  const datedReleases = async () => {
    const days: string[] = [];
    for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: FOLDER }))
      if (b.name.endsWith(`/${MANIFEST_FILE}`) && !b.name.includes('/latest/'))
        days.push(b.name.slice(FOLDER.length, FOLDER.length + 10));
    return days.sort();
  };

  beforeAll(async () => {
    ({ h, container } = await curatedHarness());
  });
  afterAll(() => h?.close());

  it('does not leave latest/ holding the counts of a release that failed half way', async () => {
    await importHousing(h, housing(40));
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
    // Nor is the failed release left whole in its dated folder, for trends to find (found by a review).
    expect(await datedReleases()).toEqual(['2026-11-01']);
  });

  it('puts latest/ and the dated folder back when the SQL release cannot be written', async () => {
    // The SQL release fails (the database refuses the write, a deadlock, a timeout…).
    await sql`alter table curated_count rename to curated_count_unreachable`.execute(h.store.db);
    try {
      await expect(exportCurated(deps({ now: () => new Date('2026-12-03T06:00:00.000Z') }))).rejects.toThrow();
    } finally {
      await sql`alter table curated_count_unreachable rename to curated_count`.execute(h.store.db);
    }
    // latest/ and the SQL view both stay on November's release (found by a review: latest/ held December's).
    const latestInView = await h.store.db
      .selectFrom('curated_indicator_counts')
      .select('generated_at')
      .distinct()
      .where('latest', '=', 'Y')
      .execute();
    expect(latestInView.map((r) => r.generated_at)).toEqual(['2026-11-01T06:00:00.000Z']);
    expect(JSON.parse(await read(`${FOLDER}latest/${MANIFEST_FILE}`))).toMatchObject({
      generatedAt: '2026-11-01T06:00:00.000Z',
    });
    expect(await datedReleases()).toEqual(['2026-11-01']);

    // The retry writes the day's release: the folder, latest/ and the view agree again.
    await exportCurated(deps({ now: () => new Date('2026-12-03T07:00:00.000Z') }));
    expect(await datedReleases()).toEqual(['2026-11-01', '2026-12-03']);
    expect(JSON.parse(await read(`${FOLDER}latest/${MANIFEST_FILE}`))).toMatchObject({
      generatedAt: '2026-12-03T07:00:00.000Z',
    });
  });
  it('takes the releases of a withdrawn export out of the SQL view, latest/ and its dated folders at the next run', async () => {
    const latestFiles = async () => {
      const names: string[] = [];
      for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: `${FOLDER}latest/` }))
        names.push(b.name);
      return names;
    };
    const visible = async () =>
      h.store.db.selectFrom('curated_indicator_counts').select(['generated_at', 'latest']).distinct().execute();
    expect(await visible()).toContainEqual({ generated_at: '2026-12-03T07:00:00.000Z', latest: 'Y' });
    expect(await latestFiles()).toHaveLength(3);

    // The grant is withdrawn (the agreement ends, or the DPO stops the planning use): what was
    // published under it is no longer the recipient's to read, though the timer finds nothing
    // to export (found by a review: the release stayed in the view, marked latest, for ever).
    const withdrawn = agreementsWithoutExportGrant();
    expect(
      await exportCurated(deps({ agreements: withdrawn, now: () => new Date('2027-01-01T06:00:00.000Z') })),
    ).toEqual({ summaries: [] });
    expect(await visible()).toEqual([]);
    expect(await latestFiles()).toEqual([]);
    // Nor are its dated copies left for the recipient to read for the lifecycle rule's 400 days,
    // when the view already holds none of them (found by a review: they stayed, whole).
    const left: string[] = [];
    for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: FOLDER })) left.push(b.name);
    expect(left).toEqual([]);
  });

  it('deletes only release files: whatever else the curated container holds stays', async () => {
    // An operator's note at the top and one in the target's folder; the target exported again,
    // then withdrawn.
    const curated = h.blobs.getContainerClient(container);
    const kept = ['README.txt', `la-housing/service-planning/${DATASET}/notes/method.txt`];
    for (const name of kept) await curated.getBlockBlobClient(name).upload('x', 1);
    await exportCurated(deps({ now: () => new Date('2027-01-02T06:00:00.000Z') }));
    await exportCurated(
      deps({ agreements: agreementsWithoutExportGrant(), now: () => new Date('2027-01-03T06:00:00.000Z') }),
    );
    const left: string[] = [];
    for await (const b of curated.listBlobsFlat()) left.push(b.name);
    expect(left.sort()).toEqual([...kept].sort());
  });

  it('takes the releases of an export the policy refuses now out of the SQL view and the container', async () => {
    const releaseFiles = async () => {
      const names: string[] = [];
      for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: FOLDER }))
        if (!b.name.startsWith(`${FOLDER}notes/`)) names.push(b.name.slice(FOLDER.length));
      return names.sort();
    };
    const visible = async () =>
      h.store.db.selectFrom('curated_indicator_counts').select(['generated_at', 'latest']).distinct().execute();
    await exportCurated(deps({ now: () => new Date('2027-01-04T06:00:00.000Z') }));
    expect(await visible()).toEqual([{ generated_at: '2027-01-04T06:00:00.000Z', latest: 'Y' }]);

    // The ISA is re-signed, in force from 1 February: the grant still names the recipient, but
    // there is no agreement in force to publish under until then, and what was published under
    // the old one is not the recipient's to go on reading, as when a grant is withdrawn.
    const resigned = agreementsResignedFrom('2027-02-01');
    const january = await exportCurated(
      deps({ agreements: resigned, now: () => new Date('2027-01-05T06:00:00.000Z') }),
    );
    expect(january.summaries.map((s) => s.outcome)).toEqual(['denied']);
    expect(await visible()).toEqual([]);
    expect(await releaseFiles()).toEqual([]);

    // In force: the export publishes again.
    await exportCurated(deps({ agreements: resigned, now: () => new Date('2027-02-01T06:00:00.000Z') }));
    expect(await visible()).toEqual([{ generated_at: '2027-02-01T06:00:00.000Z', latest: 'Y' }]);
    expect(await releaseFiles()).toHaveLength(6);
  });
});

/** The real agreements, the planning export granted to Education's analysts as well as Housing's. */
function agreementsExportingToEducationToo() {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
  cpSync(AGREEMENTS_DIR, dir, { recursive: true });
  const file = join(dir, 'social-care-education-housing.yaml');
  const text = readFileSync(file, 'utf8');
  const education =
    '  - id: la-education\n    name: Education (including the SEND Team)\n    kind: education\n    roles: [dpo]\n';
  const grant = '    roles: [analyst]\n    parties: [la-housing]\n    actions: [export]\n';
  expect(text).toContain(education);
  expect(text).toContain(grant);
  writeFileSync(
    file,
    text
      .replace(education, education.replace('roles: [dpo]', 'roles: [dpo, analyst]'))
      .replace(grant, grant.replace('[la-housing]', '[la-housing, la-education]')),
  );
  return loadAgreements(dir);
}

/**
 * A run made again the same day after one recipient failed exports every target again, those
 * that were written among them: an operator's `npm run curate` does (exportCurated, called here);
 * the timer's retry now passes over a target the day already has a release of (scheduledExport). Two releases of the same
 * counts with different noise would let the recipient average the noise away; the noise is
 * drawn from the table itself (indicator-counts.ts), so the same state publishes the same
 * figures, retry or not (a review suspected fresh noise on every run).
 */
describe('a planning export retried after one recipient failed', () => {
  let h: ImportHarness;
  let container: string;

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(60)));
  });
  afterAll(() => h?.close());

  it('publishes the recipient that succeeded the same figures again, not fresh noise to average', async () => {
    const agreements = agreementsExportingToEducationToo();
    const figures = async (party: string) =>
      (
        await h.blobs
          .getContainerClient(container)
          .getBlobClient(`${party}/service-planning/${DATASET}/latest/${COUNTS_FILE}`)
          .downloadToBuffer()
      )
        .toString('utf8')
        .trimEnd()
        .split('\r\n')
        .slice(1)
        .map((row) => row.split(',').slice(2).join(','));
    // The timer's run: Housing's release is written, Education's fails.
    await expect(
      exportCurated(
        h.exportDeps(container, {
          agreements,
          blobs: failingParquet(h.blobs, (blob) => blob.startsWith('la-education/')),
          now: () => new Date('2026-12-01T06:00:00.000Z'),
        }),
      ),
    ).rejects.toThrow(/connection reset/);
    const first = await figures('la-housing');
    expect(first.some((line) => /,[0-9]+,N,/.test(line))).toBe(true);
    // The retry half an hour later writes both; Housing's figures are the ones it already had.
    const retried = await exportCurated(
      h.exportDeps(container, { agreements, now: () => new Date('2026-12-01T06:30:00.000Z') }),
    );
    expect(retried.summaries.map((s) => [s.partyId, s.outcome])).toEqual([
      ['la-housing', 'written'],
      ['la-education', 'written'],
    ]);
    expect(await figures('la-housing')).toEqual(first);
  });
});

/**
 * A blob client over which the process dies as it uploads `blob` (kill -9, the host recycled):
 * that upload and everything after it never happen, and no catch runs to put anything back.
 * `reached` settles once the export has got that far.
 */
function dyingAt(blobs: BlobServiceClient, blob: string): { blobs: BlobServiceClient; reached: Promise<void> } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const dying = overBlockBlobs(blobs, (name, real) =>
    name !== blob
      ? real()
      : {
          upload: () => {
            reach();
            return new Promise<never>(() => undefined);
          },
        },
  );
  return { blobs: dying, reached };
}

describe('a planning export whose process died part way through latest/', () => {
  let h: ImportHarness;
  let container: string;
  const read = async (name: string) => h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  /** What an analyst finds in latest/: each file, and whether the manifest's SHA-256 is that of the counts. */
  const latestAsRead = async () => {
    const files: string[] = [];
    for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: `${FOLDER}latest/` }))
      files.push(b.name.slice(FOLDER.length));
    if (!files.includes(`latest/${MANIFEST_FILE}`)) return { files: files.sort() };
    const manifest = JSON.parse((await read(`${FOLDER}latest/${MANIFEST_FILE}`)).toString('utf8')) as {
      generatedAt: string;
      files: Record<string, string>;
    };
    const sha = async (file: string) =>
      createHash('sha256')
        .update(await read(`${FOLDER}latest/${file}`))
        .digest('hex');
    return {
      files: files.sort(),
      generatedAt: manifest.generatedAt,
      describesItsCounts:
        manifest.files[COUNTS_FILE] === (await sha(COUNTS_FILE)) &&
        manifest.files[COUNTS_PARQUET_FILE] === (await sha(COUNTS_PARQUET_FILE)),
    };
  };
  const datedReleases = async () => {
    const days = new Set<string>();
    for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: FOLDER }))
      if (!b.name.includes('/latest/')) days.add(b.name.slice(FOLDER.length, FOLDER.length + 10));
    return [...days].sort();
  };

  /**
   * The dead run's lease on the export lock runs out (here the "dead" run's promise lives on,
   * renewing): broken at once.
   */
  const leaseLapses = () => breakExportLease(h, container);

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(40)));
  });
  afterAll(() => h?.close());

  it('finds latest/ back on the last whole release, its manifest describing its counts, at the next run', async () => {
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-01T06:00:00.000Z') }));
    // December's run: the dated folder is written, then latest/'s counts, and the process dies
    // as it uploads latest/'s manifest.
    await importHousing(h, housing(55));
    const dying = dyingAt(h.blobs, `${FOLDER}latest/${MANIFEST_FILE}`);
    void exportCurated(
      h.exportDeps(container, { blobs: dying.blobs, now: () => new Date('2026-12-01T06:00:00.000Z') }),
    );
    await dying.reached;
    await leaseLapses();

    await runThatCannotCount(h, container, '2026-12-01T06:30:00.000Z');

    // latest/ holds November's release whole, as the SQL view does; December's dated copy, a
    // release neither latest/ nor the view has, is gone.
    expect(await latestAsRead()).toEqual({
      files: [`latest/${COUNTS_FILE}`, `latest/${COUNTS_PARQUET_FILE}`, `latest/${MANIFEST_FILE}`],
      generatedAt: '2026-11-01T06:00:00.000Z',
      describesItsCounts: true,
    });
    expect(await datedReleases()).toEqual(['2026-11-01']);
    const inView = await h.store.db.selectFrom('curated_release').select('generated_at').execute();
    expect(inView.map((r) => r.generated_at)).toEqual(['2026-11-01T06:00:00.000Z']);
    // For the operator: which target was healed, and how many folders, nothing of what they hold.
    const healed = h.logLines.filter((line) => line.includes('curated.unfinished-release-healed'));
    expect(healed.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ partyId: 'la-housing', datasetId: DATASET, restored: 1, emptied: 1 }),
    ]);
  });

  it('finds latest/ back on the release the SQL view holds when the process died before writing it there', async () => {
    // January's run writes its dated folder and latest/ whole, and the process dies as it
    // writes the SQL release: the view stays on November's, and latest/ must say the same.
    await startHeldRun(h, container, '2027-01-01T06:00:00.000Z');
    await leaseLapses();
    expect(await latestAsRead()).toMatchObject({ generatedAt: '2027-01-01T06:00:00.000Z' });

    await runThatCannotCount(h, container, '2027-01-01T06:30:00.000Z');
    expect(await latestAsRead()).toEqual({
      files: [`latest/${COUNTS_FILE}`, `latest/${COUNTS_PARQUET_FILE}`, `latest/${MANIFEST_FILE}`],
      generatedAt: '2026-11-01T06:00:00.000Z',
      describesItsCounts: true,
    });
    expect(await datedReleases()).toEqual(['2026-11-01']);
  });

  it("finds a day's dated folder whole again when a retry's process died as it rewrote it", async () => {
    await exportCurated(h.exportDeps(container, { now: () => new Date('2027-02-01T06:00:00.000Z') }));
    // The same day's second run dies as it writes the dated folder's manifest, after its counts.
    const dying = dyingAt(h.blobs, `${FOLDER}2027-02-01/${MANIFEST_FILE}`);
    void exportCurated(
      h.exportDeps(container, { blobs: dying.blobs, now: () => new Date('2027-02-01T07:00:00.000Z') }),
    );
    await dying.reached;
    await leaseLapses();

    await runThatCannotCount(h, container, '2027-02-01T07:30:00.000Z');
    // The dated folder holds the day's finished release again, the one latest/ and the view hold.
    const day = await h.blobs
      .getContainerClient(container)
      .getBlobClient(`${FOLDER}2027-02-01/${MANIFEST_FILE}`)
      .downloadToBuffer();
    expect(JSON.parse(day.toString('utf8'))).toMatchObject({ generatedAt: '2027-02-01T06:00:00.000Z' });
    expect(
      (await read(`${FOLDER}2027-02-01/${COUNTS_FILE}`)).equals(await read(`${FOLDER}latest/${COUNTS_FILE}`)),
    ).toBe(true);
    expect(await latestAsRead()).toMatchObject({ generatedAt: '2027-02-01T06:00:00.000Z', describesItsCounts: true });
  });
});

describe('a same-day rerun whose process died before its SQL release', () => {
  let h: ImportHarness;
  let container: string;
  const read = async (name: string) => h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  const manifestOf = async (sub: string) =>
    JSON.parse((await read(`${FOLDER}${sub}/${MANIFEST_FILE}`)).toString('utf8')) as {
      generatedAt: string;
      files: Record<string, string>;
    };
  const sha = (body: Buffer) => createHash('sha256').update(body).digest('hex');

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(40)));
  });
  afterAll(() => h?.close());

  it("finds the day's finished release, the one the SQL view holds, whole in latest/ and its dated folder", async () => {
    const day = '2026-11-02';
    await exportCurated(h.exportDeps(container, { now: () => new Date(`${day}T06:00:00.000Z`) }));
    const published = new Map<string, Buffer>();
    for (const file of [COUNTS_FILE, COUNTS_PARQUET_FILE, MANIFEST_FILE])
      published.set(file, await read(`${FOLDER}latest/${file}`));

    // An operator's `npm run curate` the same day writes the dated folder and latest/ whole,
    // and the process dies as it writes the SQL release: the view stays on the 06:00 release.
    await startHeldRun(h, container, `${day}T09:00:00.000Z`);
    await breakExportLease(h, container);
    expect((await manifestOf('latest')).generatedAt).toBe(`${day}T09:00:00.000Z`);

    // The next run heals, and cannot count (Key Vault briefly out).
    await runThatCannotCount(h, container, `${day}T09:30:00.000Z`);

    const inView = await h.store.db
      .selectFrom('curated_indicator_counts')
      .select('generated_at')
      .distinct()
      .where('latest', '=', 'Y')
      .execute();
    expect(inView.map((r) => r.generated_at)).toEqual([`${day}T06:00:00.000Z`]);
    // What Power BI reads from the files is that release, byte for byte, in latest/ and the day's folder.
    for (const sub of ['latest', day]) {
      const files: Record<string, boolean | string> = {};
      for (const [file, before] of published) {
        const now = await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}${sub}/${file}`).exists();
        files[file] = now ? (await read(`${FOLDER}${sub}/${file}`)).equals(before) : 'missing';
      }
      expect({ sub, files }).toEqual({
        sub,
        files: { [COUNTS_FILE]: true, [COUNTS_PARQUET_FILE]: true, [MANIFEST_FILE]: true },
      });
      const manifest = await manifestOf(sub);
      expect(manifest.files[COUNTS_FILE]).toBe(sha(await read(`${FOLDER}${sub}/${COUNTS_FILE}`)));
    }
    // For the operator: latest/ written again from the store, the day's folder copied from it.
    const healed = h.logLines.filter((line) => line.includes('curated.unfinished-release-healed'));
    expect(healed.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ partyId: 'la-housing', datasetId: DATASET, restored: 2, emptied: 0, rebuilt: 1 }),
    ]);
  });

  it('says so, and puts latest/ back on an older release, when the store holds no manifest to write again', async () => {
    const day = '2026-11-03';
    await exportCurated(h.exportDeps(container, { now: () => new Date(`${day}T06:00:00.000Z`) }));
    await startHeldRun(h, container, `${day}T09:00:00.000Z`);
    await breakExportLease(h, container);
    // The day's release was stored before migration 0047: the store has its lines, not its manifest.
    await h.store.db
      .updateTable('curated_release')
      .set({ manifest: null })
      .where('generated_at', '=', `${day}T06:00:00.000Z`)
      .execute();
    h.logLines.length = 0;

    await runThatCannotCount(h, container, `${day}T09:30:00.000Z`);
    expect((await manifestOf('latest')).generatedAt).toBe('2026-11-02T06:00:00.000Z');
    expect(await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}${day}/${MANIFEST_FILE}`).exists()).toBe(
      false,
    );
    const notRebuilt = h.logLines.filter((line) => line.includes('curated.release-not-rebuilt'));
    expect(notRebuilt.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ partyId: 'la-housing', datasetId: DATASET, reason: 'no-manifest-stored' }),
    ]);
  });
});

describe('the heal-only pass a host runs without exporting', () => {
  let h: ImportHarness;
  let container: string;
  const read = async (name: string) => h.blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  const breakLock = () => breakExportLease(h, container);

  beforeAll(async () => {
    ({ h, container } = await curatedHarness(housing(40)));
  });
  afterAll(() => h?.close());

  it("puts latest/ back on the view's release when a run died before its SQL release, with no export run since", async () => {
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-01T06:00:00.000Z') }));
    const november = await read(`${FOLDER}latest/${COUNTS_FILE}`);
    // December's run writes its dated folder and latest/, and the process dies before its SQL release.
    await startHeldRun(h, container, '2026-12-01T06:00:00.000Z');
    await breakLock();
    expect((await read(`${FOLDER}latest/${COUNTS_FILE}`)).equals(november)).toBe(false);

    // The host starts again (or the daily heal fires): no export runs, nothing is counted.
    const accessLogBefore = await h.store.db.selectFrom('access_log').select('seq').execute();
    expect(await healCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T07:00:00.000Z') }))).toBe(
      'healed',
    );
    expect((await read(`${FOLDER}latest/${COUNTS_FILE}`)).equals(november)).toBe(true);
    expect(JSON.parse((await read(`${FOLDER}latest/${MANIFEST_FILE}`)).toString('utf8'))).toMatchObject({
      generatedAt: '2026-11-01T06:00:00.000Z',
    });
    expect(
      await h.blobs.getContainerClient(container).getBlobClient(`${FOLDER}2026-12-01/${MANIFEST_FILE}`).exists(),
    ).toBe(false);
    expect(await h.store.db.selectFrom('access_log').select('seq').execute()).toHaveLength(accessLogBefore.length);
  });

  it("takes a withdrawn grant's releases out of the SQL view and the container the next day, not at next month's export", async () => {
    await exportCurated(h.exportDeps(container, { now: () => new Date('2026-11-02T06:00:00.000Z') }));
    const visible = () => h.store.db.selectFrom('curated_indicator_counts').select('latest').distinct().execute();
    const releaseFiles = async () => {
      const names: string[] = [];
      for await (const b of h.blobs.getContainerClient(container).listBlobsFlat({ prefix: FOLDER })) names.push(b.name);
      return names;
    };
    expect(await visible()).toContainEqual({ latest: 'Y' });

    // The grant is withdrawn on 2 December: the next export is on 1 January, but the daily heal
    // runs the next morning, and what was published under the grant is no longer the analysts'
    // to read, in Power BI's SQL view or in latest/ (found by a defect hunt: both stayed a month).
    expect(
      await healCurated(
        h.exportDeps(container, {
          agreements: agreementsWithoutExportGrant(),
          now: () => new Date('2026-12-03T05:00:00.000Z'),
        }),
      ),
    ).toBe('healed');
    expect(await visible()).toEqual([]);
    expect(await releaseFiles()).toEqual([]);
  });

  it('touches nothing while an export run holds the lock', async () => {
    const lock = h.blobs.getContainerClient(container).getBlockBlobClient(EXPORT_LOCK_BLOB);
    await lock.upload('', 0);
    const lease = lock.getBlobLeaseClient();
    await lease.acquireLease(60);
    try {
      expect(await healCurated(h.exportDeps(container, { now: () => new Date('2026-12-01T08:00:00.000Z') }))).toBe(
        'busy',
      );
    } finally {
      await lease.releaseLease();
    }
  });
});
