import SqliteDatabase from 'better-sqlite3';
import fc from 'fast-check';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { familyNameKey, familyNameSpellings } from '../../../shared/domain/normalise.js';
import { familyNameKeySql, otherFamilyNameSpellingSql } from '../../../shared/imports/family-name-key-sql.js';

/** The SQL form of familyNameKey must key every stored family name as the function does. */
describe('familyNameKeySql', () => {
  const db = new Kysely<Record<string, never>>({
    dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }),
  });
  afterAll(async () => db.destroy());

  const keyed = async (name: string) => {
    const { rows } = await sql<{ key: string }>`select ${familyNameKeySql('n.family_name')} as key
      from (select ${name} as family_name) n`.execute(db);
    return rows[0]!.key;
  };

  it('removes the space after a leading O, D, Mc or Mac, and leaves any other name as it is', async () => {
    for (const name of [
      'O BRIEN',
      'D SOUZA',
      'MC DONALD SMITH',
      'MAC LEOD',
      'OBRIEN',
      'VAN DYKE',
      'O',
      'MAC',
      'ZOE O BRIEN',
      'OX BOW',
    ]) {
      expect(await keyed(name)).toBe(familyNameKey(name));
    }
  });

  it('agrees with familyNameKey on normalised names', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^(O|D|MC|MAC|[A-Z]{1,4})( [A-Z]{1,6}){0,2}$/), async (name) => {
        expect(await keyed(name)).toBe(familyNameKey(name));
      }),
      { numRuns: 300 },
    );
  });

  it('gives with the name itself every spelling of its key (familyNameSpellings)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^(O|D|MC|MAC|[A-Z]{1,4})( ?[A-Z]{1,6}){0,2}$/), async (name) => {
        const { rows } = await sql<{
          other: string;
        }>`select ${sql.raw(otherFamilyNameSpellingSql('n.family_name'))} as other
          from (select ${name} as family_name) n`.execute(db);
        expect(new Set([name, rows[0]!.other])).toEqual(new Set(familyNameSpellings(name)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a column that is not alias.column', () => {
    expect(() => familyNameKeySql("x'); drop table y; --")).toThrow(RangeError);
  });
});
