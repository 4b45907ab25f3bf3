import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { ColumnMapSchema, LinkFileError, linkCsvFiles } from '../../../shared/matching/link-files.js';
import { writeScenarioFiles } from '../../../shared/synthetic/scenario-files.js';
import { generateLinkageScenario } from '../../../shared/synthetic/sources.js';

const dir = mkdtempSync(join(tmpdir(), 'lintel-link-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pseudonymiser = new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 4) });

describe('linkCsvFiles', () => {
  it('links two partner files by a column map and scores them against a record_id,person_id truth', async () => {
    const files = await writeScenarioFiles(
      generateLinkageScenario({ seed: 5, profile: 'typical', leftSize: 800 }),
      dir,
    );
    const map = ColumnMapSchema.parse(JSON.parse(readFileSync(files.map, 'utf8')));
    const out = join(dir, 'pairs.csv');
    const result = await linkCsvFiles({
      leftPath: files.left,
      rightPath: files.right,
      map,
      outPath: out,
      truthPath: files.truth,
      pseudonymiser,
    });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('left_id,right_id,tier,rule,weight,probability');
    expect(lines).toHaveLength(result.pairsWritten + 1);
    expect(lines.some((l) => /^housing-\d+,social-care-\d+,1,nhs,,$/.test(l))).toBe(true);
    expect(result.evaluation?.truePairs).toBe(640);
    expect(result.evaluation?.automatic.precision).toBeGreaterThanOrEqual(0.99);
    expect(result.evaluation?.overall.recall).toBeGreaterThanOrEqual(0.98);

    // The same truth as pairs gives the same scores.
    const truthPairs = join(dir, 'truth-pairs.csv');
    const person = new Map<string, string[]>();
    for (const line of readFileSync(files.truth, 'utf8').trim().split('\n').slice(1)) {
      const [record, p] = line.split(',') as [string, string];
      person.set(p, [...(person.get(p) ?? []), record]);
    }
    const pairs = [...person.values()].filter((r) => r.length === 2).map((r) => r.join(','));
    writeFileSync(truthPairs, `left_id,right_id\n${pairs.join('\n')}\n`);
    const again = await linkCsvFiles({
      leftPath: files.left,
      rightPath: files.right,
      map,
      outPath: out,
      truthPath: truthPairs,
      pseudonymiser,
    });
    expect(again.evaluation?.overall).toEqual(result.evaluation?.overall);
  });

  // pipe() passed no read error on: the read never ended and the error, unhandled, ended the
  // process with a stack trace (npm run link's file gone between its check and its read).
  it('rejects a file it cannot read, rather than leaving the error unhandled', async () => {
    const map = ColumnMapSchema.parse({ left: { columns: {} }, right: { columns: {} } });
    const right = join(dir, 'right-present.csv');
    writeFileSync(right, 'firstName\nA\n');
    await expect(
      linkCsvFiles({
        leftPath: join(dir, 'gone.csv'),
        rightPath: right,
        map,
        outPath: join(dir, 'p.csv'),
        pseudonymiser,
      }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('names a mapped column the file lacks, without echoing any data', async () => {
    const left = join(dir, 'bad.csv');
    writeFileSync(left, 'ref,first\nA1,Jane\n');
    const map = ColumnMapSchema.parse({
      left: { columns: { recordId: 'ref', givenName: 'first', familyName: 'last' } },
      right: { columns: { recordId: 'ref' } },
    });
    const error = await linkCsvFiles({
      leftPath: left,
      rightPath: left,
      map,
      outPath: join(dir, 'x.csv'),
      pseudonymiser,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkFileError);
    expect((error as LinkFileError).code).toBe('column-missing');
    expect((error as Error).message).not.toContain('Jane');
  });

  /** Links two files of ref, first, last, dob: the pairs linked automatically (tier 4 or surer) and the run's result. */
  async function linkByNamesAndDates(left: string, right: string, outName: string) {
    const columns = { recordId: 'ref', givenName: 'first', familyName: 'last', dob: 'dob' };
    const map = ColumnMapSchema.parse({ left: { columns }, right: { columns } });
    const out = join(dir, outName);
    const result = await linkCsvFiles({ leftPath: left, rightPath: right, map, outPath: out, pseudonymiser });
    const automatic = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','))
      .filter(([, , tier]) => Number(tier) <= 4)
      .map(([l, r]) => `${l}-${r}`);
    return { automatic, result };
  }

  it('reads a date of birth as the import does: a midnight time is its day, and a placeholder links no one', async () => {
    const left = join(dir, 'dates-left.csv');
    const right = join(dir, 'dates-right.csv');
    // A SQL export's date column beside a day-first one; two people whose systems wrote "not known".
    writeFileSync(left, 'ref,first,last,dob\nL1,Kai,Penn,1980-02-03 00:00:00\nL2,John,Smith,1900-01-01\n');
    writeFileSync(right, 'ref,first,last,dob\nR1,Kai,Penn,03/02/1980\nR2,Johnny,Smith,01/01/1900\n');
    const { automatic, result } = await linkByNamesAndDates(left, right, 'dates-pairs.csv');
    expect(automatic).toEqual(['L1-R1']);
    expect(result.left.dropped).toEqual({ 'date-of-birth-placeholder': 1 });
    expect(result.right.dropped).toEqual({ 'date-of-birth-placeholder': 1 });
  });

  // The import refuses a date of birth after its extract's date or before the earliest anyone
  // living could have been born, and a lookup one after today; npm run link applied neither, so
  // two records sharing a mistyped future date and names were linked on it as the same person.
  it('links no one on a date of birth in the future or before anyone living, as an import and a lookup refuse them', async () => {
    const left = join(dir, 'bounds-left.csv');
    const right = join(dir, 'bounds-right.csv');
    const future = `${new Date().getUTCFullYear() + 10}-03-14`;
    writeFileSync(left, `ref,first,last,dob\nL1,Tam,Quill,${future}\nL2,Bo,Fenn,1801-06-02\nL3,Cy,Rowe,1975-05-06\n`);
    writeFileSync(right, `ref,first,last,dob\nR1,Tam,Quill,${future}\nR2,Bo,Fenn,1801-06-02\nR3,Cy,Rowe,1975-05-06\n`);
    const { automatic, result } = await linkByNamesAndDates(left, right, 'bounds-pairs.csv');
    expect(automatic).toEqual(['L3-R3']);
    expect(result.left.dropped).toEqual({ 'date-of-birth-future': 1, 'date-of-birth-too-early': 1 });
    expect(result.right.dropped).toEqual({ 'date-of-birth-future': 1, 'date-of-birth-too-early': 1 });
  });
});
