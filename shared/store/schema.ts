import type { ColumnType, Generated } from 'kysely';

/**
 * Row shapes of the store, as the query builder sees them. Times are ISO-8601 UTC text on both
 * engines: it sorts correctly as text, round-trips exactly, and avoids the two engines'
 * different date types.
 */
export interface ImportRunTable {
  id: string;
  party_id: string;
  dataset_id: string;
  blob_name: string;
  content_sha256: string;
  status: 'received' | 'loading' | 'loaded' | 'rejected' | 'failed';
  rows_total: number | null;
  rows_loaded: number | null;
  rows_rejected: number | null;
  received_at: string;
  finished_at: string | null;
  attempt: Generated<number>;
  /**
   * The run's snapshot date and its blob's upload time (migration 0013): a loaded run's, and since
   * the claim an unfinished or rejected run's as its file says (null for a date unreadable, or a
   * run claimed before this was recorded). Only a loaded run's stand in the snapshot order.
   */
  as_of: string | null;
  uploaded_at: string | null;
  /**
   * A rejected run's reason (its report's first file error; migration 0028), null for any other
   * status and for runs rejected before it was recorded. Tells a rejection about one delivery
   * (removed, attempts spent, a name, metadata or date refused) from a verdict on the bytes
   * (shared/imports/import-extract.ts).
   */
  rejection_reason: string | null;
  /**
   * 1 once the access-log entry of the run's latest finish is written, 0 before it and from the
   * run's next opening (migration 0055): the runs a delivery of the name checks for a lost entry
   * are the unmarked ones (import-extract.ts, logRunsLeftUnlogged). Never 1 without the entry.
   */
  entry_logged: Generated<number>;
}

export interface AccessLogTable {
  seq: number;
  time: string;
  request_id: string;
  party_id: string;
  client_id: string;
  /** JSON array text. */
  roles: string;
  purpose: string;
  action: string;
  subject_ref: string | null;
  /** JSON array text. */
  datasets: string;
  /** JSON array text. */
  fields: string;
  decision: string;
  reason_code: string;
  leaf_hash: Uint8Array;
}

/**
 * The people an access-log entry naming several is about, one row each (migration 0050): derived
 * from `access_log.subject_ref`, written in the entry's own transaction, and no part of its hash.
 */
export interface AccessLogSubjectIdTable {
  person_id: string;
  seq: number;
}

/** A seq the checkpointer filled access_log_subject_id through (migration 0051). */
export interface AccessLogSubjectIdFilledTable {
  through_seq: number;
}

export interface SourceRecordTable {
  id: string;
  import_run_id: string;
  party_id: string;
  dataset_id: string;
  row_number: number;
  /** Normalised for matching (shared/domain/normalise.ts). */
  given_name: string | null;
  family_name: string | null;
  first3: string | null;
  /** ISO date. */
  date_of_birth: string | null;
  /** Canonical postcode, e.g. "SW1A 1AA" or "BFPO 5439" (at most nine characters: migration 0031). */
  postcode: string | null;
  address: string | null;
  /**
   * The agreement's display and special-category fields: a JSON array of an attribute layout's
   * id and its values, or (records written before migration 0026) a JSON object. Read through
   * shared/store/record-attributes.ts, never parsed on its own.
   */
  attributes: string;
  /** ISO date the partner's extract describes. */
  as_of: string;
  person_id: string | null;
  /**
   * The person id of this record's predecessor in the party's previous snapshot of the dataset,
   * carried at load (into `person_id` as well) and cleared by the next linking pass: while set,
   * the record is not yet linked (shared/imports/snapshot-writer.ts).
   */
  carried_person_id: string | null;
  /** When a linking pass moved the record to `person_id`; null since first linked (migration 0022). */
  person_since: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface RecordIdentifierTable {
  record_id: string;
  kind: string;
  /** HMAC-SHA-256, hex. */
  hash: string;
  key_version: string;
}

export interface ConsentEventTable {
  event_id: string;
  consent_id: string;
  subject_key: string;
  kind: 'consent' | 'opt-out';
  purpose_id: string | null;
  /**
   * `record` and `withdraw` (of the consent id, wherever it applies), or `detach`: the consent
   * no longer applies under this subject only, written by a linking pass that split a person
   * holding a consent a merge had carried in (shared/consents/carry-consents.ts).
   */
  action: 'record' | 'withdraw' | 'detach';
  party_id: string;
  client_id: string;
  evidence_ref: string | null;
  at: string;
}

export interface AuditAlertTable {
  /** Derived from rule, client, role and window: one row per firing (shared/audit/alerts.ts). */
  id: string;
  rule: string;
  client_id: string;
  party_id: string;
  /**
   * The agreement whose business the counted entries are (shared/audit/entry-agreements.ts);
   * null for an alert raised before migration 0034, shown by its party as it was.
   */
  agreement_id: ColumnType<string | null, string | null | undefined, string | null>;
  role: string | null;
  window_start: string;
  window_end: string;
  count: number;
  baseline: number | null;
  raised_at: string;
  status: 'open' | 'breach-opened';
}

export interface BreachRecordTable {
  id: string;
  alert_id: string;
  /** When the controller became aware: the ICO deadline runs from here. */
  opened_at: string;
  /** Client id of the DPO's application that opened it. */
  opened_by: string;
  ico_deadline: string;
  /**
   * When the partner parties must have been told, by the agreement of the breach's alert, fixed at
   * opening (migration 0052); null where it asks none, and for records opened before 0052.
   */
  partners_deadline: ColumnType<string | null, string | null | undefined, string | null>;
  /** `notified` once the ICO's notification is recorded, `closed` once closed (migration 0033). */
  status: 'open' | 'notified' | 'closed';
  /** When the ICO was notified, as the DPO recorded it. */
  ico_notified_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the partner parties were notified, as the DPO recorded it. */
  partners_notified_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** One of NOT_REPORTABLE_REASONS (shared/audit/breach-records.ts), never free text. */
  not_reportable_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the breach was judged not reportable: the time the decision was recorded. */
  not_reportable_at: ColumnType<string | null, string | null | undefined, string | null>;
  closed_at: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface RecordLinkTable {
  id: string;
  agreement_id: string;
  source_a: string;
  source_b: string;
  record_a: string;
  record_b: string;
  tier: number;
  rule: string;
  score: number | null;
  status: 'auto' | 'candidate' | 'confirmed' | 'rejected';
  /** Tier-5 links only: the key of the officer's decision (shared/linkage/pair-key.ts). */
  pair_key: string | null;
  /**
   * Tier-5 links only: the pair's identity key (sources, names, date of birth), under which a
   * confirmation is kept as well where each record is alone with its names and date of birth
   * (shared/linkage/pair-key.ts, link-decisions.ts); null on links made before 0017, and where a
   * record has no date of birth or family name.
   */
  identity_key: string | null;
  first_run_id: string;
  last_run_id: string;
  created_at: string;
}

/** One decision a pair key and agreement (0044): each agreement's reviewers' word is its own. */
export interface LinkDecisionTable {
  pair_key: string;
  decision: 'confirmed' | 'rejected';
  party_id: string;
  client_id: string;
  request_id: string;
  score: number | null;
  decided_at: string;
  /**
   * The identity key of the pair decided (shared/linkage/pair-key.ts), so that a later rejection
   * ends every confirmation of the pair's identity; null on decisions made before 0018.
   */
  identity_key: string | null;
  /**
   * A confirmation's two records by their identity fingerprints, the lesser first
   * (shared/linkage/link-decisions.ts), kept when the officer confirms; null on rejections, where
   * a record has no family name or date of birth, and on a confirmation made before 0024 until a
   * pass finds its pair.
   */
  print_a: string | null;
  print_b: string | null;
  /** The agreement whose `review` grant allowed the decision; null on decisions made before 0025. */
  agreement_id: string | null;
}

export interface LinkRunTable {
  id: string;
  agreement_id: string;
  kind: 'incremental' | 'full' | 'review';
  started_at: string;
  finished_at: string | null;
  summary: string | null;
  /** Written just after the pass commits (migration 0030); null before it, or if that write was lost. */
  committed_at: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * The agreement's version and datasets' sources the pass linked under, hashed (migration 0043);
   * null before it.
   */
  agreement_sources: ColumnType<string | null, string | null | undefined, string | null>;
  /** The agreement file's version the pass linked under (migration 0045); null before it. */
  agreement_version: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A planning export's release (shared/curated/curated-export.ts); migration 0012. */
export interface CuratedReleaseTable {
  id: string;
  agreement_id: string;
  agreement_version: string | null;
  purpose_id: string;
  dataset_id: string;
  party_id: string;
  generated_at: string;
  lines: number;
  counts_sha256: string;
  /** The release's manifest.json as written (migration 0047); null for a release stored before it. */
  manifest: string | null;
  /** The CURATED_MIN_CELL it was published under (migration 0056); null for one stored before 0047. */
  min_cell: number | null;
}

/** One published line of a release: noised, rounded and suppressed, never a true count. */
export interface CuratedCountTable {
  release_id: string;
  line: number;
  measure: string;
  category: string;
  people: number | null;
  suppressed: 'Y' | 'N';
  special_category: 'Y' | 'N';
}

/** A lock held outside the store and the epoch its newest holder took (migration 0049). */
export interface LockEpochTable {
  name: string;
  epoch: number;
}

/** Which party's releases a database user sees through the view (SQL Server). */
export interface CuratedReaderTable {
  principal_name: string;
  party_id: string;
}

/** The view Power BI reads: every release a reader may see, its lines, and which is the latest. */
export interface CuratedIndicatorCountsView extends Omit<CuratedCountTable, 'release_id'> {
  party_id: string;
  purpose_id: string;
  dataset_id: string;
  agreement_id: string;
  agreement_version: string | null;
  generated_at: string;
  latest: 'Y' | 'N';
}

/** A person id records held before a linking pass gave them another (migration 0014). */
export interface PersonIdMoveTable {
  from_person_id: string;
  to_person_id: string;
  moved_at: string;
  /** Since when the moved records had held `from_person_id`; null since first linked, or unknown. */
  held_since: ColumnType<string | null, string | null | undefined, string | null>;
  /** The linking pass that noted the move (migration 0030); null before it, or noted outside a pass. */
  run_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * An opt-out an import carried from one person id to a plausible successor (migration
 * 0027, shared/people/possibly-same-person.ts): ids and a time, nothing about the person.
 */
export interface OptOutSuccessorTable {
  /** The id the opt-out was on. */
  earlier_person_id: string;
  /** The successor record's new carried id, or the person it was carried to. */
  later_person_id: string;
  carried_at: string;
}

/**
 * A record's matching keys, kept when an import dropped a record of a person with an opt-out in
 * force that it could not follow, whether or not another party still holds them, or a retention
 * pass deleted one (migration 0019, shared/imports/opt-out-kept-keys.ts): normalised as in
 * `source_record`. One row a record and person: a reopened run brings a record id back, and
 * it can leave again under another person.
 */
export interface OptOutKeptRecordTable {
  record_id: string;
  /** The person id the opt-out is recorded on. */
  person_id: string;
  /** The dataset the record was of: the keys reach only its records, of any party. */
  dataset_id: string;
  date_of_birth: string | null;
  given_name: string | null;
  family_name: string | null;
  first3: string | null;
  postcode: string | null;
  kept_at: string;
}

/**
 * An identifier pseudonym of such a person (keyed HMAC, hex), with its key version; or, for an
 * opt-out recorded by names alone for someone nobody held, their names key so hashed (`dob-name`,
 * `postcode-name`: shared/api/consents-api.ts), which no record's identifier meets.
 */
export interface OptOutKeptIdentifierTable {
  person_id: string;
  dataset_id: string;
  kind: string;
  hash: string;
  key_version: string;
}

/** The attribute names of a record's `attributes` array, by the layout id it begins with (migration 0026). */
export interface AttributeLayoutTable {
  id: string;
  /** JSON array of names. */
  names: string;
}

/** Identifier hashes of records a retention rule deleted (migration 0020). */
export interface RetiredIdentifierTable {
  person_id: string;
  dataset_id: string;
  kind: string;
  /** HMAC-SHA-256, hex, as record_identifier held it. */
  hash: string;
  key_version: string;
  retired_at: string;
}

/** A retention pass, and whether its deletion committed (migration 0036). */
export interface RetentionRunTable {
  id: string;
  agreement_id: string;
  dataset_id: string;
  started_at: string;
  committed_at: string | null;
}

/**
 * Which agreement each purpose belonged to, as the host last loaded the agreements (migration
 * 0038): what files an entry under a purpose a re-signed agreement dropped
 * (shared/agreements/remembered-agreements.ts). Ids and a time only.
 */
export interface PurposeAgreementTable {
  purpose_id: string;
  agreement_id: string;
  /** When the purpose was first loaded as this agreement's. */
  recorded_at: string;
}

/**
 * Which agreement each dataset belonged to, as the host last loaded the agreements (migration
 * 0039): what files an entry on a dataset a re-signed agreement dropped
 * (shared/agreements/remembered-agreements.ts). Ids and a time only.
 */
export interface DatasetAgreementTable {
  dataset_id: string;
  agreement_id: string;
  /** When the dataset was first loaded as this agreement's. */
  recorded_at: string;
}

/**
 * What the host last loaded of each agreement (migration 0040): its version, which parties held
 * which roles and who audited it, JSON of ids (agreements/schema.ts, RememberedAgreementSchema),
 * for filing entries of, and withdrawing consents under, an agreement whose file was removed
 * (shared/agreements/remembered-agreements.ts). Ids and a time only.
 */
export interface AgreementPartyTable {
  agreement_id: string;
  version: string;
  /** `[{ id, roles }]`, as the agreement's `parties` less their names and kinds. */
  parties: string;
  /** `{ roles, parties? }`, as the agreement's `audit` block less its source; null without one. */
  audit: string | null;
  /**
   * The identifier kinds its matching names, a JSON list (migration 0041): what its datasets are
   * searched by once its file is removed. Null in a row written before it.
   */
  identifier_kinds: string | null;
  /**
   * `[{ id, roles }]`: parties an earlier loaded version listed and a later one dropped, with the
   * roles they last held there (migration 0042). Null where none was dropped, or before it.
   */
  dropped_parties: string | null;
  /**
   * A SHA-256 of the agreement as loaded, in a canonical form (migration 0046): what says the
   * file changed while its version did not. Null before it.
   */
  content_hash: string | null;
  /** When the agreement was loaded with these parties, roles, version and content. */
  recorded_at: string;
}

/** A checkpoint the checkpointer anchored, and the anchor blob it went to (migration 0032). */
export interface AnchoredCheckpointTable {
  blob: string;
  tree_size: number;
  root_hash: string;
  time: string;
  key_id: string;
  signature: string;
}

export interface Database {
  consent_event: ConsentEventTable;
  source_record: SourceRecordTable;
  record_identifier: RecordIdentifierTable;
  import_run: ImportRunTable;
  access_log: AccessLogTable;
  access_log_subject_id: AccessLogSubjectIdTable;
  access_log_subject_id_filled: AccessLogSubjectIdFilledTable;
  audit_alert: AuditAlertTable;
  breach_record: BreachRecordTable;
  record_link: RecordLinkTable;
  link_decision: LinkDecisionTable;
  link_run: LinkRunTable;
  curated_release: CuratedReleaseTable;
  curated_count: CuratedCountTable;
  curated_reader: CuratedReaderTable;
  lock_epoch: LockEpochTable;
  curated_indicator_counts: CuratedIndicatorCountsView;
  person_id_move: PersonIdMoveTable;
  opt_out_successor: OptOutSuccessorTable;
  opt_out_kept_record: OptOutKeptRecordTable;
  opt_out_kept_identifier: OptOutKeptIdentifierTable;
  retired_identifier: RetiredIdentifierTable;
  retention_run: RetentionRunTable;
  purpose_agreement: PurposeAgreementTable;
  dataset_agreement: DatasetAgreementTable;
  agreement_party: AgreementPartyTable;
  attribute_layout: AttributeLayoutTable;
  anchored_checkpoint: AnchoredCheckpointTable;
}
