/**
 * Hard identifiers — NHS number, UPN and system ids — name one person each. Two records that
 * both carry one and disagree are two people, whatever their names and dates say, so no tier
 * may link them and no cluster may hold both.
 *
 * The NI number sits between: it has no check character, so a mistyped one is still
 * well-formed, and a disagreement must not block a pair that an NHS number, UPN or system id
 * says is one person. But two records agreeing only on names and a date of birth or postcode
 * while their NI numbers differ are far likelier two namesakes than a typing slip, and a false
 * merge shows one person's record to the other's officers. So a differing NI number refuses
 * automatic links by every rule that is not an identifier's own (date of birth + names,
 * postcode + names), whatever tier an agreement gives those rules. The pair is then left to the
 * probabilistic tier, whose candidates an officer confirms or rejects: that is where a slip in
 * an NI number can still be recognised.
 */

import type { RecordBatch } from './record.js';

export type HardIdentifierConflict = 'nhs-conflict' | 'upn-conflict' | 'system-id-conflict';

/** What refuses a link by a rule that is not an identifier's own, beyond the hard identifiers. */
export type WeakLinkConflict = 'ni-conflict';

function differ(a: string, b: string): boolean {
  return a !== '' && b !== '' && a !== b;
}

/** True for the engine rules that link on one identifier's value (`nhs`, `upn`, `ni`, `system:<system>`). */
export function isIdentifierRule(rule: string): boolean {
  return rule === 'nhs' || rule === 'upn' || rule === 'ni' || rule.startsWith('system:');
}

/** The first hard identifier on which record i of `left` and j of `right` disagree, or null. */
export function hardIdentifierConflict(
  left: RecordBatch,
  i: number,
  right: RecordBatch,
  j: number,
): HardIdentifierConflict | null {
  if (differ(left.nhsHash[i] as string, right.nhsHash[j] as string)) return 'nhs-conflict';
  if (differ(left.upnHash[i] as string, right.upnHash[j] as string)) return 'upn-conflict';
  if (left.systemIds.size > 0 && right.systemIds.size > 0) {
    for (const [system, leftIds] of left.systemIds) {
      const rightIds = right.systemIds.get(system);
      if (rightIds !== undefined && differ(leftIds[i] as string, rightIds[j] as string)) {
        return 'system-id-conflict';
      }
    }
  }
  return null;
}

/** Why record i of `left` and j of `right` may not be linked by a rule that is not an identifier's own, or null. */
export function weakLinkConflict(left: RecordBatch, i: number, right: RecordBatch, j: number): WeakLinkConflict | null {
  return differ(left.niHash[i] as string, right.niHash[j] as string) ? 'ni-conflict' : null;
}
