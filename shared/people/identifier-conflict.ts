import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';

/**
 * NHS numbers, UPNs and system ids name one person each (shared/matching/hard-identifiers.ts):
 * any of the person's records holding another value is a conflict. An NI number has no check
 * character, so one record's typing slip must not block the person; it conflicts only when none
 * of the person's NI numbers is the caller's.
 */
export function isHardKind(kind: string): boolean {
  return kind !== 'ni';
}

/** One identifier a person's record holds, as its keyed hash and the key version it was made with. */
export interface HeldIdentifier {
  kind: string;
  hash: string;
  key_version: string;
}

/**
 * Whether the identifiers the caller gave say the person holding `held` is someone else. Each
 * is compared under the key each record's hash was made with; a retired key's hashes cannot be,
 * and say nothing either way.
 */
export function identifiersConflict(
  pseudonymisers: readonly Pseudonymiser[],
  given: readonly { kind: string; value: string }[],
  held: readonly HeldIdentifier[],
): boolean {
  for (const { kind, value } of given) {
    const callers = new Map(pseudonymisers.map((p) => [p.keyVersion, p.hash(kind as PseudonymKind, value)]));
    let same = 0;
    let other = 0;
    for (const row of held) {
      const mine = row.kind === kind ? callers.get(row.key_version) : undefined;
      if (mine === undefined) continue;
      if (row.hash === mine) same++;
      else other++;
    }
    if (other > 0 && (isHardKind(kind) || same === 0)) return true;
  }
  return false;
}
