import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { linkingRulesOf } from '../../../shared/linkage/linking-rules.js';

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
    expect(rules.unsupportedKeys).toEqual([]);
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
    expect(linkingRulesOf(odd).unsupportedKeys).toEqual(['tier 1 key 1']);
  });
});
