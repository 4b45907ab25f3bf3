/**
 * The loaded agreements, indexed for the questions asked on every request: who is this party,
 * which purposes may it use, which grants apply, is it a source of this dataset.
 *
 * Purpose and dataset ids are unique across agreements (checked at load), so a purpose id or a
 * dataset id alone names its agreement. Party ids may recur: a party can sign several
 * agreements, and holds in each only the roles that agreement gives it.
 */
import type { AgreementIssue } from './agreement-issue.js';
import type { AgreementSource } from './cross-check.js';
import { DEFAULT_GRANT_ACTIONS } from './schema.js';
import type {
  Agreement,
  DataAction,
  Dataset,
  Field,
  Grant,
  PartyKind,
  Purpose,
  RememberedAgreement,
  RememberedParty,
} from './schema.js';

export interface LoadedAgreement {
  readonly agreement: Agreement;
  readonly file: string;
}

export interface PartyEntry {
  readonly id: string;
  readonly name: string;
  readonly kind: PartyKind;
  /** Roles the party holds in any agreement. */
  readonly roles: ReadonlySet<string>;
  readonly agreementIds: readonly string[];
}

export interface DatasetEntry {
  readonly agreementId: string;
  readonly dataset: Dataset;
  readonly fields: ReadonlyMap<string, Field>;
}

export interface PurposeEntry {
  readonly agreementId: string;
  readonly purpose: Purpose;
}

/** A grant with its defaults filled in: the parties and actions it covers, spelled out. */
export interface ResolvedGrant {
  readonly agreementId: string;
  readonly grant: Grant;
  readonly purpose: string;
  readonly dataset: string;
  readonly roles: ReadonlySet<string>;
  readonly parties: ReadonlySet<string>;
  readonly actions: ReadonlySet<DataAction>;
  readonly fields: readonly string[];
  readonly specialCategoryFields: readonly string[];
}

/**
 * Purposes and datasets no agreement loaded defines, each with the agreement that last did, as
 * the store remembers them (shared/agreements/remembered-agreements.ts).
 */
export interface FormerAgreements {
  readonly purposes: ReadonlyMap<string, string>;
  readonly datasets: ReadonlyMap<string, string>;
  /** Agreements no file defines now (ended, their file removed), as last loaded. */
  readonly agreements?: ReadonlyMap<string, RememberedAgreement>;
  /**
   * By agreement (loaded or ended), the parties a re-signing of it dropped, with the roles they
   * last held there.
   */
  readonly droppedParties?: ReadonlyMap<string, readonly RememberedParty[]>;
}

const NO_FORMER_AGREEMENTS: FormerAgreements = { purposes: new Map(), datasets: new Map() };

export class AgreementSet {
  /** Problems that do not stop lintel starting, for the DPO: overdue reviews, missing dates. */
  readonly warnings: readonly AgreementIssue[];

  private readonly loaded: readonly LoadedAgreement[];
  private readonly byId = new Map<string, LoadedAgreement>();
  private readonly partyEntries = new Map<string, PartyEntry>();
  private readonly partyRoles = new Map<string, ReadonlySet<string>>();
  private readonly datasetEntries = new Map<string, DatasetEntry>();
  private readonly purposeEntries = new Map<string, PurposeEntry>();
  private readonly grantsByPurpose = new Map<string, ResolvedGrant[]>();
  private readonly former: FormerAgreements;
  private readonly formerById = new Map<string, RememberedAgreement>();
  private readonly formerByParty = new Map<string, RememberedAgreement[]>();
  private readonly droppedRoles = new Map<string, ReadonlySet<string>>();
  private readonly droppedFromByParty = new Map<string, string[]>();

  /**
   * Use `loadAgreements` or `buildAgreementSet`: they run the checks this constructor trusts.
   * `former` maps purposes and datasets these agreements do not define to the agreement that last
   * did (`withFormerAgreements`); one these define is theirs whatever it says.
   */
  constructor(
    sources: readonly AgreementSource[],
    warnings: readonly AgreementIssue[],
    former: FormerAgreements = NO_FORMER_AGREEMENTS,
  ) {
    this.loaded = sources.map(({ agreement, file }) => ({ agreement, file }));
    this.warnings = warnings;
    this.former = former;

    const partyRoles = new Map<string, Set<string>>();
    const partyAgreements = new Map<string, string[]>();
    for (const entry of this.loaded) {
      const { agreement } = entry;
      this.byId.set(agreement.id, entry);
      for (const party of agreement.parties) {
        this.partyRoles.set(roleKey(agreement.id, party.id), new Set(party.roles));
        const roles = partyRoles.get(party.id) ?? new Set<string>();
        party.roles.forEach((role) => roles.add(role));
        partyRoles.set(party.id, roles);
        const agreements = partyAgreements.get(party.id) ?? [];
        agreements.push(agreement.id);
        partyAgreements.set(party.id, agreements);
        if (!this.partyEntries.has(party.id)) {
          this.partyEntries.set(party.id, {
            id: party.id,
            name: party.name,
            kind: party.kind,
            roles,
            agreementIds: agreements,
          });
        }
      }
      for (const dataset of agreement.datasets) {
        this.datasetEntries.set(dataset.id, {
          agreementId: agreement.id,
          dataset,
          fields: new Map(dataset.fields.map((field) => [field.name, field])),
        });
      }
      for (const purpose of agreement.purposes) {
        this.purposeEntries.set(purpose.id, { agreementId: agreement.id, purpose });
      }
      for (const grant of agreement.grants) {
        const roles = new Set(grant.roles);
        const parties = new Set(
          grant.parties ??
            agreement.parties.filter((party) => party.roles.some((role) => roles.has(role))).map((party) => party.id),
        );
        const resolved: ResolvedGrant = {
          agreementId: agreement.id,
          grant,
          purpose: grant.purpose,
          dataset: grant.dataset,
          roles,
          parties,
          actions: new Set(grant.actions ?? DEFAULT_GRANT_ACTIONS),
          fields: grant.fields,
          specialCategoryFields: grant.specialCategoryFields,
        };
        const list = this.grantsByPurpose.get(grant.purpose) ?? [];
        list.push(resolved);
        this.grantsByPurpose.set(grant.purpose, list);
      }
    }
    for (const [id, agreement] of former.agreements ?? []) {
      if (this.byId.has(id)) continue;
      this.formerById.set(id, agreement);
      for (const party of agreement.parties) {
        const list = this.formerByParty.get(party.id) ?? [];
        list.push(agreement);
        this.formerByParty.set(party.id, list);
      }
    }
    for (const [agreementId, parties] of former.droppedParties ?? []) {
      const listed = this.byId.get(agreementId)?.agreement.parties ?? this.formerById.get(agreementId)?.parties;
      if (listed === undefined) continue;
      for (const party of parties) {
        // One signed again since is a party to it, with the roles it holds there now.
        if (listed.some(({ id }) => id === party.id)) continue;
        this.droppedRoles.set(roleKey(agreementId, party.id), new Set(party.roles));
        const list = this.droppedFromByParty.get(party.id) ?? [];
        list.push(agreementId);
        this.droppedFromByParty.set(party.id, list);
      }
    }
  }

  all(): readonly LoadedAgreement[] {
    return this.loaded;
  }

  agreement(id: string): LoadedAgreement | undefined {
    return this.byId.get(id);
  }

  party(id: string): PartyEntry | undefined {
    return this.partyEntries.get(id);
  }

  agreementsOfParty(partyId: string): readonly Agreement[] {
    const entry = this.partyEntries.get(partyId);
    return entry === undefined ? [] : entry.agreementIds.map((id) => this.byId.get(id)!.agreement);
  }

  /** Roles the party holds in one agreement (empty if it is not a party to it). */
  rolesOfPartyIn(agreementId: string, partyId: string): ReadonlySet<string> {
    return this.partyRoles.get(roleKey(agreementId, partyId)) ?? new Set();
  }

  dataset(id: string): DatasetEntry | undefined {
    return this.datasetEntries.get(id);
  }

  field(datasetId: string, fieldName: string): Field | undefined {
    return this.datasetEntries.get(datasetId)?.fields.get(fieldName);
  }

  purpose(id: string): PurposeEntry | undefined {
    return this.purposeEntries.get(id);
  }

  /**
   * The agreement a purpose these agreements no longer define belonged to when the store last saw
   * it loaded (shared/agreements/remembered-agreements.ts); undefined for a purpose they define, and for
   * one never loaded. Only for filing what was written under it (entry-agreements.ts): nothing
   * may be done under such a purpose, and decisions go by `purpose`.
   */
  formerAgreementOfPurpose(id: string): string | undefined {
    return this.purposeEntries.has(id) ? undefined : this.former.purposes.get(id);
  }

  /**
   * The purposes of the ended agreements the store remembers ({@link formerAgreement}): no agreement
   * defines them now, but an opt-out recorded under one is withdrawn under one of them
   * (policy/decide.ts), so the API reference offers them for that alone.
   */
  purposesOfEndedAgreements(): string[] {
    return [...this.former.purposes]
      .filter(([id, agreementId]) => !this.purposeEntries.has(id) && this.formerById.has(agreementId))
      .map(([id]) => id);
  }

  /**
   * The agreement a dataset these agreements no longer define belonged to, as for a purpose
   * (`formerAgreementOfPurpose`): only for filing what touched it; decisions go by `dataset`.
   */
  formerAgreementOfDataset(id: string): string | undefined {
    return this.datasetEntries.has(id) ? undefined : this.former.datasets.get(id);
  }

  /**
   * The agreement a purpose is filed under: the one that defines it, else the one that last did
   * (`formerAgreementOfPurpose`). Only for filing and for deciding a withdrawal, never a grant.
   */
  filingAgreementOfPurpose(id: string): string | undefined {
    return this.purposeEntries.get(id)?.agreementId ?? this.former.purposes.get(id);
  }

  /** The agreement a dataset is filed under, as for a purpose ({@link filingAgreementOfPurpose}). */
  filingAgreementOfDataset(id: string): string | undefined {
    return this.datasetEntries.get(id)?.agreementId ?? this.former.datasets.get(id);
  }

  /**
   * Every dataset these agreements no longer define that the store remembers, with the agreement
   * that last did (`formerAgreementOfDataset`): what a re-signing dropped, whose records no lookup
   * shows and no retention rule reaches any more, till an operator purges them
   * (retention/dropped-datasets.ts).
   */
  droppedDatasets(): { datasetId: string; formerAgreementId: string }[] {
    return [...this.former.datasets]
      .filter(([id]) => !this.datasetEntries.has(id))
      .map(([datasetId, formerAgreementId]) => ({ datasetId, formerAgreementId }));
  }

  /**
   * The datasets these agreements no longer define whose last agreement was `agreementId`
   * ({@link droppedDatasets}). Their records stay in the store, so that agreement's DPO still
   * searches them when answering a subject access request (shared/audit/dpo-views.ts), by the
   * identifier kinds it matches on (shared/people/lookup-identifiers.ts); no one else does.
   */
  formerDatasetsOf(agreementId: string): readonly string[] {
    return this.droppedDatasets()
      .filter(({ formerAgreementId }) => formerAgreementId === agreementId)
      .map(({ datasetId }) => datasetId);
  }

  /**
   * An agreement no file defines now (ended, its file removed), as the store last loaded it
   * (shared/agreements/remembered-agreements.ts); undefined for one loaded, and for one never seen.
   * Only for filing what was written under it (entry-agreements.ts), for its DPOs' reading of it
   * and for the withdrawal of the consents recorded under it (policy/decide.ts): it grants no
   * lookup, import or consent, and `party`, `agreementsOfParty` and `rolesOfPartyIn` know nothing
   * of it.
   */
  formerAgreement(id: string): RememberedAgreement | undefined {
    return this.formerById.get(id);
  }

  /** Every ended agreement the store remembers ({@link formerAgreement}). */
  formerAgreements(): readonly RememberedAgreement[] {
    return [...this.formerById.values()];
  }

  /** The ended agreements ({@link formerAgreement}) the party was a party to. */
  formerAgreementsOfParty(partyId: string): readonly RememberedAgreement[] {
    return this.formerByParty.get(partyId) ?? [];
  }

  /**
   * Whether the party is a party to an agreement loaded now or to one that ended ({@link
   * formerAgreement}), or was one to an agreement a re-signing dropped it from ({@link
   * rolesOfPartyDroppedFrom}).
   */
  knowsParty(partyId: string): boolean {
    return this.party(partyId) !== undefined || this.formerByParty.has(partyId) || this.droppedFromByParty.has(partyId);
  }

  /**
   * Roles the party last held in an agreement (loaded or ended) that a re-signing of it dropped
   * the party from, as the store remembers them (shared/agreements/remembered-agreements.ts); empty
   * for a party it lists, and for any other. Only for the withdrawal of what the party recorded
   * under it (policy/decide.ts) and the filing of that party's entries under it: it grants nothing
   * else, and `party`, `agreementsOfParty`, `rolesOfPartyIn` and `formerAgreementsOfParty` know
   * nothing of it.
   */
  rolesOfPartyDroppedFrom(agreementId: string, partyId: string): ReadonlySet<string> {
    return this.droppedRoles.get(roleKey(agreementId, partyId)) ?? new Set();
  }

  /** The agreements a re-signing dropped the party from ({@link rolesOfPartyDroppedFrom}). */
  agreementsDroppedFrom(partyId: string): readonly string[] {
    return this.droppedFromByParty.get(partyId) ?? [];
  }

  /** Roles the party held in an ended agreement ({@link formerAgreement}); empty for any other. */
  rolesOfPartyInFormer(agreementId: string, partyId: string): ReadonlySet<string> {
    return new Set(this.formerById.get(agreementId)?.parties.find((party) => party.id === partyId)?.roles ?? []);
  }

  /** The same agreements, knowing which agreement each purpose and dataset they dropped belonged to. */
  withFormerAgreements(former: FormerAgreements): AgreementSet {
    return new AgreementSet(this.loaded, this.warnings, former);
  }

  /**
   * Whether the party may upload the dataset: a source of it under the agreements as they are
   * now. A party that has left an agreement, or no longer supplies the dataset (the Keyways DSA
   * s.9: any Party may terminate), leaves its loaded records in the store — nothing deletes them —
   * but they are no longer the agreement's to share: no lookup, link review or export shows or
   * counts them, and they make no one the party's own subject (found by a review: a lookup showed
   * a former party's record).
   */
  isSource(partyId: string, datasetId: string): boolean {
    return this.sourcesOf(datasetId).includes(partyId);
  }

  /** The parties that supply the dataset now (none for a dataset no agreement defines). */
  sourcesOf(datasetId: string): readonly string[] {
    return this.datasetEntries.get(datasetId)?.dataset.sources ?? [];
  }

  /** Whether the party may supply this field of the dataset (a field may narrow the dataset's sources). */
  maySupplyField(partyId: string, datasetId: string, fieldName: string): boolean {
    const field = this.field(datasetId, fieldName);
    if (field === undefined || !this.isSource(partyId, datasetId)) return false;
    return field.sources === undefined || field.sources.includes(partyId);
  }

  /** All grants of a purpose, whoever they are to. */
  grantsFor(purposeId: string): readonly ResolvedGrant[] {
    return this.grantsByPurpose.get(purposeId) ?? [];
  }

  /** Purposes for which any grant names the party (whatever role or action). */
  purposesGrantedTo(partyId: string): readonly string[] {
    const purposes: string[] = [];
    for (const [purpose, grants] of this.grantsByPurpose) {
      if (grants.some((grant) => grant.parties.has(partyId))) purposes.push(purpose);
    }
    return purposes;
  }

  /** Datasets the party may request under a purpose, given its roles and the action. */
  datasetsGrantedTo(
    partyId: string,
    roles: readonly string[],
    purposeId: string,
    action: DataAction,
  ): readonly string[] {
    const datasets = new Set<string>();
    for (const grant of this.grantsFor(purposeId)) {
      if (grant.parties.has(partyId) && grant.actions.has(action) && roles.some((role) => grant.roles.has(role))) {
        datasets.add(grant.dataset);
      }
    }
    return [...datasets];
  }
}

function roleKey(agreementId: string, partyId: string): string {
  return `${agreementId}\u0000${partyId}`;
}
