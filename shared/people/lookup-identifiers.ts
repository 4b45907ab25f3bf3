import type { AgreementSet } from '../agreements/agreement-set.js';
import { linkingRulesOf } from '../linkage/linking-rules.js';

/** Whether a lookup may find someone in this dataset by this identifier kind. */
export type IdentifierUse = (datasetId: string, kind: string) => boolean;

const byAgreements = new WeakMap<AgreementSet, IdentifierUse>();

/**
 * A lookup finds someone in a dataset only by the identifier kinds its agreement's matching
 * section names: the ISA agrees UPN, NHS number and system ids, so the NI number its datasets
 * hold for other reasons is no way into them, while Keyways agrees the NI number. Judged per
 * dataset, so a caller whose datasets span agreements searches each by its own agreement's
 * kinds. A dataset a re-signing dropped is searched (by its DPO's subject access request alone:
 * no grant names it) by the kinds of the agreement that last defined it, as matched now: without
 * them its records were found by names only (found by a review). So is one of an agreement whose
 * file was removed, by the kinds the store remembers its matching named (agreements/remembered-agreements.ts):
 * its DPO answers its people's subject access requests still, and found no one by the case
 * reference it had matched on (found by a review). Computed once per loaded agreement set: it is
 * asked on every lookup.
 */
export function identifierUseOf(agreements: AgreementSet): IdentifierUse {
  let use = byAgreements.get(agreements);
  if (use === undefined) {
    const kindsOf = new Map<string, ReadonlySet<string>>();
    for (const { agreement } of agreements.all()) {
      const rules = linkingRulesOf(agreement);
      for (const dataset of rules.datasets) kindsOf.set(dataset, rules.identifierKinds);
      for (const dataset of agreements.formerDatasetsOf(agreement.id)) kindsOf.set(dataset, rules.identifierKinds);
    }
    for (const ended of agreements.formerAgreements()) {
      const kinds = new Set(ended.identifierKinds ?? []);
      for (const dataset of agreements.formerDatasetsOf(ended.id)) kindsOf.set(dataset, kinds);
    }
    use = (datasetId, kind) => kindsOf.get(datasetId)?.has(kind) ?? false;
    byAgreements.set(agreements, use);
  }
  return use;
}
