import { describe, expect, it } from 'vitest';
import { compareAgreementVersions } from '../../../shared/agreements/version-order.js';

describe('the order of two revisions of an agreement file', () => {
  it('reads versions as dotted numbers, not as strings', () => {
    expect(compareAgreementVersions('1.9.0', '1.10.0')).toBe(-1);
    expect(compareAgreementVersions('1.2.0', '1.1.9')).toBe(1);
    expect(compareAgreementVersions('1.2', '1.2.0')).toBe(0);
    expect(compareAgreementVersions('v7', 'v8')).toBe(-1);
  });

  it('knows no order of a version that is not dotted numbers', () => {
    expect(compareAgreementVersions('1.2.0-draft', '1.2.0')).toBeUndefined();
    expect(compareAgreementVersions('2026-12', '2027-01')).toBeUndefined();
  });
});
