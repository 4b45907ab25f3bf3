/**
 * The store's memory of which agreement each purpose and each dataset belonged to, for filing
 * access-log entries under a purpose, or on a dataset, a re-signed agreement dropped
 * (entry-agreements.ts). The agreement files say only what is signed now. An entry that names no
 * dataset is filed by its purpose's agreement, and once the purpose was gone its entries —
 * consents recorded, each naming a person — were read as every agreement's the party signed,
 * shown to the DPO of an unrelated one (found by a review). An entry that names datasets is filed
 * by theirs, and once a dataset was gone its entries — lookups, each naming the person found —
 * were nobody's: no DPO was shown them, in a subject access answer or a client's activity, and no
 * watch rule counted them (found by a review).
 *
 * At start-up, after migrations, the host writes each purpose and dataset it loaded with its
 * agreement (`purpose_agreement`, migration 0038; `dataset_agreement`, 0039), and reads back those
 * the files no longer define into the AgreementSet it serves with (`withFormerAgreements`): the
 * question is asked for every entry a DPO view or watch rule reads, and stays a lookup in memory.
 * A row is written only where the id is new or has moved, so `recorded_at` is when it was first
 * loaded as that agreement's, and a start-up on unchanged files writes nothing. One row an id, its
 * latest agreement: a purpose or dataset that moved is filed by where it is now, past entries too
 * (as the files alone did). One dropped before a host with the table first started is not known:
 * its entries are read as they were. Ids and a time only.
 *
 * An agreement can end, not be re-signed: its file removed. Its purposes and datasets still name
 * it, but no party held a role in it any more, so its entries were shown to no DPO (and a consent
 * recorded under it, filed as its party's own conduct, to the DPOs of every other agreement the
 * party signs), and its consents could be withdrawn by no one, holding their people from
 * retention (found by a review). So the host also writes each loaded agreement's version, parties'
 * roles and audit block (`agreement_party`, migration 0040), where new or changed, and reads back
 * those of agreements no file defines. They serve only to file its past entries for the DPOs of
 * its parties and to let the recording party withdraw its consents (AgreementSet.formerAgreement).
 * With them the identifier kinds its matching named (migration 0041): its DPO's subject access
 * request by identifiers searches its datasets by those, as while its file was there; without
 * them it found no one by the case reference the agreement matched on (found by a review).
 *
 * A re-signing can also drop a party while the agreement goes on: the row then names the new
 * version's parties alone, and the consents the dropped party recorded under it could be withdrawn
 * by no one (found by a review). So the row keeps the parties a version dropped, with the roles
 * they last held (`dropped_parties`, migration 0042), till one signs again; read back for every
 * agreement, loaded or ended, they serve only that party's withdrawals
 * (AgreementSet.rolesOfPartyDroppedFrom).
 *
 * The version is written to every access-log entry, as what says which rules the entry was
 * decided under; but a file could change while its version stayed as it was, and nothing noticed:
 * the entries under that version named two sets of rules, and two hosts on such files (a
 * deployment) could not be told apart by version (found by a review). So the row keeps a hash of
 * the agreement's content beside its version (`content_hash`, migration 0046), and a start that
 * finds the same version remembered with another hash warns (`agreements.changed-without-version`:
 * the id, the version and short hashes) and remembers the new one. It does not refuse to start:
 * files are edited on a running store, and a warning is how every other agreement problem that
 * leaves the files usable is reported.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AgreementSet, FormerAgreements } from './agreement-set.js';
import {
  RememberedAgreementSchema,
  RememberedPartySchema,
  type Agreement,
  type RememberedAgreement,
  type RememberedParty,
} from './schema.js';
import { linkingRulesOf } from '../linkage/linking-rules.js';
import type { Logger } from '../logging.js';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { isUniqueViolation } from '../store/unique-violation.js';

/** What is remembered: one table each, alike but for the name of the id they are keyed by. */
interface Remembered {
  readonly table: 'purpose_agreement' | 'dataset_agreement';
  readonly key: 'purpose_id' | 'dataset_id';
  idsOf(agreement: Agreement): string[];
  defines(agreements: AgreementSet, id: string): boolean;
}

const PURPOSES: Remembered = {
  table: 'purpose_agreement',
  key: 'purpose_id',
  idsOf: (agreement) => agreement.purposes.map(({ id }) => id),
  defines: (agreements, id) => agreements.purpose(id) !== undefined,
};

const DATASETS: Remembered = {
  table: 'dataset_agreement',
  key: 'dataset_id',
  idsOf: (agreement) => agreement.datasets.map(({ id }) => id),
  defines: (agreements, id) => agreements.dataset(id) !== undefined,
};

/**
 * Records the loaded purposes' and datasets' agreements, and answers, for each purpose and
 * dataset the agreements no longer define, the agreement that last did. An agreement whose
 * content changed under the version the store remembers is named to `logger`.
 */
export async function rememberAgreements(
  store: Store,
  agreements: AgreementSet,
  now: Date = new Date(),
  logger?: Pick<Logger, 'warn'>,
): Promise<FormerAgreements> {
  return {
    purposes: await remember(store, PURPOSES, agreements, now.toISOString()),
    datasets: await remember(store, DATASETS, agreements, now.toISOString()),
    ...(await rememberParties(store, agreements, now.toISOString(), logger)),
  };
}

/**
 * A SHA-256 of the agreement as parsed, its object keys sorted at every depth. The parsed
 * agreement rather than the file's bytes: a comment or the layout of the file edited (the
 * citations of the signed document are comments) changes no rule, and calls for no new version;
 * what the schema reads does. Lists keep their order: a reordered list (matching tiers) can be a
 * change of rule.
 */
export function agreementContentHash(agreement: Agreement): string {
  return createHash('sha256').update(JSON.stringify(agreement, sortedKeys)).digest('hex');
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** How much of a content hash a warning names: enough to tell two files apart, and short to read. */
const SHORT_HASH = 12;

/**
 * The version and content hash the store remembers of one agreement: one seek on its primary key.
 * Read by the linking timer of every host, at each tick that finds the last pass made under other
 * files ({@link otherFilesRemembered}).
 */
export function rememberedContentQuery(db: Kysely<Database>, agreementId: string) {
  return db.selectFrom('agreement_party').select(['version', 'content_hash']).where('agreement_id', '=', agreementId);
}

/**
 * Where the store remembers other content than `agreement` under its version: the files of a host
 * that started after this one (each start remembers its own), as during a deployment whose
 * operator changed a file and left its version as it was. Their short hashes, as
 * `agreements.changed-without-version` names them; undefined where the store remembers these
 * files, another version (version-order.ts orders those), or no hash (a row from before 0046).
 */
export async function otherFilesRemembered(
  db: Kysely<Database>,
  agreement: Agreement,
): Promise<{ rememberedHash: string; loadedHash: string } | undefined> {
  const row = await rememberedContentQuery(db, agreement.id).executeTakeFirst();
  if (row === undefined || row.version !== agreement.version || row.content_hash === null) return undefined;
  const loaded = agreementContentHash(agreement);
  if (row.content_hash === loaded) return undefined;
  return { rememberedHash: row.content_hash.slice(0, SHORT_HASH), loadedHash: loaded.slice(0, SHORT_HASH) };
}

/** The row an agreement is remembered by: ids only, as JSON, in a fixed order to compare. */
function partiesRow(agreement: Agreement): {
  version: string;
  parties: string;
  audit: string | null;
  identifier_kinds: string;
  content_hash: string;
} {
  const remembered: RememberedAgreement = {
    id: agreement.id,
    version: agreement.version,
    parties: agreement.parties.map(({ id, roles }) => ({ id, roles })),
    audit:
      agreement.audit === undefined
        ? null
        : {
            roles: agreement.audit.roles,
            ...(agreement.audit.parties === undefined ? {} : { parties: agreement.audit.parties }),
          },
    identifierKinds: [...linkingRulesOf(agreement).identifierKinds].sort(),
  };
  return {
    version: remembered.version,
    parties: JSON.stringify(remembered.parties),
    audit: remembered.audit === null ? null : JSON.stringify(remembered.audit),
    identifier_kinds: JSON.stringify(remembered.identifierKinds),
    content_hash: agreementContentHash(agreement),
  };
}

/**
 * The parties a re-signing dropped from an agreement, with the roles they last held there: those
 * the row listed and the agreement no longer does, and those it had dropped before and has not
 * signed again. Sorted by id, to compare; null for none.
 */
function droppedPartiesOf(
  agreement: Agreement,
  was: { parties: string; dropped_parties: string | null } | undefined,
): string | null {
  if (was === undefined) return null;
  const listed = new Set(agreement.parties.map(({ id }) => id));
  const before = rememberedParties(was.parties);
  const dropped = [
    ...rememberedParties(was.dropped_parties).filter(({ id }) => !before.some((party) => party.id === id)),
    ...before,
  ].filter(({ id }) => !listed.has(id));
  dropped.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return dropped.length === 0 ? null : JSON.stringify(dropped);
}

/** A stored list of parties; one no host wrote (edited by hand) is read as none, granting nothing. */
function rememberedParties(text: string | null): RememberedParty[] {
  if (text === null) return [];
  const parsed = RememberedPartySchema.array().safeParse(parseJson(text));
  return parsed.success ? parsed.data : [];
}

/** The store's `agreement_party` rows, by agreement id. */
async function rememberedRows(store: Store) {
  const rows = await store.db
    .selectFrom('agreement_party')
    .select(['agreement_id', 'version', 'parties', 'audit', 'identifier_kinds', 'dropped_parties', 'content_hash'])
    .execute();
  return new Map(rows.map((row) => [row.agreement_id, row]));
}

async function rememberParties(
  store: Store,
  agreements: AgreementSet,
  recordedAt: string,
  logger: Pick<Logger, 'warn'> | undefined,
): Promise<Pick<FormerAgreements, 'agreements' | 'droppedParties'>> {
  const remembered = await rememberedRows(store);
  const droppedParties = new Map<string, readonly RememberedParty[]>();
  for (const { agreement } of agreements.all()) {
    const was = remembered.get(agreement.id);
    const row = { ...partiesRow(agreement), dropped_parties: droppedPartiesOf(agreement, was) };
    if (row.dropped_parties !== null) droppedParties.set(agreement.id, rememberedParties(row.dropped_parties));
    // A row from before migration 0046 has no hash to differ from: it is written, unremarked.
    if (
      was !== undefined &&
      was.version === row.version &&
      was.content_hash !== null &&
      was.content_hash !== row.content_hash
    ) {
      logger?.warn('agreements.changed-without-version', {
        agreementId: agreement.id,
        version: row.version,
        rememberedHash: was.content_hash.slice(0, SHORT_HASH),
        loadedHash: row.content_hash.slice(0, SHORT_HASH),
      });
    }
    if (
      was !== undefined &&
      was.version === row.version &&
      was.parties === row.parties &&
      was.audit === row.audit &&
      was.identifier_kinds === row.identifier_kinds &&
      was.dropped_parties === row.dropped_parties &&
      was.content_hash === row.content_hash
    )
      continue;
    if (was === undefined) {
      try {
        await store.db
          .insertInto('agreement_party')
          .values({ agreement_id: agreement.id, ...row, recorded_at: recordedAt })
          .execute();
        continue;
      } catch (err) {
        // Another host starting on the same store wrote it first, as for a purpose above.
        if (!isUniqueViolation(err)) throw err;
      }
    }
    await store.db
      .updateTable('agreement_party')
      .set({ ...row, recorded_at: recordedAt })
      .where('agreement_id', '=', agreement.id)
      .execute();
  }
  return { agreements: formerOf(remembered, agreements, droppedParties), droppedParties };
}

/**
 * What the store remembers of agreements and their parties, read without writing: for a CLI
 * (scripts/token.ts) on a store a host keeps, which is not the CLI's to change. The agreements the
 * files no longer define, and the parties re-signings dropped, as the host would read them back
 * at its next start on these files.
 */
export async function readRememberedParties(
  store: Store,
  agreements: AgreementSet,
): Promise<Pick<FormerAgreements, 'agreements' | 'droppedParties'>> {
  const remembered = await rememberedRows(store);
  const droppedParties = new Map<string, readonly RememberedParty[]>();
  for (const { agreement } of agreements.all()) {
    const dropped = droppedPartiesOf(agreement, remembered.get(agreement.id));
    if (dropped !== null) droppedParties.set(agreement.id, rememberedParties(dropped));
  }
  return { agreements: formerOf(remembered, agreements, droppedParties), droppedParties };
}

/** The remembered agreements no file defines, each read back; their dropped parties go into `droppedParties`. */
function formerOf(
  remembered: ReadonlyMap<
    string,
    {
      version: string;
      parties: string;
      audit: string | null;
      identifier_kinds: string | null;
      dropped_parties: string | null;
    }
  >,
  agreements: AgreementSet,
  droppedParties: Map<string, readonly RememberedParty[]>,
): ReadonlyMap<string, RememberedAgreement> {
  const former = new Map<string, RememberedAgreement>();
  for (const [id, row] of remembered) {
    if (agreements.agreement(id) !== undefined) continue;
    const parsed = RememberedAgreementSchema.safeParse({
      id,
      version: row.version,
      parties: parseJson(row.parties),
      audit: row.audit === null ? null : parseJson(row.audit),
      identifierKinds: row.identifier_kinds === null ? null : parseJson(row.identifier_kinds),
    });
    // A row no host wrote (edited by hand) is no basis for anyone's access: left out, its
    // agreement's entries are read as before the store kept it.
    if (!parsed.success) continue;
    former.set(id, parsed.data);
    const dropped = rememberedParties(row.dropped_parties);
    if (dropped.length > 0) droppedParties.set(id, dropped);
  }
  return former;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function remember(
  store: Store,
  { table, key, idsOf, defines }: Remembered,
  agreements: AgreementSet,
  recordedAt: string,
): Promise<ReadonlyMap<string, string>> {
  // The table and its key are chosen above, from two the schema declares.
  const db = store.db as unknown as Kysely<Record<string, Record<string, string>>>;
  const remembered = new Map(
    (await db.selectFrom(table).select([key, 'agreement_id']).execute()).map((row) => [row[key]!, row.agreement_id!]),
  );
  for (const { agreement } of agreements.all()) {
    for (const id of idsOf(agreement)) {
      const was = remembered.get(id);
      if (was === agreement.id) continue;
      if (was === undefined) {
        try {
          await db
            .insertInto(table)
            .values({ [key]: id, agreement_id: agreement.id, recorded_at: recordedAt })
            .execute();
          continue;
        } catch (err) {
          // Another host starting on the same store wrote it first. On the same files it wrote
          // this row; on others (a deployment under way) the last host to start sets it, as for a
          // moved purpose or dataset.
          if (!isUniqueViolation(err)) throw err;
        }
      }
      await db
        .updateTable(table)
        .set({ agreement_id: agreement.id, recorded_at: recordedAt })
        .where(key, '=', id)
        .where('agreement_id', '<>', agreement.id)
        .execute();
    }
  }
  const former = new Map<string, string>();
  for (const [id, agreementId] of remembered) {
    if (!defines(agreements, id)) former.set(id, agreementId);
  }
  return former;
}
