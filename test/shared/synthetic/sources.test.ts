import { describe, expect, it } from 'vitest';
import { validateNhsNumber } from '../../../shared/domain/identifiers.js';
import { normaliseDate } from '../../../shared/domain/normalise.js';
import { RECORD_ERROR } from '../../../shared/synthetic/error-profiles.js';
import { isoDateOfDay, personId } from '../../../shared/synthetic/people.js';
import { generateLinkageScenario, truthOf } from '../../../shared/synthetic/sources.js';
import type { SourceRecords } from '../../../shared/synthetic/sources.js';

const share = (source: SourceRecords, flag: number): number => {
  let n = 0;
  for (const e of source.errors) if ((e & flag) !== 0) n++;
  return n / source.size;
};

describe('generateLinkageScenario', () => {
  const hard = generateLinkageScenario({ seed: 3, profile: 'hard', leftSize: 6_000, rightSize: 5_000, overlap: 0.7 });
  const clean = generateLinkageScenario({ seed: 3, profile: 'clean', leftSize: 6_000, rightSize: 5_000, overlap: 0.7 });

  it('draws sources of the requested sizes with the requested overlap, and knows who is who', () => {
    expect(hard.left.size).toBe(6_000);
    expect(hard.right.size).toBe(5_000);
    const inLeft = new Set(hard.left.personIndex);
    let shared = 0;
    for (const p of hard.right.personIndex) if (inLeft.has(p)) shared++;
    expect(shared).toBe(3_500);
    expect(hard.sharedPeople).toBe(3_500);
    expect(truthOf(hard.left).get(hard.left.recordId[0] as string)).toBe(personId(hard.left.personIndex[0] as number));
  });

  it('is determined by its seed', () => {
    const again = generateLinkageScenario({
      seed: 3,
      profile: 'hard',
      leftSize: 6_000,
      rightSize: 5_000,
      overlap: 0.7,
    });
    expect(again.left.givenName).toEqual(hard.left.givenName);
    expect(Array.from(again.right.personIndex)).toEqual(Array.from(hard.right.personIndex));
  });

  it("makes the 'hard' profile hard: more errors and far fewer identifiers than 'clean'", () => {
    for (const flag of [RECORD_ERROR.givenTypo, RECORD_ERROR.nickname, RECORD_ERROR.moved, RECORD_ERROR.dobDigit]) {
      expect(share(hard.left, flag)).toBeGreaterThan(2 * share(clean.left, flag));
    }
    const withNhs = (s: SourceRecords): number => s.nhsNumber.filter((n) => n !== '').length / s.size;
    expect(withNhs(hard.right)).toBeLessThan(withNhs(clean.right) / 2);
  });

  it('records exactly the errors it made', () => {
    const { population, right } = hard;
    let checked = 0;
    for (let k = 0; k < right.size; k++) {
      const e = right.errors[k] as number;
      const truth = isoDateOfDay(population.dobDay[right.personIndex[k] as number] as number);
      const date = normaliseDate(right.dob[k] as string);
      if ((e & (RECORD_ERROR.dobTransposed | RECORD_ERROR.dobDigit | RECORD_ERROR.dobMissing)) === 0) {
        expect(date).toEqual({ ok: true, value: truth });
        checked++;
      } else if (
        (e & RECORD_ERROR.dobTransposed) !== 0 &&
        (e & RECORD_ERROR.dobDigit) === 0 &&
        (e & RECORD_ERROR.dobMissing) === 0
      ) {
        expect(date.ok && date.value !== truth).toBe(true);
      }
      const nhs = right.nhsNumber[k] as string;
      if (nhs !== '' && (e & RECORD_ERROR.identifierMistyped) === 0) {
        expect(nhs).toBe(population.nhsNumber[right.personIndex[k] as number]);
      }
    }
    expect(checked).toBeGreaterThan(4_000);
  });

  it('mistypes NHS numbers the way people do: the check digit catches them', () => {
    let mistyped = 0;
    for (let k = 0; k < hard.right.size; k++) {
      const nhs = hard.right.nhsNumber[k] as string;
      if (nhs === '' || nhs === hard.population.nhsNumber[hard.right.personIndex[k] as number]) continue;
      mistyped++;
      expect(validateNhsNumber(nhs).ok).toBe(false);
    }
    expect(mistyped).toBeGreaterThan(0);
  });
});
