import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { linkingRulesOf } from '../../../shared/linkage/linking-rules.js';
import { linkDeterministic } from '../../../shared/matching/deterministic.js';
import type { CanonicalRecord } from '../../../shared/matching/record.js';
import { toRecordBatch } from '../../../shared/matching/record.js';

const agreements = loadAgreements('agreements');
const rulesOf = (id: string) => linkingRulesOf(agreements.agreement(id)!.agreement);

describe("an agreement's matching section as linkage rules", () => {
  it('reads the ISA as its five methods, with its own tier numbers', () => {
    const rules = rulesOf('social-care-education-housing');
    expect(Object.fromEntries(rules.ruleTiers)).toEqual({
      upn: 1,
      nhs: 1,
      'system:education': 2,
      'system:social-care': 2,
      'dob-name': 3,
      'postcode-name': 4,
    });
    expect(rules.probabilisticTier).toBe(5);
    expect(rules.unsupportedKeys.map(({ key }) => key)).toEqual([]);
    // The NI number its datasets carry is named by no method, so it is no way to find anyone.
    expect([...rules.identifierKinds].sort()).toEqual(['nhs', 'system-id:education', 'system-id:social-care', 'upn']);
  });

  it('links Keyways registers only on what the DSA lists: NI number, then date of birth and names; never postcodes', () => {
    const rules = rulesOf('keyways-housing-allocation');
    expect(Object.fromEntries(rules.ruleTiers)).toEqual({ ni: 1, 'dob-name': 2 });
    expect(rules.probabilisticTier).toBe(3);
    expect([...rules.identifierKinds]).toEqual(['ni']);
  });

  it('links the research participants on the case reference alone, with no probabilistic tier', () => {
    const rules = rulesOf('housing-first-research');
    expect(Object.fromEntries(rules.ruleTiers)).toEqual({ 'system:case-reference': 1 });
    expect(rules.probabilisticTier).toBeNull();
  });

  it('reports a key it has no rule for instead of ignoring it silently', () => {
    const isa = agreements.agreement('social-care-education-housing')!.agreement;
    const odd = {
      ...isa,
      matching: [
        {
          tier: 1,
          name: 'gender',
          method: 'deterministic' as const,
          keys: [[{ field: 'gender' }]],
          confirmation: 'automatic' as const,
        },
      ],
    };
    expect(linkingRulesOf(odd).unsupportedKeys.map(({ key }) => key)).toEqual(['tier 1 key 1']);
  });

  it('keeps an identifier a key cuts short among those a lookup may find someone by, linking nothing by it', () => {
    const keyways = agreements.agreement('keyways-housing-allocation')!.agreement;
    const rules = linkingRulesOf({
      ...keyways,
      matching: keyways.matching.map((tier) =>
        tier.tier === 1 ? { ...tier, keys: [[{ field: 'nationalInsuranceNumber', prefix: 6 }]] } : tier,
      ),
    });
    expect(rules.ruleTiers.has('ni')).toBe(false);
    expect([...rules.identifierKinds]).toEqual(['ni']);
    expect(rules.unsupportedKeys).toEqual([{ key: 'tier 1 key 1', identifierKind: 'ni' }]);
  });

  describe('a date-of-birth or postcode key runs only when it says what the engine compares', () => {
    const keyways = agreements.agreement('keyways-housing-allocation')!.agreement;
    type KeyPart = { field: string; prefix?: number };
    const withTier2Key = (key: KeyPart[]) => ({
      ...keyways,
      matching: keyways.matching.map((tier) => (tier.tier === 2 ? { ...tier, keys: [key] } : tier)),
    });
    const applicant = (givenName: string, recordId: string): CanonicalRecord => ({
      recordId,
      sourceId: recordId,
      givenName,
      familyName: 'SAMPLE',
      dob: '1990-04-01',
      postcode: '',
    });

    it('does not link MARK and MARY on a key that says the first four letters of the first name', () => {
      const rules = linkingRulesOf(
        withTier2Key([{ field: 'dateOfBirth' }, { field: 'lastName' }, { field: 'firstName', prefix: 4 }]),
      );
      const links = linkDeterministic(
        toRecordBatch([applicant('MARK', 'a')]).batch,
        toRecordBatch([applicant('MARY', 'b')]).batch,
        { ruleTiers: rules.ruleTiers },
      );
      expect(links.count).toBe(0);
      expect(Object.fromEntries(rules.ruleTiers)).toEqual({ ni: 1 });
      expect(rules.unsupportedKeys.map(({ key }) => key)).toEqual(['tier 2 key 1']);
    });

    it.each<[string, KeyPart[]]>([
      ['leaves out the first name', [{ field: 'dateOfBirth' }, { field: 'lastName' }]],
      ['leaves out the last name', [{ field: 'dateOfBirth' }, { field: 'firstName', prefix: 3 }]],
      ['takes the whole first name', [{ field: 'dateOfBirth' }, { field: 'lastName' }, { field: 'firstName' }]],
      [
        'cuts the last name short',
        [{ field: 'dateOfBirth' }, { field: 'lastName', prefix: 3 }, { field: 'firstName', prefix: 3 }],
      ],
      [
        'adds another field',
        [
          { field: 'dateOfBirth' },
          { field: 'lastName' },
          { field: 'firstName', prefix: 3 },
          { field: 'nationalInsuranceNumber' },
        ],
      ],
      ['names the date of birth twice', [{ field: 'dateOfBirth' }, { field: 'dateOfBirth' }, { field: 'lastName' }]],
      ['cuts an identifier short', [{ field: 'nationalInsuranceNumber', prefix: 6 }]],
    ])('runs no rule for a key that %s, and reports it', (_, key) => {
      const rules = linkingRulesOf(withTier2Key(key));
      expect(Object.fromEntries(rules.ruleTiers)).toEqual({ ni: 1 });
      expect(rules.unsupportedKeys.map(({ key }) => key)).toEqual(['tier 2 key 1']);
    });

    it('runs no postcode rule for a postcode key that says four letters, and keeps the date-of-birth rule', () => {
      const isa = agreements.agreement('social-care-education-housing')!.agreement;
      const rules = linkingRulesOf({
        ...isa,
        matching: isa.matching.map((tier) =>
          tier.tier === 4
            ? { ...tier, keys: [[{ field: 'homePostcode' }, { field: 'lastName' }, { field: 'firstName', prefix: 4 }]] }
            : tier,
        ),
      });
      expect(rules.ruleTiers.has('postcode-name')).toBe(false);
      expect(rules.ruleTiers.get('dob-name')).toBe(3);
      expect(rules.unsupportedKeys.map(({ key }) => key)).toEqual(['tier 4 key 1']);
    });

    it('still links on the key written in another order', () => {
      const rules = linkingRulesOf(
        withTier2Key([{ field: 'firstName', prefix: 3 }, { field: 'lastName' }, { field: 'dateOfBirth' }]),
      );
      expect(Object.fromEntries(rules.ruleTiers)).toEqual({ ni: 1, 'dob-name': 2 });
      expect(rules.unsupportedKeys.map(({ key }) => key)).toEqual([]);
    });
  });
});
