/**
 * Deterministic tiers 1–4 of the social care / education / housing agreement, most reliable
 * first:
 *   1. NHS number or UPN;
 *   2. system ids (each system its own rule) and NI number;
 *   3. date of birth + legal last name + first three letters of legal first name;
 *   4. home postcode + legal last name + first three letters of legal first name.
 * The agreement names only UPN and NHS number for tier 1; the NI number is held "for matching
 * only" like the system ids and is placed with them. The last name in tiers 3 and 4 is compared
 * by its familyNameKey, so "O Brien" is "O'Brien" here as it is to a lookup by names.
 *
 * Each rule is a hash join over the records that no earlier rule linked, so every pair carries
 * the tier of the most reliable rule that links it. Guards:
 * - ambiguity: a key held by more than one remaining record on either side links nobody (twins
 *   share date of birth, surname and often first three letters; families share a postcode);
 * - hard identifiers: a pair whose NHS numbers, UPNs or same-system ids both exist
 *   and differ is never linked, whatever rule proposes it;
 * - NI number: a pair whose NI numbers both exist and differ is not linked by the date of
 *   birth + names or postcode + names rule (see hard-identifiers.ts);
 * - tier 4 only: a pair whose dates of birth both exist and are not equal, a day–month
 *   transposition or one digit apart in the day or month is not linked. Postcode, surname and initial letters are
 *   shared by a parent and the child named after them; the date is what tells them apart.
 * Everything a guard holds back remains for tier 5, the probabilistic review queue.
 */

import { digitDifferences, familyNameKeyColumn, firstThree, isDayMonthTransposition } from '../domain/normalise.js';
import { hardIdentifierConflict, isIdentifierRule, weakLinkConflict } from './hard-identifiers.js';
import type { HardIdentifierConflict, WeakLinkConflict } from './hard-identifiers.js';
import { KeyJoiner } from './join-table.js';
import type { KeyParts } from './join-table.js';
import type { RecordBatch } from './record.js';
import { sharedSystemNames } from './record.js';

export type DeterministicTier = 1 | 2 | 3 | 4;

export type PairConflictReason = HardIdentifierConflict | WeakLinkConflict | 'dob-conflict';

export interface RuleSummary {
  readonly rule: string;
  readonly tier: DeterministicTier;
  readonly linked: number;
  /** Keys present on both sides but held by more than one record on at least one side. */
  readonly ambiguousKeys: number;
  /** Unique-key pairs refused by a guard. */
  readonly refused: number;
}

export interface PairConflict {
  readonly left: number;
  readonly right: number;
  readonly rule: string;
  readonly reason: PairConflictReason;
}

export interface DeterministicLinks {
  readonly count: number;
  /** Record indices into the left and right batches, and each pair's tier and rule. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly tier: Uint8Array;
  readonly ruleIndex: Uint8Array;
  readonly rules: readonly RuleSummary[];
  /** Pairs a guard refused, for the review queue. */
  readonly conflicts: readonly PairConflict[];
  /** 1 for records linked by some rule. */
  readonly linkedLeft: Uint8Array;
  readonly linkedRight: Uint8Array;
}

export interface DeterministicOptions {
  /** Refuse tier-4 pairs whose dates of birth clearly differ (default true). */
  readonly postcodeTierDobGuard?: boolean;
  /**
   * The rules an agreement names, by rule name (`nhs`, `upn`, `system:<system>`, `ni`,
   * `dob-name`, `postcode-name`), each with the agreement's own tier number. Rules not named
   * are not run. Default: every rule, numbered as in the social care / education ISA.
   */
  readonly ruleTiers?: ReadonlyMap<string, number>;
}

interface Rule {
  readonly name: string;
  readonly tier: DeterministicTier;
  readonly left: KeyParts;
  readonly right: KeyParts;
  readonly dobGuard: boolean;
}

function isCapitalLetter(code: number): boolean {
  return code >= 65 && code <= 90;
}

/**
 * First three letters of each given name, as {@link firstThree} computes them. When a name
 * starts with three capitals A–Z (nearly every normalised name) those are its first three
 * letters whatever follows, so the hot loop over millions of records skips re-normalising.
 */
export function firstThreeColumn(givenNames: readonly string[]): string[] {
  const out = new Array<string>(givenNames.length);
  for (let i = 0; i < givenNames.length; i++) {
    const name = givenNames[i] as string;
    out[i] =
      name.length >= 3 &&
      isCapitalLetter(name.charCodeAt(0)) &&
      isCapitalLetter(name.charCodeAt(1)) &&
      isCapitalLetter(name.charCodeAt(2))
        ? name.slice(0, 3)
        : firstThree(name);
  }
  return out;
}

function rulesFor(left: RecordBatch, right: RecordBatch, dobGuard: boolean): Rule[] {
  const leftFirst3 = firstThreeColumn(left.givenName);
  const rightFirst3 = firstThreeColumn(right.givenName);
  // "O BRIEN" and "OBRIEN" are one legal last name keyed two ways (familyNameKey), as a lookup by names holds.
  const leftFamily = familyNameKeyColumn(left.familyName);
  const rightFamily = familyNameKeyColumn(right.familyName);
  const rules: Rule[] = [
    { name: 'nhs', tier: 1, left: [left.nhsHash], right: [right.nhsHash], dobGuard: false },
    { name: 'upn', tier: 1, left: [left.upnHash], right: [right.upnHash], dobGuard: false },
  ];
  for (const system of sharedSystemNames(left, right)) {
    const l = left.systemIds.get(system);
    const r = right.systemIds.get(system);
    if (l === undefined || r === undefined) continue;
    rules.push({ name: `system:${system}`, tier: 2, left: [l], right: [r], dobGuard: false });
  }
  rules.push(
    { name: 'ni', tier: 2, left: [left.niHash], right: [right.niHash], dobGuard: false },
    {
      name: 'dob-name',
      tier: 3,
      left: [left.dob, leftFamily, leftFirst3],
      right: [right.dob, rightFamily, rightFirst3],
      dobGuard: false,
    },
    {
      name: 'postcode-name',
      tier: 4,
      left: [left.postcode, leftFamily, leftFirst3],
      right: [right.postcode, rightFamily, rightFirst3],
      dobGuard,
    },
  );
  return rules;
}

/**
 * The agreement's rules, renumbered by its tiers and tried most reliable first. The engine's
 * guards stay with each rule whatever tier the agreement gives it.
 */
function selectRules(rules: Rule[], ruleTiers: ReadonlyMap<string, number> | undefined): Rule[] {
  if (ruleTiers === undefined) return rules;
  return rules
    .filter((rule) => ruleTiers.has(rule.name))
    .map((rule) => ({ ...rule, tier: ruleTiers.get(rule.name) as DeterministicTier }))
    .sort((a, b) => a.tier - b.tier);
}

/**
 * True when two ISO dates, both present, cannot be one person's date mistyped. A different
 * year is always clear: siblings at one address are born years apart, often on dates one
 * digit of the year apart (2012 and 2013, 2010 and 2016), so only a day or month one digit
 * out, or swapped, is read as a slip.
 */
export function datesClearlyDiffer(a: string, b: string): boolean {
  if (a === '' || b === '' || a === b) return false;
  if (a.slice(0, 4) !== b.slice(0, 4)) return true;
  return !isDayMonthTransposition(a, b) && digitDifferences(a, b) > 1;
}

/** Links `left` to `right` by tiers 1–4. Indices in the result refer to the batches. */
export function linkDeterministic(
  left: RecordBatch,
  right: RecordBatch,
  options: DeterministicOptions = {},
): DeterministicLinks {
  const rules = selectRules(rulesFor(left, right, options.postcodeTierDobGuard ?? true), options.ruleTiers);
  const linkedLeft = new Uint8Array(left.size);
  const linkedRight = new Uint8Array(right.size);
  const maxLinks = Math.min(left.size, right.size);
  const outLeft = new Int32Array(maxLinks);
  const outRight = new Int32Array(maxLinks);
  const outTier = new Uint8Array(maxLinks);
  const outRule = new Uint8Array(maxLinks);
  let count = 0;
  const summaries: RuleSummary[] = [];
  const conflicts: PairConflict[] = [];
  const joiner = new KeyJoiner();

  rules.forEach((rule, ruleIndex) => {
    const join = joiner.join(rule.left, rule.right, linkedLeft, linkedRight);
    let linked = 0;
    let refused = 0;
    for (let k = 0; k < join.count; k++) {
      const i = join.left[k] as number;
      const j = join.right[k] as number;
      let reason: PairConflictReason | null = hardIdentifierConflict(left, i, right, j);
      if (reason === null && !isIdentifierRule(rule.name)) reason = weakLinkConflict(left, i, right, j);
      if (reason === null && rule.dobGuard && datesClearlyDiffer(left.dob[i] as string, right.dob[j] as string)) {
        reason = 'dob-conflict';
      }
      if (reason !== null) {
        refused++;
        conflicts.push({ left: i, right: j, rule: rule.name, reason });
        continue;
      }
      linkedLeft[i] = 1;
      linkedRight[j] = 1;
      outLeft[count] = i;
      outRight[count] = j;
      outTier[count] = rule.tier;
      outRule[count] = ruleIndex;
      count++;
      linked++;
    }
    const ambiguousKeys = join.ambiguousKeys;
    summaries.push({ rule: rule.name, tier: rule.tier, linked, ambiguousKeys, refused });
  });

  return {
    count,
    left: outLeft.subarray(0, count),
    right: outRight.subarray(0, count),
    tier: outTier.subarray(0, count),
    ruleIndex: outRule.subarray(0, count),
    rules: summaries,
    conflicts,
    linkedLeft,
    linkedRight,
  };
}
