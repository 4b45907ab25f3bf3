import { describe, expect, it } from 'vitest';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { RecordBatchBuilder, canonicaliseColumns } from '../../../shared/matching/canonicalise.js';
import { BLOCKING_PASSES, blockCandidates } from '../../../shared/matching/blocking.js';
import { comparisonColumns } from '../../../shared/matching/comparison.js';
import type { RecordBatch } from '../../../shared/matching/record.js';
import { generateLinkageScenario } from '../../../shared/synthetic/sources.js';

const pseudonymiser = new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 3) });

/** One batch of Aoife under each of `familyNames`, her other fields the same throughout. */
function aoifeAs(familyNames: readonly string[]): RecordBatch {
  const builder = new RecordBatchBuilder('s', pseudonymiser);
  familyNames.forEach((familyName, k) =>
    builder.add({ recordId: `r${k}`, givenName: 'Aoife', familyName, dob: '2012-03-04', postcode: 'ME14 1XX' }),
  );
  return builder.build().batch;
}

/**
 * The batch with the family names of the synthetic population that start with O, D, Mc or Mac
 * written with a space after it, as a partner whose system keeps that space would send them.
 */
function withPrefixesSpaced(batch: RecordBatch): RecordBatch {
  const spaced: Readonly<Record<string, string>> = {
    OBRIEN: 'O BRIEN',
    OCONNOR: 'O CONNOR',
    DSOUZA: 'D SOUZA',
    MCDONALD: 'MC DONALD',
    MACLEOD: 'MAC LEOD',
  };
  const familyName = batch.familyName.map((name) => {
    const space = name.indexOf(' ');
    const first = space < 0 ? name : name.slice(0, space);
    const respelt = spaced[first];
    return respelt === undefined ? name : respelt + name.slice(first.length);
  });
  return { ...batch, familyName };
}

function pairsOf(left: RecordBatch, right: RecordBatch): Set<number> {
  const [l, r] = comparisonColumns(left, right);
  const c = blockCandidates(l, left.size, r, right.size);
  const pairs = new Set<number>();
  for (let k = 0; k < c.count; k++) pairs.add((c.left[k] as number) * right.size + (c.right[k] as number));
  return pairs;
}

describe('blocking a family name written with a space after O, D, Mc or Mac', () => {
  it('files it under the joined name, as that spelling is filed, and under the parts after the prefix, in every pass', () => {
    // [spaced, joined, what follows the prefix]: "O Brien" still meets "Brien" where it did, and
    // now meets "OBrien" and "O'Brien" where they meet each other. Mc and Mac are not filed alone:
    // they are no name by themselves, and under them "Mc Donald" met "Mc Leod" but not "McDonald".
    const cases = [
      ['O Brien', "O'Brien", 'Brien'],
      ['Mc Donald', 'McDonald', 'Donald'],
      ['Mac Leod', 'MacLeod', 'Leod'],
      ['D Souza-Smith', "D'Souza-Smith", 'Souza Smith'],
    ] as const;
    for (const [spaced, joined, rest] of cases) {
      const [c] = comparisonColumns(aoifeAs([spaced, joined, rest]), aoifeAs([]));
      for (const pass of BLOCKING_PASSES) {
        for (const keysOf of [pass.leftKeys, pass.rightKeys]) {
          const expected = new Set([...keysOf(c, 1), ...keysOf(c, 2)]);
          expect(new Set(keysOf(c, 0)), `${pass.name} of ${spaced}`).toEqual(expected);
        }
      }
    }
  });

  it('brings a partner that spaces the prefixes to every candidate it would meet writing them joined', () => {
    // The source writes O'Brien, McDonald... joined; the partner is the same extract with the
    // prefixes spaced. Every pair the joined extract brings together, whatever its errors, must
    // still be brought together: the spaced names are filed under all the joined ones' keys.
    const s = generateLinkageScenario({ seed: 23, profile: 'typical', leftSize: 10_000 });
    const left = canonicaliseColumns(s.left, pseudonymiser).batch;
    const joined = canonicaliseColumns(s.right, pseudonymiser).batch;
    const spaced = withPrefixesSpaced(joined);
    expect(spaced.familyName.filter((name, k) => name !== joined.familyName[k]).length).toBeGreaterThan(10);

    const withSpaces = pairsOf(left, spaced);
    const missed = [...pairsOf(left, joined)].filter((pair) => !withSpaces.has(pair));
    expect(missed.length).toBe(0);
  });
});
