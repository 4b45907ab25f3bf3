import type { Agreement, Field, MatchKeyPart } from '../agreements/schema.js';
import type { PseudonymKind } from '../domain/pseudonymise.js';
import { identifierKind, namesKeyOf, storagePlanFor, type StoragePlan } from '../imports/storage-plan.js';

/**
 * An agreement's matching section, read as the linkage engine's rules. Each deterministic key
 * becomes one engine rule carrying the agreement's tier number: a key of one identifier field
 * is that identifier's rule (`nhs`, `upn`, `ni`, `system:<system>`); a key of exactly a date of
 * birth, a last name and the first three letters of a first name is the `dob-name` rule, and of a
 * postcode and the same names the `postcode-name` rule. Any other key (a prefix of four letters,
 * a name left out, a field added, an identifier cut short) is one the engine cannot run as
 * written: it is reported in `unsupportedKeys` and links nothing, rather than being linked by a
 * rule the agreement did not state. Rules the agreement does not name are never run, so an
 * agreement that says nothing of postcodes never links on them.
 */
export interface LinkingRules {
  readonly agreementId: string;
  /** Dataset ids whose records are linked with each other. */
  readonly datasets: readonly string[];
  /** Engine rule name → the agreement's tier. */
  readonly ruleTiers: ReadonlyMap<string, number>;
  /**
   * Identifier kinds (`nhs`, `upn`, `ni`, `system-id:<system>`) a deterministic key of the
   * agreement names: the only ones a lookup under it may find someone by. A key that cuts the
   * identifier short names it too: the agreement matches people on it, though lintel links by
   * none of its keys it cannot run.
   */
  readonly identifierKinds: ReadonlySet<PseudonymKind>;
  /** The tier of the probabilistic method, or null when the agreement names none. */
  readonly probabilisticTier: number | null;
  /** Keys the engine has no rule for, for the start-up warnings. */
  readonly unsupportedKeys: readonly UnsupportedKey[];
}

/**
 * A key the engine has no rule for, as `tier N key K`. `identifierKind`: the identifier a key of
 * one identifier field names though it cuts it short; the key links nothing, but the agreement
 * still matches people on that identifier, so it stays in `identifierKinds`.
 */
export interface UnsupportedKey {
  readonly key: string;
  readonly identifierKind: PseudonymKind | null;
}

/** The engine's rule for an identifier kind: `system-id:<system>` → `system:<system>`. */
function identifierRule(kind: PseudonymKind): string {
  return kind.replace(/^system-id:/, 'system:');
}

/**
 * `dob-name` or `postcode-name` when the key is one the names rules run (`namesKeyOf`) and every
 * dataset holding one of its fields stores that field in the column the key has it play: the
 * engine compares the plans' columns, so a key whose field another key's field displaced (two
 * keys naming different given names) is not what the engine would run.
 */
function namesRuleOf(
  key: readonly MatchKeyPart[],
  fieldOf: (name: string) => Field | undefined,
  plans: readonly { plan: StoragePlan; holds: (field: string) => boolean }[],
): string | undefined {
  const names = namesKeyOf(key, fieldOf);
  if (names === undefined) return undefined;
  for (const [role, field] of names.fields)
    if (plans.some(({ plan, holds }) => holds(field) && plan[role] !== field)) return undefined;
  return names.rule;
}

export function linkingRulesOf(agreement: Agreement): LinkingRules {
  const plans = agreement.datasets.map((dataset) => ({
    plan: storagePlanFor(dataset, agreement.matching),
    holds: (field: string) => dataset.fields.some((f) => f.name === field),
  }));
  const fields = new Map<string, Field>();
  for (const dataset of agreement.datasets)
    for (const field of dataset.fields) if (!fields.has(field.name)) fields.set(field.name, field);
  const ruleTiers = new Map<string, number>();
  const identifierKinds = new Set<PseudonymKind>();
  const unsupportedKeys: UnsupportedKey[] = [];
  let probabilisticTier: number | null = null;
  for (const tier of agreement.matching) {
    if (tier.method === 'probabilistic') {
      probabilisticTier ??= tier.tier;
      continue;
    }
    tier.keys.forEach((key, k) => {
      const [first] = key;
      const only = key.length === 1 ? fields.get(first?.field ?? '') : undefined;
      const kind = only === undefined ? undefined : identifierKind(only);
      if (kind !== undefined) identifierKinds.add(kind);
      // A prefix of an identifier is a different key; lintel links on whole identifiers only.
      const rule =
        kind === undefined
          ? namesRuleOf(key, (name) => fields.get(name), plans)
          : first?.prefix === undefined
            ? identifierRule(kind)
            : undefined;
      if (rule === undefined)
        unsupportedKeys.push({ key: `tier ${tier.tier} key ${k + 1}`, identifierKind: kind ?? null });
      else if (!ruleTiers.has(rule)) ruleTiers.set(rule, tier.tier);
    });
  }
  return {
    agreementId: agreement.id,
    datasets: agreement.datasets.map((d) => d.id),
    ruleTiers,
    identifierKinds,
    probabilisticTier,
    unsupportedKeys,
  };
}
