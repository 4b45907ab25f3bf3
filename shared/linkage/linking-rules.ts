import type { Agreement, Field } from '../agreements/schema.js';
import type { PseudonymKind } from '../domain/pseudonymise.js';
import { identifierKind } from '../imports/storage-plan.js';

/**
 * An agreement's matching section, read as the linkage engine's rules. Each deterministic key
 * becomes one engine rule carrying the agreement's tier number: a key of one identifier field
 * is that identifier's rule (`nhs`, `upn`, `ni`, `system:<system>`); a key with a date part is
 * the date-of-birth + names rule, one with a postcode part the postcode + names rule. Rules the
 * agreement does not name are never run, so an agreement that says nothing of postcodes never
 * links on them.
 */
export interface LinkingRules {
  readonly agreementId: string;
  /** Dataset ids whose records are linked with each other. */
  readonly datasets: readonly string[];
  /** Engine rule name → the agreement's tier. */
  readonly ruleTiers: ReadonlyMap<string, number>;
  /**
   * Identifier kinds (`nhs`, `upn`, `ni`, `system-id:<system>`) a deterministic key of the
   * agreement names: the only ones a lookup under it may find someone by.
   */
  readonly identifierKinds: ReadonlySet<PseudonymKind>;
  /** The tier of the probabilistic method, or null when the agreement names none. */
  readonly probabilisticTier: number | null;
  /** Keys the engine has no rule for, as `tier N key K`, for the start-up warnings. */
  readonly unsupportedKeys: readonly string[];
}

/** The engine's rule for an identifier kind: `system-id:<system>` → `system:<system>`. */
function identifierRule(kind: PseudonymKind): string {
  return kind.replace(/^system-id:/, 'system:');
}

export function linkingRulesOf(agreement: Agreement): LinkingRules {
  const fields = new Map<string, Field>();
  for (const dataset of agreement.datasets)
    for (const field of dataset.fields) if (!fields.has(field.name)) fields.set(field.name, field);
  const ruleTiers = new Map<string, number>();
  const identifierKinds = new Set<PseudonymKind>();
  const unsupportedKeys: string[] = [];
  let probabilisticTier: number | null = null;
  for (const tier of agreement.matching) {
    if (tier.method === 'probabilistic') {
      probabilisticTier ??= tier.tier;
      continue;
    }
    tier.keys.forEach((key, k) => {
      const parts = key.map((part) => fields.get(part.field));
      let rule: string | undefined;
      if (parts.length === 1 && parts[0] !== undefined) {
        const kind = identifierKind(parts[0]);
        if (kind !== undefined) identifierKinds.add(kind);
        rule = kind === undefined ? undefined : identifierRule(kind);
      } else if (parts.some((f) => f?.type === 'date')) rule = 'dob-name';
      else if (parts.some((f) => f?.type === 'postcode')) rule = 'postcode-name';
      if (rule === undefined) unsupportedKeys.push(`tier ${tier.tier} key ${k + 1}`);
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
