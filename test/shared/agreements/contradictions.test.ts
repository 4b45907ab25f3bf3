/**
 * Agreements the loader accepted although they are invalid or contradict
 * themselves. Each test starts from a real agreement file, changes one thing, and expects the
 * loader to refuse it (README "Agreements as code": lintel "refuses to run if any of them is
 * invalid").
 */
import { describe, expect, it } from 'vitest';
import { AgreementValidationError } from '../../../shared/agreements/agreement-issue.js';
import type { AgreementIssue } from '../../../shared/agreements/agreement-issue.js';
import { parseAgreement } from '../../../shared/agreements/load.js';
import { agreementFile, changedAgreementText } from './agreement-files.js';
import type { KnownAgreementName, RawAgreement } from './agreement-files.js';

const NOW = new Date('2026-03-01T12:00:00Z');

function issuesOf(name: KnownAgreementName, change: (a: RawAgreement) => void): readonly AgreementIssue[] {
  try {
    parseAgreement(changedAgreementText(name, change), agreementFile(name), { now: NOW });
  } catch (error) {
    if (error instanceof AgreementValidationError) return error.issues;
    throw error;
  }
  return [];
}

describe('agreements the loader refuses as contradicting themselves (found by a review)', () => {
  it('rejects a joint-system keepWhile value the field cannot hold', () => {
    // The ISA's rule is `keepWhile: { field: inTemporaryAccommodation, equals: 'Y' }` on a flag.
    // A value no flag holds makes the rule unjudgeable: shared/retention/keep-while.ts returns
    // 'value-not-of-field-type', so retention never deletes anything (skipped on every pass) and
    // shared/people/joint-system-scope.ts answers every lookup under the ISA as no-match - a
    // retention condition silently not in force, yet lintel starts.
    const issues = issuesOf('isa', (a) => {
      const rule = a.retention.find((r: RawAgreement) => r.keepWhile !== undefined);
      rule.keepWhile.equals = 'Yes, in TA';
    });
    expect(
      issues.filter((issue) => issue.path.startsWith('retention[0].keepWhile')).length,
      'a keepWhile value that is not a value of the field type must stop start-up',
    ).toBeGreaterThan(0);
  });

  it('rejects a purpose resting on consent (Art. 6(1)(a)) that does not require consent', () => {
    // With consentRequired: false lintel releases data without any consent record, while the
    // lawful basis the DPO signed off says the processing rests on the subject's consent.
    const issues = issuesOf('keyways', (a) => {
      a.purposes[0].lawfulBasis.article6 = ['6(1)(a)'];
    });
    expect(
      issues.length,
      'a purpose whose only Art. 6 basis is consent must have consentRequired: true',
    ).toBeGreaterThan(0);
  });

  it('rejects special-category data resting on explicit consent (Art. 9(2)(a)) without consentRequired', () => {
    // Keyways grants MAPPA, risk assessments and psychiatric reports for housing-allocation.
    // If the only Art. 9 condition is explicit consent, releasing them with no consent on record
    // has no Art. 9 condition at all; the cross-check only asks that article9 be non-empty.
    const issues = issuesOf('keyways', (a) => {
      a.purposes[0].lawfulBasis.article9 = ['9(2)(a)'];
    });
    expect(issues.length, 'special-category grants under a 9(2)(a)-only purpose must require consent').toBeGreaterThan(
      0,
    );
  });
});
