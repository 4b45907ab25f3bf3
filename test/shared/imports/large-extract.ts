/**
 * A large, valid `la-housing/multiple-disadvantage-indicators` extract, generated in the test
 * (too big to commit): every row passes the row schema, so a load of it writes every row. The
 * names are made up from short lists, the identifiers are drawn by the domain's generators
 * from a seeded PRNG (NHS numbers from NHS England's test range), so the file is the same bytes
 * for the same seed and no value is a real person's.
 */
import { generateNhsNumber, generateNiNumber, generateUpn } from '../../../shared/domain/identifiers.js';
import { SeededRandom } from '../../../shared/synthetic/random.js';
import { HOUSING_COLUMNS } from '../../support/housing-columns.js';

export { HOUSING_COLUMNS };

const GIVEN = ['Albarin', 'Brisenda', 'Corvinus', 'Delphina', 'Evandor', 'Faylinn', 'Gorwen', 'Hespera', 'Ivomir'];
const FAMILY = ['Quorlby', 'Rathmoyle', 'Sternhollow', 'Tumbrill', 'Vashcombe', 'Wendlebury', 'Yelverton', 'Zanthorpe'];
const STREETS = ['Marigold Crescent', 'Larkspur Row', 'Foxglove Terrace', 'Hawthorn Wynd', 'Celandine Close'];
const INWARD = 'ABDEFGHJLNPQRSTUWXYZ';
const flag = (yes: boolean) => (yes ? 'Y' : 'N');

/** The CSV (header and `rows` data rows, LF line ends) for `seed`. */
export function largeHousingExtract(rows: number, seed: string): Buffer {
  const rng = new SeededRandom(`large-extract:${seed}`);
  const lines: string[] = [HOUSING_COLUMNS.join(',')];
  for (let i = 0; i < rows; i++) {
    const given = GIVEN[rng.int(GIVEN.length)]!;
    const family = `${FAMILY[rng.int(FAMILY.length)]!}${rng.chance(0.3) ? `-${FAMILY[rng.int(FAMILY.length)]!}` : ''}`;
    const dob = `${1940 + rng.int(65)}-${String(1 + rng.int(12)).padStart(2, '0')}-${String(1 + rng.int(28)).padStart(2, '0')}`;
    const postcode = `ME${1 + rng.int(20)} ${rng.int(10)}${INWARD[rng.int(20)]!}${INWARD[rng.int(20)]!}`;
    lines.push(
      [
        given,
        family,
        dob,
        rng.chance(0.5) ? 'Female' : 'Male',
        flag(rng.chance(0.3)),
        flag(rng.chance(0.25)),
        'N',
        flag(rng.chance(0.2)),
        `"${1 + rng.int(200)} ${STREETS[rng.int(STREETS.length)]!}, Maidstone"`,
        postcode,
        rng.chance(0.75) ? generateNiNumber(rng.source) : '',
        rng.chance(0.66) ? generateNhsNumber(rng.source, { testRange: true }) : '',
        rng.chance(0.5) ? generateUpn(rng.source) : '',
      ].join(','),
    );
  }
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}
