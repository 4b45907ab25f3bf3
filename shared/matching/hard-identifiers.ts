/**
 * Hard identifiers — NHS number, UPN and system ids — name one person each. Two records that
 * both carry one and disagree are two people, whatever their names and dates say, so no tier
 * may link them and no cluster may hold both.
 *
 * The NI number links (tier 2) but is not a hard identifier here: it has no check character,
 * so a mistyped one is still well-formed, and treating a disagreement as proof of two people
 * would block the true pair behind a typing slip. NHS numbers and UPNs carry check characters
 * that reject nearly every slip at import, and system ids are copied electronically.
 */

import type { RecordBatch } from './record.js';

export type HardIdentifierConflict = 'nhs-conflict' | 'upn-conflict' | 'system-id-conflict';

function differ(a: string, b: string): boolean {
  return a !== '' && b !== '' && a !== b;
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
