import { describe, expect, it } from 'vitest';
import {
  validateNhsNumber,
  validateNiNumber,
  validatePostcode,
  validateUpn,
} from '../../../shared/domain/identifiers.js';
import { givenNamesEquivalent } from '../../../shared/domain/normalise.js';
import { FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES } from '../../../shared/synthetic/name-tables.js';
import { ageOf, civilOfDay, generatePopulation, isoDateOfDay } from '../../../shared/synthetic/people.js';

const population = generatePopulation({ seed: 'people-test', size: 40_000 });

describe('generatePopulation', () => {
  it('is determined by its seed', () => {
    const again = generatePopulation({ seed: 'people-test', size: 2_000 });
    const other = generatePopulation({ seed: 'another', size: 2_000 });
    expect(again.familyName.slice(0, 2_000)).toEqual(population.familyName.slice(0, 2_000));
    expect(again.nhsNumber.slice(0, 50)).toEqual(population.nhsNumber.slice(0, 50));
    expect(other.familyName.slice(0, 200)).not.toEqual(population.familyName.slice(0, 200));
  });

  it('skews family names like the real population: SMITH first, a long tail after', () => {
    const counts = new Map<string, number>();
    for (const name of population.familyName) counts.set(name, (counts.get(name) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    expect(ranked[0]?.[0]).toBe('SMITH');
    expect(ranked.slice(0, 6).map(([n]) => n)).toEqual(expect.arrayContaining(['JONES', 'WILLIAMS']));
    const smithShare = (counts.get('SMITH') ?? 0) / population.size;
    expect(smithShare).toBeGreaterThan(0.008);
    expect(smithShare).toBeLessThan(0.02);
    expect(counts.size).toBeGreaterThan(2_000);
  });

  it('gives everyone a valid, unique NHS number or none, and identifiers by age', () => {
    const nhs = new Set<string>();
    for (let i = 0; i < population.size; i++) {
      const age = ageOf(population, i);
      const n = population.nhsNumber[i] as string;
      if (n !== '') {
        expect(validateNhsNumber(n).ok).toBe(true);
        nhs.add(n);
      }
      const upn = population.upn[i] as string;
      expect(upn !== '').toBe(age >= 3 && age <= 24);
      if (upn !== '') expect(validateUpn(upn).ok).toBe(true);
      const ni = population.niNumber[i] as string;
      if (ni !== '') {
        expect(age).toBeGreaterThanOrEqual(16);
        expect(validateNiNumber(ni).ok).toBe(true);
      }
    }
    const withNhs = population.nhsNumber.filter((n) => n !== '').length;
    expect(nhs.size).toBe(withNhs);
    expect(withNhs / population.size).toBeGreaterThan(0.95);
  });

  it('houses people in households that share a valid postcode, with twins among the children', () => {
    for (const pc of population.postcodes.postcode) expect(validatePostcode(pc)).toEqual({ ok: true, value: pc });
    const perPostcode = new Map<number, number>();
    for (const pc of population.householdPostcode) perPostcode.set(pc, (perPostcode.get(pc) ?? 0) + 1);
    const mean = population.householdPostcode.length / perPostcode.size;
    expect(mean).toBeGreaterThan(5);
    let twins = 0;
    for (let i = 1; i < population.size; i++) {
      if (population.household[i] === population.household[i - 1] && population.dobDay[i] === population.dobDay[i - 1])
        twins++;
    }
    expect(twins).toBeGreaterThan(10);
  });

  it('only offers nicknames that the matcher treats as the same given name', () => {
    for (const entry of [...MALE_GIVEN_NAMES, ...FEMALE_GIVEN_NAMES]) {
      for (const nickname of entry.nicknames)
        expect(givenNamesEquivalent(entry.name, nickname), `${entry.name}/${nickname}`).toBe(true);
    }
  });

  it('converts day numbers to calendar dates exactly', () => {
    for (const day of [-60_000, -1, 0, 59, 11_016, 20_088]) {
      expect(isoDateOfDay(day)).toBe(new Date(day * 86_400_000).toISOString().slice(0, 10));
    }
    expect(civilOfDay(0)).toBe(19_700_101);
  });
});
