/**
 * Checks that relate one part of an agreement to another, and one agreement to the others.
 *
 * The schema says a grant is well formed; these checks say it makes sense: that it names a
 * purpose, dataset, field and role the agreement defines, that it does not put a matching-only
 * identifier on screen, and that special category data rests on an Article 9 condition. Each
 * problem carries the path of the offending value so the DPO can find it in the file.
 */
import { dateAfter, ukDateOf } from '../domain/uk-date.js';
import { keepWhileTest } from '../retention/keep-while.js';
import type { IssuePath } from './agreement-issue.js';
import type { Agreement, Dataset, Field, FieldType, Grant, Party } from './schema.js';

export interface FoundIssue {
  readonly path: IssuePath;
  readonly message: string;
}

export interface CheckResult {
  readonly errors: FoundIssue[];
  readonly warnings: FoundIssue[];
}

function duplicates<T>(
  items: readonly T[],
  key: (item: T) => string,
  at: (index: number) => IssuePath,
  what: string,
): FoundIssue[] {
  const seen = new Set<string>();
  const found: FoundIssue[] = [];
  items.forEach((item, index) => {
    const id = key(item);
    if (seen.has(id)) found.push({ path: at(index), message: `duplicate ${what} '${id}'` });
    seen.add(id);
  });
  return found;
}

/**
 * Checks within one agreement. `now` decides whether the review date has passed. `purposeAgreements`
 * names the agreement defining each purpose of those loaded with it, to say which a grant naming
 * another agreement's purpose has named.
 */
export function checkAgreement(
  agreement: Agreement,
  now: Date,
  purposeAgreements: ReadonlyMap<string, string> = new Map(),
): CheckResult {
  const errors: FoundIssue[] = [];
  const warnings: FoundIssue[] = [];

  errors.push(
    ...duplicates(
      agreement.parties,
      (p) => p.id,
      (i) => ['parties', i, 'id'],
      'party id',
    ),
  );
  errors.push(
    ...duplicates(
      agreement.purposes,
      (p) => p.id,
      (i) => ['purposes', i, 'id'],
      'purpose id',
    ),
  );
  errors.push(
    ...duplicates(
      agreement.datasets,
      (d) => d.id,
      (i) => ['datasets', i, 'id'],
      'dataset id',
    ),
  );

  const parties = new Map(agreement.parties.map((party) => [party.id, party]));
  const purposes = new Map(agreement.purposes.map((purpose) => [purpose.id, purpose]));
  const datasets = new Map(agreement.datasets.map((dataset) => [dataset.id, dataset]));
  const rolesHeld = new Set(agreement.parties.flatMap((party) => party.roles));

  agreement.parties.forEach((party, p) => {
    errors.push(
      ...duplicates(
        party.roles,
        (r) => r,
        (i) => ['parties', p, 'roles', i],
        'role',
      ),
    );
  });

  agreement.controllers.forEach((controller, c) => {
    if (controller.party !== undefined && !parties.has(controller.party)) {
      errors.push({
        path: ['controllers', c, 'party'],
        message: `controller names unknown party '${controller.party}'`,
      });
    }
  });

  agreement.purposes.forEach((purpose, p) => {
    const at = (...rest: (string | number)[]): IssuePath => ['purposes', p, ...rest];
    if (purpose.consentRequired && purpose.consentSource === undefined) {
      errors.push({
        path: at('consentSource'),
        message: `purpose '${purpose.id}' requires consent but names no consentSource (the party and process that record consent)`,
      });
    }
    if (!purpose.consentRequired && purpose.consentSource !== undefined) {
      errors.push({
        path: at('consentSource'),
        message: `purpose '${purpose.id}' names a consentSource but consentRequired is false: say which is meant`,
      });
    }
    const source = purpose.consentSource;
    if (source !== undefined) {
      const party = parties.get(source.party);
      if (party === undefined) {
        errors.push({
          path: at('consentSource', 'party'),
          message: `consentSource names unknown party '${source.party}'`,
        });
      } else {
        source.roles.forEach((role, r) => {
          if (!party.roles.includes(role)) {
            errors.push({
              path: at('consentSource', 'roles', r),
              message: `consentSource role '${role}' is not a role of party '${party.id}'`,
            });
          }
        });
      }
    }
    // Consent as the only basis is a consent the request path must check: without
    // consentRequired, data would be released with none on record (found by a review).
    const article6 = purpose.lawfulBasis.article6;
    if (!purpose.consentRequired && article6.length > 0 && article6.every((basis) => basis === '6(1)(a)')) {
      errors.push({
        path: at('consentRequired'),
        message: `purpose '${purpose.id}' rests on consent (Art. 6(1)(a)) alone, so it must require consent`,
      });
    }
    if (purpose.lawfulBasis.article9.includes('9(2)(g)') && purpose.lawfulBasis.dpa2018Schedule1.length === 0) {
      warnings.push({
        path: at('lawfulBasis', 'article9'),
        message: `purpose '${purpose.id}' relies on Art. 9(2)(g) but names no DPA 2018 Schedule 1 Part 2 condition`,
      });
    }
  });

  agreement.datasets.forEach((dataset, d) => {
    errors.push(
      ...duplicates(
        dataset.fields,
        (f) => f.name,
        (i) => ['datasets', d, 'fields', i, 'name'],
        'field name',
      ),
    );
    dataset.sources.forEach((source, s) => {
      if (!parties.has(source)) {
        errors.push({
          path: ['datasets', d, 'sources', s],
          message: `dataset '${dataset.id}' names unknown source party '${source}'`,
        });
      }
    });
    dataset.fields.forEach((field, f) => {
      field.sources?.forEach((source, s) => {
        if (!dataset.sources.includes(source)) {
          errors.push({
            path: ['datasets', d, 'fields', f, 'sources', s],
            message: `field '${field.name}' names source '${source}', which is not a source of dataset '${dataset.id}'`,
          });
        }
      });
    });
    const jointRules = agreement.retention.filter(
      (rule) => rule.dataset === dataset.id && rule.scope === 'joint-system',
    );
    if (jointRules.length === 0) {
      warnings.push({
        path: ['datasets', d, 'id'],
        message: `dataset '${dataset.id}' has no joint-system retention rule`,
      });
    }
  });

  // One export grant a dataset: two would publish the same counts under two draws of noise a
  // release, which average away twice as fast (shared/curated/indicator-counts.ts).
  const exported = new Set<string>();
  agreement.grants.forEach((grant, g) => {
    const at = (...rest: (string | number)[]): IssuePath => ['grants', g, ...rest];
    if (grant.actions?.includes('export')) {
      if (exported.has(grant.dataset)) {
        errors.push({
          path: at('actions'),
          message: `a second export grant of dataset '${grant.dataset}': give a dataset one, listing every party that receives it`,
        });
      }
      exported.add(grant.dataset);
    }
    const purpose = purposes.get(grant.purpose);
    if (purpose === undefined) {
      const elsewhere = purposeAgreements.get(grant.purpose);
      errors.push({
        path: at('purpose'),
        message:
          elsewhere === undefined
            ? `grant names unknown purpose '${grant.purpose}'`
            : `purpose '${grant.purpose}' is defined in agreement '${elsewhere}'; a grant may name only its own agreement's purposes`,
      });
    }
    const dataset = datasets.get(grant.dataset);
    if (dataset === undefined) {
      errors.push({ path: at('dataset'), message: `grant names unknown dataset '${grant.dataset}'` });
    }

    const grantParties = grant.parties?.map((id) => parties.get(id));
    errors.push(...checkPartiesHoldRoles('grant', grant, parties, at));
    grant.roles.forEach((role, r) => {
      if (!rolesHeld.has(role)) {
        errors.push({
          path: at('roles', r),
          message: `grant to role '${role}', which no party of the agreement holds`,
        });
      } else if (grantParties !== undefined && !grantParties.some((party) => party?.roles.includes(role))) {
        errors.push({
          path: at('roles', r),
          message: `grant to role '${role}', which none of the grant's parties holds`,
        });
      }
    });

    if (grant.fields.length === 0 && grant.specialCategoryFields.length === 0) {
      errors.push({ path: at('fields'), message: 'grant grants no fields' });
    }
    if (dataset !== undefined) {
      errors.push(...checkGrantFields(dataset, grant.fields, 'fields', at));
      errors.push(...checkGrantFields(dataset, grant.specialCategoryFields, 'specialCategoryFields', at));
      errors.push(...checkExportGrant(dataset, grant, at));
    }
    if (purpose !== undefined && grant.specialCategoryFields.length > 0 && purpose.lawfulBasis.article9.length === 0) {
      errors.push({
        path: at('specialCategoryFields'),
        message: `special-category fields granted for purpose '${purpose.id}', which names no Art. 9(2) condition`,
      });
    } else if (
      purpose !== undefined &&
      grant.specialCategoryFields.length > 0 &&
      !purpose.consentRequired &&
      purpose.lawfulBasis.article9.every((condition) => condition === '9(2)(a)')
    ) {
      errors.push({
        path: at('specialCategoryFields'),
        message: `special-category fields granted for purpose '${purpose.id}', whose only Art. 9(2) condition is explicit consent (9(2)(a)), which does not require consent`,
      });
    }
  });

  const matchableFields = new Set(agreement.datasets.flatMap((dataset) => dataset.fields.map((field) => field.name)));
  agreement.matching.forEach((tier, t) => {
    const at = (...rest: (string | number)[]): IssuePath => ['matching', t, ...rest];
    if (tier.tier !== t + 1) {
      errors.push({
        path: at('tier'),
        message: `matching tiers must be numbered 1, 2, 3... in order; expected ${t + 1}, found ${tier.tier}`,
      });
    }
    if (tier.method === 'deterministic' && tier.keys.length === 0) {
      errors.push({ path: at('keys'), message: `deterministic matching tier ${tier.tier} has no keys` });
    }
    if (tier.method === 'probabilistic' && tier.confirmation !== 'officer') {
      errors.push({
        path: at('confirmation'),
        message: `probabilistic matching tier ${tier.tier} must be confirmed by an officer (confirmation: officer)`,
      });
    }
    tier.keys.forEach((key, k) => {
      key.forEach((part, i) => {
        if (!matchableFields.has(part.field)) {
          errors.push({ path: at('keys', k, i, 'field'), message: `matching key names unknown field '${part.field}'` });
        }
      });
    });
  });

  agreement.retention.forEach((rule, r) => {
    const at = (...rest: (string | number)[]): IssuePath => ['retention', r, ...rest];
    const dataset = datasets.get(rule.dataset);
    if (dataset === undefined) {
      errors.push({ path: at('dataset'), message: `retention rule names unknown dataset '${rule.dataset}'` });
    } else if (rule.keepWhile !== undefined && !dataset.fields.some((field) => field.name === rule.keepWhile?.field)) {
      errors.push({
        path: at('keepWhile', 'field'),
        message: `retention rule keeps data while unknown field '${rule.keepWhile.field}' holds`,
      });
    } else if (rule.keepWhile !== undefined && keepWhileTest(dataset, rule.keepWhile) === 'value-not-of-field-type') {
      // A value the field cannot hold would leave the condition unjudgeable: retention would
      // wait for ever and every lookup under it answer no-match (found by a review).
      errors.push({
        path: at('keepWhile', 'equals'),
        message: `retention rule keeps data while field '${rule.keepWhile.field}' holds a value its type cannot hold`,
      });
    }
    // Only a condition is enforced in the joint system (shared/retention/): a period alone would
    // read to a DPO as deletion in force when nothing deletes.
    if (rule.scope === 'joint-system' && rule.keepWhile === undefined) {
      warnings.push({
        path: at('rule'),
        message:
          rule.period === undefined
            ? `joint-system retention for dataset '${rule.dataset}' states no period and no condition: lintel cannot enforce it`
            : `joint-system retention for dataset '${rule.dataset}' states a period (${rule.period}) and no condition: lintel enforces conditions only, so the period must be kept by hand`,
      });
    }
  });

  if (agreement.audit !== undefined) {
    const audit = agreement.audit;
    audit.roles.forEach((role, r) => {
      if (!rolesHeld.has(role)) {
        errors.push({
          path: ['audit', 'roles', r],
          message: `audit role '${role}' is held by no party of the agreement`,
        });
      }
    });
    errors.push(...checkPartiesHoldRoles('audit', audit, parties, (...rest) => ['audit', ...rest]));
  }

  if (agreement.effectiveDate === null) {
    warnings.push({ path: ['effectiveDate'], message: 'no effective date recorded: enter it from the signed copy' });
  }
  // The review date is a UK date, as the effective date is (decide.ts): overdue from midnight in
  // the UK after it, not from midnight UTC, an hour later in summer.
  if (agreement.review.due === null) {
    warnings.push({ path: ['review', 'due'], message: 'no review date recorded: enter it from the signed copy' });
  } else if (agreement.review.due < ukDateOf(now)) {
    warnings.push({ path: ['review', 'due'], message: `review was due on ${agreement.review.due}` });
  } else if (
    agreement.review.cycle !== null &&
    agreement.review.due > dateAfter(ukDateOf(now), agreement.review.cycle)
  ) {
    // The cycle is the agreement's own term (Keyways s.9 "reviewed annually", the ISA's "no less
    // frequently than on an annual basis"): a review held today puts the next one a cycle away,
    // so a due date further out is one the signed text does not allow, and would go unwarned
    // until it passed.
    const { due, cycle } = agreement.review;
    warnings.push({
      path: ['review', 'due'],
      message: `review due on ${due} is more than one review cycle (${cycle}) away: the agreement is reviewed at least every ${cycle}`,
    });
  }

  return { errors, warnings };
}

/**
 * A grant's or the audit block's `parties` each name a party of the agreement that holds one of
 * its roles: a party holding none is given nothing, and the audit block's only party holding none
 * would leave the access log open to no one.
 */
function checkPartiesHoldRoles(
  what: 'grant' | 'audit',
  block: { readonly roles: readonly string[]; readonly parties?: readonly string[] | undefined },
  parties: ReadonlyMap<string, Party>,
  at: (...rest: (string | number)[]) => IssuePath,
): FoundIssue[] {
  const found: FoundIssue[] = [];
  block.parties?.forEach((id, i) => {
    const party = parties.get(id);
    if (party === undefined) {
      found.push({ path: at('parties', i), message: `${what} names unknown party '${id}'` });
    } else if (!block.roles.some((role) => party.roles.includes(role))) {
      found.push({
        path: at('parties', i),
        message: `party '${id}' holds none of the ${what}'s roles (${block.roles.join(', ')})`,
      });
    }
  });
  return found;
}

function checkGrantFields(
  dataset: Dataset,
  names: readonly string[],
  list: 'fields' | 'specialCategoryFields',
  at: (...rest: (string | number)[]) => IssuePath,
): FoundIssue[] {
  const fields = new Map<string, Field>(dataset.fields.map((field) => [field.name, field]));
  const found: FoundIssue[] = [];
  names.forEach((name, i) => {
    const field = fields.get(name);
    const path = at(list, i);
    if (field === undefined) {
      found.push({ path, message: `grant names unknown field '${name}' of dataset '${dataset.id}'` });
    } else if (field.classification === 'matching-only') {
      found.push({ path, message: `field '${name}' is matching-only and cannot be granted for display` });
    } else if (list === 'fields' && field.classification === 'special-category') {
      found.push({
        path,
        message: `field '${name}' is special-category: list it under specialCategoryFields, not fields`,
      });
    } else if (list === 'specialCategoryFields' && field.classification !== 'special-category') {
      found.push({ path, message: `field '${name}' is not special-category: list it under fields` });
    }
  });
  return found;
}

/**
 * Field types an export may count. An export is counts of people per value (shared/curated/):
 * a date, a postcode or an identifier has a value per person or per street, so its counts would
 * be ones, suppressed all, or point at someone. Free text is counted only by the categories the
 * grant lists, so no value from the data (a name, an address, a caseworker) is ever published.
 */
const EXPORTABLE_TYPES: ReadonlySet<FieldType> = new Set(['flag', 'enum', 'percentage', 'count', 'integer', 'string']);

function checkExportGrant(
  dataset: Dataset,
  grant: Grant,
  at: (...rest: (string | number)[]) => IssuePath,
): FoundIssue[] {
  const found: FoundIssue[] = [];
  const exported = grant.actions?.includes('export') ?? false;
  const fields = new Map<string, Field>(dataset.fields.map((field) => [field.name, field]));
  const granted = new Set([...grant.fields, ...grant.specialCategoryFields]);
  if (grant.categories !== undefined && !exported) {
    found.push({ path: at('categories'), message: 'categories are for export grants (actions: [export]) only' });
  }
  for (const name of Object.keys(grant.categories ?? {})) {
    if (!granted.has(name) || fields.get(name)?.type !== 'string') {
      found.push({
        path: at('categories', name),
        message: `categories given for '${name}', which is not a free-text field of the grant`,
      });
    }
  }
  if (!exported) return found;
  for (const list of ['fields', 'specialCategoryFields'] as const) {
    grant[list].forEach((name, i) => {
      const field = fields.get(name);
      if (field === undefined) return;
      if (!EXPORTABLE_TYPES.has(field.type)) {
        found.push({
          path: at(list, i),
          message: `field '${name}' is a ${field.type}: an export counts people per value, and cannot count it`,
        });
      } else if (field.type === 'string' && grant.categories?.[name] === undefined) {
        found.push({
          path: at(list, i),
          message: `field '${name}' is free text: an export counts it only by the values listed under categories`,
        });
      }
    });
  }
  return found;
}

/** A parsed agreement and the file it came from. */
export interface AgreementSource {
  readonly agreement: Agreement;
  readonly file: string;
}

export interface SetIssue extends FoundIssue {
  readonly file: string;
}

/**
 * Checks across agreements. Purpose and dataset ids must be unique across all agreements, so
 * that the `X-Purpose` header alone names one agreement and one lawful basis, and a dataset
 * id alone names its agreement. A party may belong to several agreements, under one name and kind.
 */
export function checkAgreementSet(sources: readonly AgreementSource[]): SetIssue[] {
  const errors: SetIssue[] = [];
  const firstSeen = (kind: string) => {
    const seen = new Map<string, string>();
    return (id: string, file: string, path: IssuePath): void => {
      const earlier = seen.get(id);
      if (earlier === undefined) seen.set(id, file);
      // A repeat within one file is reported by checkAgreement.
      else if (earlier !== file)
        errors.push({
          file,
          path,
          message: `${kind} '${id}' is already defined in ${earlier}; ${kind}s must be unique across agreements`,
        });
    };
  };
  const agreementIds = firstSeen('agreement id');
  const purposeIds = firstSeen('purpose id');
  const datasetIds = firstSeen('dataset id');
  const partyDefinitions = new Map<string, { name: string; kind: string; file: string }>();

  for (const { agreement, file } of sources) {
    agreementIds(agreement.id, file, ['id']);
    agreement.purposes.forEach((purpose, p) => purposeIds(purpose.id, file, ['purposes', p, 'id']));
    agreement.datasets.forEach((dataset, d) => datasetIds(dataset.id, file, ['datasets', d, 'id']));
    agreement.parties.forEach((party, p) => {
      const earlier = partyDefinitions.get(party.id);
      if (earlier === undefined) {
        partyDefinitions.set(party.id, { name: party.name, kind: party.kind, file });
      } else if (earlier.name !== party.name || earlier.kind !== party.kind) {
        errors.push({
          file,
          path: ['parties', p],
          message: `party '${party.id}' is defined in ${earlier.file} with a different name or kind; one party id is one organisation`,
        });
      }
    });
  }
  return errors;
}
