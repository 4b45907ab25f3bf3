import SqliteDatabase from 'better-sqlite3';
import fc from 'fast-check';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { datesClearlyDiffer } from '../../../shared/matching/deterministic.js';
import { datesClearlyDifferSql } from '../../../shared/imports/dates-clearly-differ-sql.js';

/** The SQL form of datesClearlyDiffer must judge every pair of stored dates as the function does. */
describe('datesClearlyDifferSql', () => {
  const db = new Kysely<Record<string, never>>({
    dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }),
  });
  afterAll(async () => db.destroy());

  const judged = async (a: string, b: string) => {
    const { rows } = await sql<{ differ: number }>`select ${datesClearlyDifferSql('d.a', 'd.b')} as differ
      from (select ${a} as a, ${b} as b) d`.execute(db);
    return rows[0]!.differ === 1;
  };

  it('reads a digit of the day or month, or the two swapped, as a slip, and another year as someone else', async () => {
    for (const [a, b, differ] of [
      ['2010-05-14', '2010-05-14', false],
      ['2010-05-14', '2010-05-15', false],
      ['2010-05-14', '2010-06-14', false],
      ['2010-05-04', '2010-04-05', false],
      ['2010-05-14', '2011-05-14', true],
      ['2010-05-14', '2010-06-15', true],
      ['2010-05-14', '1990-11-02', true],
    ] as const) {
      expect(await judged(a, b), `${a} ${b}`).toBe(differ);
      expect(datesClearlyDiffer(a, b), `${a} ${b}`).toBe(differ);
    }
  });

  it('agrees with datesClearlyDiffer on dates of birth', async () => {
    // Two years only, so that most pairs are of one year and differ in the day and month.
    const twoDigits = (n: number) => String(n).padStart(2, '0');
    const date = fc
      .tuple(fc.constantFrom('2010', '2011'), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
      .map(([year, month, day]) => `${year}-${twoDigits(month)}-${twoDigits(day)}`);
    await fc.assert(
      fc.asyncProperty(date, date, async (a, b) => {
        expect(await judged(a, b)).toBe(datesClearlyDiffer(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a column that is not alias.column', () => {
    expect(() => datesClearlyDifferSql('a; drop table x', 'd.b')).toThrow(RangeError);
  });
});
