// `npm run link` on the files a newcomer has: the demo seed's extracts (which carry no record-id
// column, as the agreements fix their columns) and its truth.csv (file,row,person,errors), with
// the example map the README shows. Before, the map could not leave recordId out and --truth
// refused the seed's layout, so the README's command had nothing it could be tried on.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../shared/agreements/load.js';
import { Pseudonymiser } from '../../shared/domain/pseudonymise.js';
import { ColumnMapSchema, LinkFileError, linkCsvFiles } from '../../shared/matching/link-files.js';
import { seedExtracts } from '../../shared/synthetic/extracts/demo-seed.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
const MAP = join(ROOT, 'examples/link/housing-and-childrens-social-care.map.json');
const dir = mkdtempSync(join(tmpdir(), 'lintel-link-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SEED = join(dir, '.lintel/seed');
const LEFT = 'la-housing/multiple-disadvantage-indicators/extract-2026-03-01.csv';
const RIGHT = 'la-childrens-social-care/multiple-disadvantage-indicators/extract-2026-03-01.csv';

/** The pairs the truth makes of the two files, counted here from truth.csv itself. */
function truePairsInTruth(): number {
  const people = (file: string) => {
    const count = new Map<string, number>();
    for (const line of readFileSync(join(SEED, 'truth.csv'), 'utf8').trim().split('\n').slice(1)) {
      const [f, , person] = line.split(',') as [string, string, string];
      if (f === file) count.set(person, (count.get(person) ?? 0) + 1);
    }
    return count;
  };
  const right = people(RIGHT);
  let pairs = 0;
  for (const [person, n] of people(LEFT)) pairs += n * (right.get(person) ?? 0);
  return pairs;
}

beforeAll(async () => {
  // The size `npm start` seeds a fresh store with.
  await seedExtracts({
    agreements: loadAgreements(resolve(ROOT, 'agreements')),
    outDir: SEED,
    size: 1_000,
    asOf: '2026-03-01',
  });
});

describe('npm run link on the demo seed', () => {
  it('links the Housing and children’s social care extracts by row number and scores them against the seed’s truth', async () => {
    const result = await linkCsvFiles({
      leftPath: join(SEED, LEFT),
      rightPath: join(SEED, RIGHT),
      map: ColumnMapSchema.parse(JSON.parse(readFileSync(MAP, 'utf8'))),
      outPath: join(dir, 'pairs-fn.csv'),
      truthPath: join(SEED, 'truth.csv'),
      pseudonymiser: new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 7) }),
    });
    const expected = truePairsInTruth();
    expect(expected).toBeGreaterThan(20);
    expect(result.evaluation?.truePairs).toBe(expected);
    expect(result.evaluation?.automatic.precision).toBeGreaterThanOrEqual(0.95);
    expect(result.evaluation?.automatic.recall).toBeGreaterThanOrEqual(0.7);
    // Row numbers as the spreadsheet counts them: the header is row 1.
    const pairs = readFileSync(join(dir, 'pairs-fn.csv'), 'utf8').trim().split('\n').slice(1);
    expect(pairs.length).toBeGreaterThan(0);
    for (const line of pairs) expect(line).toMatch(/^\d+,\d+,[1-5],/);
  });

  it('refuses a seed truth that names no row of a file (another seeding’s), rather than score every link false', async () => {
    const older = join(dir, 'extract-2026-02-01.csv');
    copyFileSync(join(SEED, LEFT), older);
    const error = await linkCsvFiles({
      leftPath: older,
      rightPath: join(SEED, RIGHT),
      map: ColumnMapSchema.parse(JSON.parse(readFileSync(MAP, 'utf8'))),
      outPath: join(dir, 'pairs-older.csv'),
      truthPath: join(SEED, 'truth.csv'),
      pseudonymiser: new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 7) }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkFileError);
    expect((error as LinkFileError).code).toBe('truth-file-unmatched');
  });

  it('names the spreadsheet row of a blank id when the map does take ids from a column, and the way round it', async () => {
    const lines = readFileSync(join(SEED, RIGHT), 'utf8').trim().split('\n');
    const column = lines[0]!.split(',').indexOf('socialCareSystemId');
    // Line k of the file is spreadsheet row k + 1 (no cell of these rows spans lines).
    const blank = lines.findIndex((l, k) => k > 0 && l.split(',')[column] === '') + 1;
    expect(blank).toBeGreaterThan(1);
    const map = ColumnMapSchema.parse(JSON.parse(readFileSync(MAP, 'utf8')));
    const error = await linkCsvFiles({
      leftPath: join(SEED, RIGHT),
      rightPath: join(SEED, RIGHT),
      map: { ...map, left: { ...map.right, columns: { ...map.right.columns, recordId: 'socialCareSystemId' } } },
      outPath: join(dir, 'pairs-ids.csv'),
      pseudonymiser: new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 7) }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkFileError);
    expect((error as LinkFileError).code).toBe('record-id-missing');
    expect((error as Error).message).toBe(
      `left file row ${blank} (header = row 1) has no record id; leave recordId out of the map to use row numbers`,
    );
  });

  it('prints precision and recall for the README’s command, run from the folder holding .lintel/seed', () => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'scripts/link.ts'),
        '--left',
        `.lintel/seed/${LEFT}`,
        '--right',
        `.lintel/seed/${RIGHT}`,
        '--map',
        MAP,
        '--out',
        'pairs.csv',
        '--truth',
        '.lintel/seed/truth.csv',
      ],
      { cwd: dir, env: minimalEnv(), encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).not.toContain('link failed');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^left: \d+ records \(record ids are row numbers/m);
    const automatic = /^tiers 1-4\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)/m.exec(run.stdout);
    expect(automatic).not.toBeNull();
    expect(Number(automatic![3])).toBeGreaterThanOrEqual(95);
    expect(Number(automatic![4])).toBeGreaterThanOrEqual(70);
    expect(run.stdout).toContain(`true pairs: ${truePairsInTruth()}`);
    // Counts and codes only: no one's name from the extracts.
    const firstRow = readFileSync(join(SEED, LEFT), 'utf8').split('\n')[1]!.split(',');
    expect(run.stdout).not.toContain(firstRow[1]!);
  });
});
