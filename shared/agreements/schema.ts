/**
 * The shape of an agreement file under `agreements/`.
 *
 * One file encodes one signed data sharing agreement (or the sharing section of a privacy
 * notice). The shape follows the questions a DPO asks of such a document: who the parties
 * are, for which purposes and on which lawful basis data flows, which fields each dataset
 * holds and how sensitive they are, who sees which fields for which purpose, how records are
 * matched, how long they are kept and when the agreement is next reviewed.
 *
 * Only structure is checked here. Checks that relate one part of a file to another (a grant
 * naming an unknown field, a matching-only field granted for display, ...) and checks across
 * files (duplicate ids) live in `cross-check.ts`, so each can name the file and path at fault.
 */
import { z } from 'zod';

/** Ids of agreements, parties, purposes and datasets: lower-case kebab-case. */
export const IdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be lower-case kebab-case, e.g. housing-allocation');

/** App role names carried in the caller's token (`roles` claim), e.g. `housing-officer`. */
export const RoleNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be a lower-case kebab-case app role name, e.g. senior-officer');

/**
 * Field names are camelCase so they can be used as JSON property names as they are, and so no
 * field can be called `__proto__` or `constructor`-like dunder names.
 */
export const FieldNameSchema = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]*$/, 'must be camelCase starting with a lower-case letter, e.g. dateOfBirth');

export const IsoDateSchema = z.iso.date();

/** ISO 8601 duration in years, months, weeks or days, e.g. `P1Y`, `P6M`, `P40Y`. */
export const IsoDurationSchema = z
  .string()
  .regex(/^P(?=\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/, 'must be an ISO 8601 duration such as P1Y, P6M or P30D');

/** UK GDPR Article 6(1) lawful bases, written as the documents write them: `6(1)(e)`. */
export const Article6Schema = z.enum(['6(1)(a)', '6(1)(b)', '6(1)(c)', '6(1)(d)', '6(1)(e)', '6(1)(f)']);

/** UK GDPR Article 9(2) conditions for special category data, e.g. `9(2)(g)`. */
export const Article9Schema = z.enum([
  '9(2)(a)',
  '9(2)(b)',
  '9(2)(c)',
  '9(2)(d)',
  '9(2)(e)',
  '9(2)(f)',
  '9(2)(g)',
  '9(2)(h)',
  '9(2)(i)',
  '9(2)(j)',
]);

export const PartyKindSchema = z.enum([
  'council',
  'registered-provider',
  'social-care',
  'education',
  'health',
  'research',
  'police',
  'other',
]);

export const PartySchema = z.strictObject({
  id: IdSchema,
  name: z.string().min(1),
  kind: PartyKindSchema,
  /**
   * App roles this party's clients may hold. A token role the party does not hold here is
   * ignored, so one partner cannot give itself another partner's role.
   */
  roles: z.array(RoleNameSchema).default([]),
});

export const LawfulBasisSchema = z.strictObject({
  article6: z.array(Article6Schema).min(1),
  /** Required (non-empty) before any special-category field may be granted for the purpose. */
  article9: z.array(Article9Schema).default([]),
  /** DPA 2018 Schedule 1 conditions, only where the document names one. */
  dpa2018Schedule1: z.array(z.string().min(1)).default([]),
  /** Statutory gateways and powers the document cites. */
  statutory: z.array(z.string().min(1)).default([]),
  /** Anything a DPO must know about how the basis was read from the document. */
  notes: z.string().optional(),
});

export const ConsentSourceSchema = z.strictObject({
  /** The party whose staff take and record consent. */
  party: IdSchema,
  /** The roles of that party allowed to write consent to the register. */
  roles: z.array(RoleNameSchema).min(1),
  /** How consent is taken, in the document's words. */
  process: z.string().min(1),
});

export const PurposeSchema = z.strictObject({
  /** Sent by callers in the `X-Purpose` header; unique across all agreements. */
  id: IdSchema,
  description: z.string().min(1),
  source: z.string().optional(),
  lawfulBasis: LawfulBasisSchema,
  consentRequired: z.boolean(),
  consentSource: ConsentSourceSchema.optional(),
  nationalDataOptOutApplies: z.boolean(),
});

export const FieldTypeSchema = z.enum([
  'string',
  'date',
  'flag',
  'percentage',
  'count',
  'integer',
  'postcode',
  'nhs-number',
  'upn',
  'ni-number',
  'system-id',
  'enum',
]);

export const FieldClassificationSchema = z.enum(['display', 'matching-only', 'special-category']);

export const FieldSchema = z
  .strictObject({
    name: FieldNameSchema,
    type: FieldTypeSchema,
    values: z.array(z.string().min(1)).min(1).optional(),
    classification: FieldClassificationSchema,
    required: z.boolean(),
    description: z.string().min(1),
    /** Parties that may supply this field; when absent, any source of the dataset may. */
    sources: z.array(IdSchema).min(1).optional(),
  })
  .refine((field) => (field.type === 'enum') === (field.values !== undefined), {
    message: 'enum fields need `values`, and only enum fields may have them',
    path: ['values'],
  });

/** Delimiters a source may declare for its delimited text files (shared/imports/extract-format.ts). */
export const DelimiterNameSchema = z.enum(['comma', 'semicolon', 'tab', 'pipe']);

export const DatasetSchema = z
  .strictObject({
    /** Unique across all agreements, so a dataset id alone names its agreement. */
    id: IdSchema,
    title: z.string().min(1),
    source: z.string().optional(),
    /** Parties that supply (upload) this dataset. */
    sources: z.array(IdSchema).min(1),
    /**
     * The delimiter a source's `.csv`/`.txt` files use when it is not a comma, by party id: a file
     * sent over SFTP cannot carry the blob metadata that declares one.
     */
    delimiters: z.record(IdSchema, DelimiterNameSchema).optional(),
    fields: z.array(FieldSchema).min(1),
  })
  .refine((dataset) => Object.keys(dataset.delimiters ?? {}).every((party) => dataset.sources.includes(party)), {
    message: 'a delimiter may be declared only for a source of the dataset',
    path: ['delimiters'],
  });

/**
 * Actions that release data; grants apply to these. `export`: small-number-suppressed counts of
 * the granted fields across everyone in the dataset, written to the `curated` container for the
 * grant's parties (shared/curated/), never a value about one person.
 */
export const DataActionSchema = z.enum(['lookup', 'search', 'duplicate-check', 'review', 'export']);

/** When a grant names no actions it covers these: reviews, duplicate checks and exports are opted into. */
export const DEFAULT_GRANT_ACTIONS = ['lookup', 'search'] as const satisfies readonly DataAction[];

export const GrantSchema = z.strictObject({
  purpose: IdSchema,
  dataset: IdSchema,
  /** Roles that receive the fields. A caller holding several roles gets the union of their grants. */
  roles: z.array(RoleNameSchema).min(1),
  /** Restricts the grant to these parties; when absent, every party of the agreement holding a role. */
  parties: z.array(IdSchema).min(1).optional(),
  actions: z.array(DataActionSchema).min(1).optional(),
  /** Display fields. Special-category fields go in `specialCategoryFields`, so they stand out. */
  fields: z.array(FieldNameSchema).default([]),
  specialCategoryFields: z.array(FieldNameSchema).default([]),
  /**
   * For an `export` grant's free-text fields: the values it may name, each counted whatever its
   * case; every other value is counted as "other values". A value the data holds is never
   * published unless listed here (shared/curated/indicator-counts.ts).
   */
  categories: z.record(FieldNameSchema, z.array(z.string().min(1)).min(1)).optional(),
  /**
   * Whom a lookup under the grant may answer about. `with-caller-record`: only people of whom
   * the calling party's own extract of the dataset holds a record (the ISA's housing providers
   * see "their tenants"); anyone else is no-match. On an export grant, only they are counted; on a
   * review grant, only candidate pairs with one of them are reviewed. Default `all`.
   */
  subjects: z.enum(['all', 'with-caller-record']).default('all'),
  source: z.string().optional(),
});

export const MatchKeyPartSchema = z.strictObject({
  field: FieldNameSchema,
  /** Use only the first N characters (e.g. the first three letters of the legal first name). */
  prefix: z.int().positive().optional(),
});

export const MatchingTierSchema = z.strictObject({
  /** 1 is the most reliable; tiers are tried in this order. */
  tier: z.int().positive(),
  name: z.string().min(1),
  method: z.enum(['deterministic', 'probabilistic']),
  /** Any one key links two records; a key is the concatenation of its parts. */
  keys: z.array(z.array(MatchKeyPartSchema).min(1)).default([]),
  /** `officer`: links are candidates, shown to nobody until an officer confirms them. */
  confirmation: z.enum(['automatic', 'officer']),
  source: z.string().optional(),
});

export const RetentionRuleSchema = z.strictObject({
  dataset: IdSchema,
  /**
   * `joint-system`: lintel's own store; a `keepWhile` condition is enforced there
   * (shared/retention/enforce-retention.ts), a period is recorded only. `host-system`: a
   * source's own system, recorded for the DPO. `recipient`: what a recipient has undertaken to do.
   */
  scope: z.enum(['joint-system', 'host-system', 'recipient']),
  holder: z.string().min(1).optional(),
  /** Which records the rule covers when not the whole dataset. */
  records: z.string().min(1).optional(),
  period: IsoDurationSchema.optional(),
  /** The event the period runs from, e.g. `discharge-of-homelessness-duty`. */
  after: z.string().min(1).optional(),
  /** Kept only while this field of the subject's record has this value. */
  keepWhile: z.strictObject({ field: FieldNameSchema, equals: z.string() }).optional(),
  rule: z.string().min(1),
  source: z.string().optional(),
});

/**
 * What the agreement asks of a party that becomes aware of a breach of the personal data it
 * shares: to inform the other parties within so many hours (the Keyways DSA 7.2: "inform each
 * Party together with the Information Commissioner's Office of any security breaches ... within
 * 72 hours of becoming aware of such breach"). The ICO's own 72 hours are the law's (UK GDPR Art.
 * 33), not the agreement's, and hold under every agreement. Absent where the text asks nothing of
 * the kind: a breach under it has no partners' deadline, and may be closed without them told.
 */
export const BreachNotificationSchema = z.strictObject({
  partnersWithinHours: z.number().int().positive(),
  source: z.string().optional(),
});

export const ControllerSchema = z.strictObject({
  name: z.string().min(1),
  party: IdSchema.optional(),
  role: z.enum(['controller', 'joint-controller', 'processor', 'unspecified']),
});

export const AgreementSchema = z.strictObject({
  /** Unique across all agreements; written to every access-log entry with `version`. */
  id: IdSchema,
  title: z.string().min(1),
  /** Revision of this file (not of the signed document): bump it on every change. */
  version: z.string().min(1),
  source: z.strictObject({
    file: z.string().min(1),
    title: z.string().min(1).optional(),
    /** The version the signed document states; null where it states none. */
    documentVersion: z.string().min(1).nullable(),
  }),
  /** Null where the document does not record it: the loader warns. */
  effectiveDate: IsoDateSchema.nullable(),
  review: z.strictObject({
    /** Null where the document does not record it: the loader warns. Past dates warn too, and dates more than `cycle` away. */
    due: IsoDateSchema.nullable(),
    cycle: IsoDurationSchema.nullable(),
    source: z.string().optional(),
  }),
  controllers: z.array(ControllerSchema).min(1),
  parties: z.array(PartySchema).min(1),
  purposes: z.array(PurposeSchema).min(1),
  datasets: z.array(DatasetSchema).min(1),
  grants: z.array(GrantSchema).default([]),
  matching: z.array(MatchingTierSchema).default([]),
  retention: z.array(RetentionRuleSchema).default([]),
  breachNotification: BreachNotificationSchema.optional(),
  /** Who may read the access log for this agreement (DPO answering subject access requests). */
  audit: z
    .strictObject({
      roles: z.array(RoleNameSchema).min(1),
      parties: z.array(IdSchema).min(1).optional(),
      source: z.string().optional(),
    })
    .optional(),
});

export type Agreement = z.infer<typeof AgreementSchema>;
export type Party = z.infer<typeof PartySchema>;
export type PartyKind = z.infer<typeof PartyKindSchema>;
export type Purpose = z.infer<typeof PurposeSchema>;
export type LawfulBasis = z.infer<typeof LawfulBasisSchema>;
export type ConsentSource = z.infer<typeof ConsentSourceSchema>;
export type Dataset = z.infer<typeof DatasetSchema>;
export type DelimiterName = z.infer<typeof DelimiterNameSchema>;
export type Field = z.infer<typeof FieldSchema>;
export type FieldType = z.infer<typeof FieldTypeSchema>;
export type FieldClassification = z.infer<typeof FieldClassificationSchema>;
export type Grant = z.infer<typeof GrantSchema>;
export type DataAction = z.infer<typeof DataActionSchema>;
export type MatchingTier = z.infer<typeof MatchingTierSchema>;
export type MatchKeyPart = z.infer<typeof MatchKeyPartSchema>;
export type RetentionRule = z.infer<typeof RetentionRuleSchema>;
export type Controller = z.infer<typeof ControllerSchema>;
export type BreachNotification = z.infer<typeof BreachNotificationSchema>;

/**
 * What the store remembers of an agreement it has loaded (shared/agreements/remembered-agreements.ts),
 * for when its file is removed — the agreement ended, not re-signed: its id and version, which
 * parties held which roles, and who audited it. Enough to file its past access-log entries for
 * the DPOs of its parties, and to let the party that recorded a consent under it withdraw it;
 * nothing else is done under an agreement no file defines. Ids only.
 */
/** A party to an agreement as the store remembers it: its id and roles, no name or kind. */
export const RememberedPartySchema = PartySchema.pick({ id: true, roles: true });

export type RememberedParty = z.infer<typeof RememberedPartySchema>;

export const RememberedAgreementSchema = z.strictObject({
  id: IdSchema,
  version: z.string().min(1),
  parties: z.array(RememberedPartySchema),
  audit: AgreementSchema.shape.audit.unwrap().pick({ roles: true, parties: true }).nullable(),
  /**
   * The identifier kinds its matching named (linkage/linking-rules.ts): a subject access request
   * searches its datasets by these alone, as while its file was there. Null where the store
   * never noted them (an agreement that ended before it did): names and date of birth only.
   */
  identifierKinds: z.array(z.string().min(1)).nullable(),
});

export type RememberedAgreement = z.infer<typeof RememberedAgreementSchema>;
