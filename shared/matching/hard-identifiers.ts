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
 *
 * After a key rotation a record may hold an identifier hashed under another key version
 * ({@link otherKeyValue}) until its source re-sends it. Two values of one kind under different
 * versions cannot be compared: they may name one person or two. Such a pair is no conflict for
 * a link an identifier vouches for, but neither the names rules nor the probabilistic tier may
 * link it, since their guard is exactly the comparison that cannot be made.
 */

import type { RecordBatch } from './record.js';

export type HardIdentifierConflict = 'nhs-conflict' | 'upn-conflict' | 'system-id-conflict';

/** What refuses a link by a rule that is not an identifier's own, beyond the hard identifiers. */
export type WeakLinkConflict = 'ni-conflict' | 'other-key-version';

/**
 * A hash under `keyVersion`, not the current one, as a batch holds it: equal only to a value
 * hashed under that version from the same identifier. Hashes are hex, so the ':' cannot clash.
 */
export function otherKeyValue(keyVersion: string, hash: string): string {
  return `${keyVersion}:${hash}`;
}

/** The key version of a batch's identifier value: '' for the current one. */
export function keyVersionOf(value: string): string {
  const at = value.indexOf(':');
  return at < 0 ? '' : value.slice(0, at);
}

/** Both present and different, under one key version: two people. */
export function identifiersDiffer(a: string, b: string): boolean {
  return a !== '' && b !== '' && a !== b && keyVersionOf(a) === keyVersionOf(b);
}

/** Both present, under different key versions: one person or two, nobody can tell yet. */
function uncomparable(a: string, b: string): boolean {
  return a !== '' && b !== '' && a !== b && keyVersionOf(a) !== keyVersionOf(b);
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
  if (identifiersDiffer(left.nhsHash[i] as string, right.nhsHash[j] as string)) return 'nhs-conflict';
  if (identifiersDiffer(left.upnHash[i] as string, right.upnHash[j] as string)) return 'upn-conflict';
  if (left.systemIds.size > 0 && right.systemIds.size > 0) {
    for (const [system, leftIds] of left.systemIds) {
      const rightIds = right.systemIds.get(system);
      if (rightIds !== undefined && identifiersDiffer(leftIds[i] as string, rightIds[j] as string)) {
        return 'system-id-conflict';
      }
    }
  }
  return null;
}

/** Whether records i of `left` and j of `right` hold one value of some identifier (under one key version). */
export function shareIdentifier(left: RecordBatch, i: number, right: RecordBatch, j: number): boolean {
  const same = (a: string | undefined, b: string | undefined) => a !== undefined && a !== '' && a === b;
  if (same(left.nhsHash[i], right.nhsHash[j]) || same(left.upnHash[i], right.upnHash[j])) return true;
  if (same(left.niHash[i], right.niHash[j])) return true;
  for (const [system, leftIds] of left.systemIds) {
    if (same(leftIds[i], right.systemIds.get(system)?.[j])) return true;
  }
  return false;
}

/** 'other-key-version' when records i and j hold one kind of identifier under different key versions. */
export function otherKeyVersionConflict(
  left: RecordBatch,
  i: number,
  right: RecordBatch,
  j: number,
): 'other-key-version' | null {
  if (
    uncomparable(left.nhsHash[i] as string, right.nhsHash[j] as string) ||
    uncomparable(left.upnHash[i] as string, right.upnHash[j] as string) ||
    uncomparable(left.niHash[i] as string, right.niHash[j] as string)
  ) {
    return 'other-key-version';
  }
  if (left.systemIds.size > 0 && right.systemIds.size > 0) {
    for (const [system, leftIds] of left.systemIds) {
      const rightIds = right.systemIds.get(system);
      if (rightIds !== undefined && uncomparable(leftIds[i] as string, rightIds[j] as string)) {
        return 'other-key-version';
      }
    }
  }
  return null;
}

/** Why record i of `left` and j of `right` may not be linked by a rule that is not an identifier's own, or null. */
export function weakLinkConflict(left: RecordBatch, i: number, right: RecordBatch, j: number): WeakLinkConflict | null {
  if (identifiersDiffer(left.niHash[i] as string, right.niHash[j] as string)) return 'ni-conflict';
  return otherKeyVersionConflict(left, i, right, j);
}
