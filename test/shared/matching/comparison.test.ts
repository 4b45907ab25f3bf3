import { describe, expect, it } from 'vitest';
import { comparisonColumns } from '../../../shared/matching/comparison.js';
import { toRecordBatch, type CanonicalRecord } from '../../../shared/matching/record.js';

/** Records with one postcode each and nothing else to compare. */
function batchOf(sourceId: string, postcodes: readonly string[]) {
  const records: CanonicalRecord[] = postcodes.map((postcode, i) => ({
    recordId: `${sourceId}-${i}`,
    sourceId,
    givenName: 'ANN',
    familyName: 'SMITH',
    dob: '2010-01-01',
    postcode,
  }));
  return toRecordBatch(records).batch;
}

describe('comparison columns', () => {
  it('take the sector and district of each canonical postcode, none of a forces postcode a whole unit shares', () => {
    const [left] = comparisonColumns(
      batchOf('a', ['SW1A 1AA', 'BFPO 1234', 'BF1 4FB', 'FIQQ 1ZZ', '']),
      batchOf('b', []),
    );
    expect(left.postcode).toEqual(['SW1A 1AA', '', '', 'FIQQ 1ZZ', '']);
    expect(left.sector).toEqual(['SW1A 1', '', '', 'FIQQ 1', '']);
    expect(left.district).toEqual(['SW1', '', '', 'FIQQ', '']);
  });
});
