import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { rememberAgreements } from '../../../shared/agreements/remembered-agreements.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { recordAnchoredCheckpoints } from '../../../shared/audit/anchored-checkpoints.js';
import { accessesToPerson, auditScope } from '../../../shared/audit/dpo-views.js';
import { fillSubjectIdIndex } from '../../../shared/audit/subject-id-fill.js';
import { findSuspiciousActivity } from '../../../shared/audit/watch-rules.js';
import { LeaseLostError } from '../../../shared/blob/blob-lease.js';
import { carryConsentEvents } from '../../../shared/consents/carry-consents.js';
import { StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { pruneReleases, storeRelease, withdrawNoLongerPublishable } from '../../../shared/curated/curated-releases.js';
import { createLogger } from '../../../shared/logging.js';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { CarriedPersonIds } from '../../../shared/imports/carried-person-ids.js';
import { endKeptKeys, keepKeysOfDeparted, reachArrivals } from '../../../shared/imports/opt-out-kept-keys.js';
import { overwrittenSince, type ImportRun } from '../../../shared/imports/import-runs.js';
import { OptOutSuccessors } from '../../../shared/imports/opt-out-successors.js';
import { uuidV7 } from '../../../shared/imports/record-ids.js';
import { SnapshotWriter } from '../../../shared/imports/snapshot-writer.js';
import { snapshotTempTable } from '../../../shared/imports/snapshot-temp-table.js';
import { nextLinkedAgreementQuery } from '../../../shared/linkage/link-people.js';
import { MAX_HISTORY_IDS, personIdHistory, recordPersonIdMoves } from '../../../shared/linkage/person-id-history.js';
import { lastMoveOutCommittedIn, lastMoveOutTimes } from '../../../shared/people/current-person-id.js';
import { noteOptOutSuccessors, possiblySamePerson } from '../../../shared/people/possibly-same-person.js';
import { decisionsForGroups } from '../../../shared/people/callers-subjects.js';
import { decide } from '../../../shared/policy/decide.js';
import { listCandidates } from '../../../shared/linkage/review-queue.js';
import {
  keptHashSetsUnder,
  retiredContradicts,
  retiredMatches,
  retireIdentifiers,
} from '../../../shared/people/retired-identifiers.js';
import { storedKeyVersions, unknownStoredKeyVersion } from '../../../shared/people/stored-key-versions.js';
import { purposeOfOptOutRecording } from '../../../shared/people/person-agreement.js';
import { dialectFor } from '../../../shared/store/dialect.js';
import { holdsLockEpoch, takeLockEpoch } from '../../../shared/store/lock-epochs.js';
import { migrationsFor } from '../../../shared/store/migrations/index.js';
import {
  attributeLayout,
  attributesText,
  keepAttributeLayout,
  readAttributes,
} from '../../../shared/store/record-attributes.js';
import { readStoreSources } from '../../../shared/linkage/store-sources.js';
import { housingLinkConfirmation } from '../../support/link-confirmations.js';
import { InMemoryConsents } from '../policy/in-memory-consents.js';
import { expectAccepted, sqlServerStatements } from '../../support/sql-server-statements.js';

/**
 * What the product sends Azure SQL, compiled by Kysely's SQL Server compiler from the product's
 * own code (no SQL Server can run here: test/support/sql-server-statements.ts), checked against
 * the rules SQL Server enforces whatever the data.
 */

const AGREEMENT = 'social-care-education-housing';

/** The `record` event of an opt-out recorded under `subject`, as consent_event holds it. */
const optOutRecorded = (subject: string, consentId: string) => ({
  event_id: uuidV7(),
  consent_id: consentId,
  subject_key: subject,
  kind: 'opt-out',
  purpose_id: null,
  action: 'record',
  party_id: 'la-housing',
  client_id: 'a-client',
  evidence_ref: null,
  at: '2026-12-03T12:00:00.000Z',
});
const DATASET = 'multiple-disadvantage-indicators';

/**
 * A term asking for the entries about one person (entry-subjects.ts, subjectNames): their subject
 * alone, or an entry about several that the index of their ids finds and whose own subject names
 * them between separators.
 */
const NAMED_BY_SUBJECT = String.raw`"subject_ref" = @\d+ or "seq" in \(select "access_log_subject_id"\."seq" from "access_log_subject_id" inner join "access_log" as "entry" on "entry"\."seq" = "access_log_subject_id"\."seq" where "access_log_subject_id"\."person_id" = @\d+ and charindex\(concat\(' ', "access_log_subject_id"\."person_id", ' '\), concat\(' ', "entry"\."subject_ref", ' '\)\) > 0\)`;

describe('statements sent to Azure SQL', () => {
  it("reads when records last moved out of an id, by their passes' commits, with statements SQL Server accepts", async () => {
    const { store, statements } = sqlServerStatements();
    await lastMoveOutTimes(store, 'a-person-id');
    await lastMoveOutCommittedIn(store.db, 'a-person-id');
    expect(statements).toHaveLength(2);
    expectAccepted(statements);
    for (const statement of statements)
      expect(statement.sql).toContain('max(coalesce("link_run"."committed_at", "link_run"."finished_at"))');
  });

  it('walks the agreements holding links, one row a statement, as SQL Server bounds a read', async () => {
    const { store, statements } = sqlServerStatements();
    await nextLinkedAgreementQuery(store.db, store.dialect, '').execute();
    expect(statements).toHaveLength(1);
    expectAccepted(statements);
    expect(statements[0]!.sql).toMatch(
      /^select top\(1\) "agreement_id" from "record_link" where "agreement_id" > @1 order by "agreement_id"$/,
    );
  });

  it("asks for the runs under a file's name by the first characters 0054's index keys, and the name whole", async () => {
    const { store, statements } = sqlServerStatements();
    await overwrittenSince(store.db, {
      id: 'run-1',
      party_id: 'la-housing',
      dataset_id: DATASET,
      blob_name: `la-housing/${DATASET}/extract.csv`,
      received_at: '2026-12-03T12:00:00.000Z',
      uploaded_at: null,
    } as ImportRun);
    expectAccepted(statements);
    // As the computed column is defined, for the optimiser to seek by it.
    expect(statements.map((s) => s.sql)).toEqual([
      'select "uploaded_at", "received_at" from "import_run" where "party_id" = @1 and "dataset_id" = @2 and substring("blob_name", 1, 400) = substring(@3, 1, 400) and "blob_name" = @4 and "id" != @5',
    ]);
  });

  it('lists the link-review queue, first page and later ones, with statements SQL Server accepts', async () => {
    const { store, statements } = sqlServerStatements();
    await listCandidates(store, AGREEMENT, [DATASET], { limit: 20 });
    await listCandidates(store, AGREEMENT, [DATASET], {
      limit: 20,
      after: '0.75_0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    });
    expect(statements).toHaveLength(2);
    expectAccepted(statements);
    // The page's rows, most probable first, bounded as SQL Server bounds a read.
    expect(statements[0]!.sql).toMatch(/^select top\(501\) .* order by "score" desc, "id"$/);
  });

  it("reads the identifiers of a full page's candidates' people in one statement SQL Server accepts", async () => {
    // A page's 500 candidates (and one more, to say another page follows) of 1,000 records, half
    // of them linked to someone and half to no one.
    const rows = Array.from({ length: 501 }, (_, n) => ({
      id: `0190a1b2-c3d4-7e5f-8a9b-${String(n).padStart(12, '0')}`,
      tier: 5,
      score: 0.9,
      source_a: `la-housing/${DATASET}`,
      source_b: `la-childrens-social-care/${DATASET}`,
      record_a: `a${n}`,
      record_b: `b${n}`,
    }));
    const owners = rows.slice(0, 500).flatMap((r, n) => [
      { id: r.record_a, person_id: `p${n}` },
      { id: r.record_b, person_id: null },
    ]);
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('from "record_link"') ? rows : q.sql.startsWith('select "id", "person_id"') ? owners : [],
    );
    await listCandidates(store, AGREEMENT, [DATASET], { limit: 20 });
    expectAccepted(statements);
    const identifiers = statements.filter((s) => s.sql.includes('from "record_identifier"'));
    expect(identifiers).toHaveLength(1);
    expect(identifiers[0]!.parameters).toHaveLength(1_000);
  });

  it("reads a linking pass's records and identifiers in pages SQL Server accepts", async () => {
    const { store, statements } = sqlServerStatements();
    await readStoreSources(store.db, [DATASET], 'v1', store.dialect);
    expect(statements).toHaveLength(2);
    expectAccepted(statements);
    for (const statement of statements) expect(statement.sql).toMatch(/^select top\(20000\) .* order by /);
  });

  const RUN = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const snapshot = { runId: RUN, partyId: 'la-housing', datasetId: DATASET, asOf: '2026-12-01', keyVersion: 'v2' };

  it("notes, carries and keeps an opted-out person's keys at load with statements SQL Server accepts", async () => {
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('case when exists')
        ? [{ kept: 1 }]
        : q.sql.includes('as found')
          ? [{ found: 'r1', person_id: 'p1' }]
          : [],
    );
    await store.db.transaction().execute(async (trx) => {
      const carried = new CarriedPersonIds(trx, 'mssql', snapshot, undefined);
      await carried.notePrevious();
      const optOuts = new OptOutSuccessors(trx, 'mssql', snapshot);
      await optOuts.notePrevious();
      const outcome = await carried.carry();
      await optOuts.carry(carried.comparableIdentifiers(outcome), carried.keyTable);
      await keepKeysOfDeparted(trx, optOuts.left, DATASET);
      await optOuts.drop();
      await carried.drop();
      expect(await reachArrivals(trx, 'mssql', { runId: RUN })).toBe(1);
      await reachArrivals(trx, 'mssql', { datasetIds: [DATASET, 'other'] });
      await endKeptKeys(trx, 'consent-1');
    });
    expectAccepted(statements);
    // The successors by the names alone (opt-out-successors.ts) are among the statements checked.
    expect(statements.some((s) => s.sql.includes('as by_names'))).toBe(true);
    // And the notes of the carries a subject access request names the other id by.
    expect(statements.some((s) => s.sql.startsWith('insert into [opt_out_successor]'))).toBe(true);
    // Temporary tables that outlive one sp_executesql call (snapshot-temp-table.ts).
    const created = statements.filter((s) => s.sql.startsWith('create table'));
    expect(created.length).toBeGreaterThan(0);
    for (const statement of created) expect(statement.sql).toMatch(/^create table ##lintel_[a-z]+_[0-9a-f]{32} \(/);
  });

  it.each([
    ['under the load’s key', 'v2'],
    ['under the previous snapshot’s key, after a rotation', 'v1'],
  ])('carries person ids by identifier %s with statements SQL Server accepts', async (_under, previous) => {
    // The previous snapshot's identifiers under `previous`: the carry by identifier runs, with its
    // checks against the person's records elsewhere (CarriedPersonIds.carryUnder).
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.startsWith('select distinct key_version from ##') ? [{ key_version: previous }] : [],
    );
    const rotated = { ...snapshot, previousKeyVersion: 'v1' };
    await store.db.transaction().execute(async (trx) => {
      const comparison = snapshotTempTable('mssql', RUN, 'comparison_ids');
      const carried = new CarriedPersonIds(trx, 'mssql', rotated, comparison);
      await carried.notePrevious();
      expect(await carried.carry()).toBe(previous === 'v2' ? 'same-key' : 'previous-key');
    });
    expectAccepted(statements);
    const carries = statements.filter((s) => s.sql.includes('count(*) over (partition by k.person_id)'));
    expect(carries.length).toBeGreaterThan(0);
  });

  it('follows an opted-out person no other way took by two of what is left, with statements SQL Server accepts', async () => {
    // The noted person none of the ways before took to a record of the snapshot (twoOfWhatIsLeft).
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.startsWith('select distinct person_id from ##')
        ? [{ person_id: 'p1' }]
        : q.sql.includes('select distinct sr.id as found, p.person_id')
          ? [{ found: 'r1', person_id: 'p1' }]
          : [],
    );
    await store.db.transaction().execute(async (trx) => {
      const carried = new CarriedPersonIds(trx, 'mssql', snapshot, undefined);
      await carried.notePrevious();
      const optOuts = new OptOutSuccessors(trx, 'mssql', snapshot);
      await optOuts.notePrevious();
      const outcome = await carried.carry();
      await optOuts.carry(carried.comparableIdentifiers(outcome), carried.keyTable);
    });
    expectAccepted(statements);
    const sent = statements.map((s) => s.sql.trim());
    // Each pair probed by an index of the notes' table (a load's transaction, not a snapshot one).
    const indexes = sent.filter((text) => /^create index snapshot_optout_(names|postcode_)/.test(text));
    expect(indexes.map((text) => text.replace(/ on ##lintel_optoutrecords_[0-9a-f]{32} /, ' on notes '))).toEqual([
      'create index snapshot_optout_names on notes (given_name, family_name)',
      'create index snapshot_optout_postcode_family on notes (postcode, family_name)',
      'create index snapshot_optout_postcode_given on notes (postcode, given_name)',
      'create index snapshot_optout_postcode_dob on notes (postcode, date_of_birth)',
    ]);
    expect(sent.some((text) => text.startsWith('update source_record'))).toBe(true);
  });

  it('reads the opt-outs a load must carry under a lock held to its commit, before it deletes the previous records', async () => {
    // On Azure SQL a consent write and a load are separate connections. The range lock is what
    // makes an opt-out recorded during a load wait for it and then find the person as the load
    // left them (opt-out-successors.ts): without it the load could replace the records of a
    // person whose opt-out it never read. What the lock does only a server shows; this pins
    // that it is asked for, and where.
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('select top(1) "import_run_id", "as_of" from "source_record"')
        ? [{ import_run_id: 'previous-run', as_of: '2026-11-01' }]
        : [],
    );
    await store.db.transaction().execute(async (trx) => {
      await new SnapshotWriter(trx, store, snapshot).deletePrevious();
    });
    expectAccepted(statements);
    const at = (test: (sql: string) => boolean) => statements.findIndex((s) => test(s.sql));
    const optOutReads = statements.filter((s) => /\bconsent_event\b/.test(s.sql) && /^\s*(insert|select)/.test(s.sql));
    expect(optOutReads.length).toBeGreaterThan(0);
    for (const read of optOutReads)
      for (const table of read.sql.matchAll(/\bconsent_event\s+(\w+)(\s+with \(holdlock\))?/g))
        expect({ alias: table[1], locked: table[2] !== undefined }).toEqual({ alias: table[1], locked: true });
    const firstDelete = at((sql) => sql.startsWith('delete from "record_identifier"'));
    expect(firstDelete).toBeGreaterThan(-1);
    expect(at((sql) => /\bconsent_event\b/.test(sql))).toBeLessThan(firstDelete);
  });

  it('keeps, finds and counts the hashes of deleted records with statements SQL Server accepts', async () => {
    // A retention batch (500 records) of three identifiers each.
    const held = Array.from({ length: 1_500 }, (_, n) => ({
      person_id: `p${Math.floor(n / 3)}`,
      dataset_id: DATASET,
      kind: ['nhs', 'upn', 'system-id:mosaic'][n % 3],
      hash: n.toString(16).padStart(64, '0'),
      key_version: 'v2',
    }));
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('"record_identifier" as "ri"') ? held : [],
    );
    await store.db.transaction().execute(async (trx) => {
      await retireIdentifiers(
        trx,
        'mssql',
        Array.from({ length: 500 }, (_, n) => `r${n}`),
        '2026-12-03T12:00:00.000Z',
      );
    });
    expect(statements.filter((s) => s.sql.startsWith('insert into [retired_identifier]'))).toHaveLength(5);
    const pseudonymisers = ['v1', 'v2'].map(
      (keyVersion) => new Pseudonymiser({ keyVersion, key: Buffer.alloc(32, 7) }),
    );
    const query = {
      identifiers: [
        { kind: 'nhs', value: '9434765919' },
        { kind: 'system-id:mosaic', value: 'M1' },
      ],
    };
    await retiredMatches(store, pseudonymisers, query, [DATASET], () => true);
    await retiredContradicts(store, pseudonymisers, query, [DATASET], 'p1');
    await storedKeyVersions(store);
    await unknownStoredKeyVersion(store, ['v1', 'v2']);
    expectAccepted(statements);
  });

  it("notes a pass's moves with their times and follows a person's ids with statements SQL Server accepts", async () => {
    const { store, statements } = sqlServerStatements();
    const moves = Array.from({ length: 1_200 }, (_, n) => ({
      from: `a${n}`,
      to: `b${n}`,
      heldSince: '2026-12-01T09:00:00.000Z',
    }));
    await store.db.transaction().execute(async (trx) => {
      await recordPersonIdMoves(trx, 'mssql', moves, '2026-12-03T12:00:00.000Z', 'run-1');
    });
    await personIdHistory(store.db, 'p1');
    expectAccepted(statements);
  });

  it("notes a pass's 2,500 moves, and follows a person's ids to the history's bound, in statements within SQL Server’s 2,100 parameters", async () => {
    // Every id the walk reaches had 30 moves into it, each a day before its records moved on:
    // far more ids than a history holds.
    const movedAt = (id: string) => `2026-11-${String(28 - id.split('-').length).padStart(2, '0')}T09:00:00.000Z`;
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('where "person_id_move"."to_person_id" in')
        ? q.parameters.flatMap((to) =>
            Array.from({ length: 30 }, (_, n) => ({
              from_person_id: `${String(to)}-${n}`,
              to_person_id: to,
              moved_at: movedAt(String(to)),
              held_since: null,
              committed_at: null,
            })),
          )
        : [],
    );
    const moves = Array.from({ length: 2_500 }, (_, n) => ({ from: `a${n}`, to: `b${n}`, heldSince: null }));
    await store.db.transaction().execute(async (trx) => {
      expect(await recordPersonIdMoves(trx, 'mssql', moves, '2026-12-03T12:00:00.000Z', 'run-1')).toBe(2_500);
    });
    const { ids, capped } = await personIdHistory(store.db, 'p1');
    expect({ ids: ids.length, capped }).toEqual({ ids: MAX_HISTORY_IDS, capped: true });
    expectAccepted(statements);
    // Every move's earlier notes read, none dropped to fit; every move written.
    const known = statements.filter((s) => s.sql.startsWith('select "from_person_id", "to_person_id"'));
    expect(known.length).toBeGreaterThan(1);
    expect(known.flatMap((s) => s.parameters.slice(0, -1)).sort()).toEqual(moves.map((m) => m.from).sort());
    const written = statements.filter((s) => /^insert into ["[]person_id_move/.test(s.sql));
    expect(written.reduce((rows, s) => rows + s.parameters.length / 5, 0)).toBe(2_500);
  });

  it('notes opt-outs carried to plausible successors and reads them for a subject access request with statements SQL Server accepts', async () => {
    const { store, statements } = sqlServerStatements();
    const carries = Array.from({ length: 1_200 }, (_, n) => ({ from: `a${n}`, to: `b${n}` }));
    await store.db.transaction().execute(async (trx) => {
      expect(await noteOptOutSuccessors(trx, 'mssql', carries, '2026-12-03T12:00:00.000Z')).toBe(1_200);
    });
    expect(statements.filter((s) => s.sql.startsWith('insert into [opt_out_successor]'))).toHaveLength(2);
    const history = Array.from({ length: MAX_HISTORY_IDS }, (_, n) => ({
      personId: `p${n}`,
      since: undefined,
      until: n === 0 ? undefined : '2026-12-03T12:00:00.000Z',
      loggedUntil: n === 0 ? undefined : '2026-12-03T12:00:05.000Z',
    }));
    await possiblySamePerson(store.db, history);
    expectAccepted(statements);
  });

  it("keeps 2,500 deleted identifiers' hashes, and notes 2,500 opt-out carries, in statements within SQL Server’s 2,100 parameters", async () => {
    const held = Array.from({ length: 2_500 }, (_, n) => ({
      person_id: `p${n}`,
      dataset_id: DATASET,
      kind: 'nhs',
      hash: n.toString(16).padStart(64, '0'),
      key_version: 'v2',
    }));
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('"record_identifier" as "ri"') ? held : [],
    );
    const carries = Array.from({ length: 2_500 }, (_, n) => ({ from: `a${n}`, to: `b${n}` }));
    await store.db.transaction().execute(async (trx) => {
      await retireIdentifiers(trx, 'mssql', ['r1'], '2026-12-03T12:00:00.000Z');
      expect(await noteOptOutSuccessors(trx, 'mssql', carries, '2026-12-03T12:00:00.000Z')).toBe(2_500);
    });
    expectAccepted(statements);
    // Every hash and every carry's earlier id read, none dropped to fit; every row written.
    const keptHashes = statements.filter((s) => s.sql.startsWith('select "person_id", "dataset_id", "kind", "hash"'));
    expect(keptHashes.length).toBeGreaterThan(1);
    expect(keptHashes.flatMap((s) => s.parameters.slice(1)).sort()).toEqual(held.map((h) => h.hash).sort());
    const knownCarries = statements.filter((s) => s.sql.startsWith('select "earlier_person_id", "later_person_id"'));
    expect(knownCarries.length).toBeGreaterThan(1);
    expect(knownCarries.flatMap((s) => s.parameters).sort()).toEqual(carries.map((c) => c.from).sort());
    const rowsInto = (table: string, columns: number) =>
      statements
        .filter((s) => s.sql.startsWith(`insert into [${table}]`))
        .reduce((rows, s) => rows + s.parameters.length / columns, 0);
    expect({ retired: rowsInto('retired_identifier', 6), carries: rowsInto('opt_out_successor', 3) }).toEqual({
      retired: 2_500,
      carries: 2_500,
    });
  });

  it("reads the identifiers of 2,500 records to be deleted in statements within SQL Server's 2,100 parameters, each record once", async () => {
    // More than a deletion's page holds (retention-people.ts): the read is sized by the engine,
    // not by its caller's page.
    const records = Array.from({ length: 2_500 }, (_, n) => `r${n}`);
    const { store, statements } = sqlServerStatements();
    await store.db.transaction().execute(async (trx) => {
      await retireIdentifiers(trx, 'mssql', records, '2026-12-03T12:00:00.000Z');
    });
    expectAccepted(statements);
    const reads = statements.filter((s) => s.sql.includes('"record_identifier" as "ri"'));
    expect(reads.length).toBeGreaterThan(1);
    expect(reads.flatMap((s) => s.parameters)).toEqual(records);
  });

  it('records 2,500 checkpoints anchored before the store recorded them, one already recorded, in inserts SQL Server takes', async () => {
    // Some nine days of five-minute checkpoints in the anchor log's first blob (it holds 50,000).
    const blob = 'checkpoints/000000.log';
    const anchored = Array.from({ length: 2_500 }, (_, n) => ({
      blob,
      checkpoint: {
        treeSize: n * 10,
        rootHash: n.toString(16).padStart(64, '0'),
        time: new Date(Date.UTC(2026, 10, 1) + n * 300_000).toISOString(),
        keyId: 'https://vault.example/keys/checkpoint/v1',
        signature: `sig${n}`,
      },
    }));
    const [first] = anchored;
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.startsWith('select * from "anchored_checkpoint"')
        ? [
            {
              blob,
              tree_size: String(first!.checkpoint.treeSize),
              root_hash: first!.checkpoint.rootHash,
              time: first!.checkpoint.time,
              key_id: first!.checkpoint.keyId,
              signature: first!.checkpoint.signature,
            },
          ]
        : [],
    );
    await recordAnchoredCheckpoints(store, anchored);
    expectAccepted(statements);
    // Every checkpoint not yet recorded written once, in order; the one recorded not again.
    const written = statements
      .filter((s) => /^insert into \[?"?anchored_checkpoint/.test(s.sql))
      .flatMap((s) => s.parameters.filter((_, n) => n % 6 === 5));
    expect(written).toEqual(anchored.slice(1).map(({ checkpoint }) => checkpoint.signature));
  });

  it("tells a housing provider's review queue which of 1,250 pairs are its tenants, reading 2,500 people in statements within SQL Server's 2,100 parameters", async () => {
    const agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
    const decision = await decide(
      {
        caller: { partyId: 'social-housing-providers', clientId: 'rp-client', roles: ['rp-tenancy-officer'] },
        purpose: 'tenancy-sustainment',
        datasets: [DATASET],
        subject: null,
        action: 'lookup',
      },
      { agreements, consents: new InMemoryConsents(), now: () => new Date('2026-12-03T12:00:00.000Z') },
    );
    if (!decision.allow) throw new Error(`not allowed: ${decision.reason}`);
    // Pairs of two people; the provider's extract holds the first of every other pair.
    const people = Array.from({ length: 2_500 }, (_, n) => `p${n}`);
    const pairs = Array.from({ length: 1_250 }, (_, n) => [people[2 * n]!, people[2 * n + 1]!]);
    const held = new Set(people.filter((_, n) => n % 4 === 0));
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.startsWith('select distinct "person_id" from "source_record"')
        ? q.parameters.filter((p) => held.has(String(p))).map((person_id) => ({ person_id }))
        : [],
    );
    const decisions = await decisionsForGroups(store, agreements, decision, pairs);
    expectAccepted(statements);
    expect(statements.length).toBeGreaterThan(1);
    // Every person read once; the provider's pairs, and only those, answered.
    expect(statements.flatMap((s) => s.parameters.slice(0, -2))).toEqual(people);
    expect(decisions.map((d) => d !== undefined)).toEqual(pairs.map((_, n) => n % 2 === 0));
  });

  it('keeps and reads attribute layouts with statements SQL Server accepts, the new layout read under an update lock', async () => {
    // Two loads bringing the same new layout: without the lock both find no row and the second
    // fails on the key, an import lost to a retry. What the lock does only a server shows.
    const layout = attributeLayout(['firstName', 'inRentArrears']);
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('from "attribute_layout" where') ? [{ id: layout.id, names: JSON.stringify(layout.names) }] : [],
    );
    await store.db.transaction().execute((trx) => keepAttributeLayout(trx, 'mssql', layout));
    expect(await readAttributes([attributesText(layout.id, [0, 1], ['Ann', true])], store)).toEqual([
      { firstName: 'Ann', inRentArrears: true },
    ]);
    expectAccepted(statements);
    const sent = statements.map((s) => s.sql);
    expect(sent.find((text) => text.includes('attribute_layout'))).toMatch(
      /^select names from attribute_layout with \(updlock, holdlock\) where id = @1$/,
    );
    expect(sent.some((text) => text.startsWith('insert into "attribute_layout"'))).toBe(true);
  });

  it("counts the watch rules' lookups, a lone follow-up among them, with statements SQL Server accepts", async () => {
    const agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
    // One busy client, so the per-minute and no-match reads are sent too.
    const { store, statements } = sqlServerStatements((q) =>
      /group by "client_id" having/.test(q.sql) ? [{ client_id: 'a-client' }] : [],
    );
    await findSuspiciousActivity(store, agreements, new Date('2026-03-11T10:30:00.000Z'));
    expectAccepted(statements);
    const sent = statements.map((s) => s.sql);
    expect(sent.some((text) => text.includes('substring("time", 1, 16)'))).toBe(true);
    // A follow-up is counted where no earlier entry of its call is under its request id.
    const lookups = sent.filter((text) => text.includes('"reason_code" not in'));
    expect(lookups.length).toBeGreaterThan(0);
    for (const text of lookups)
      expect(text).toContain(
        'not exists (select "call_entry"."seq" from "access_log" as "call_entry" where "call_entry"."request_id" = "access_log"."request_id"',
      );
  });

  it("remembers each loaded purpose's and dataset's agreement, and reads back the dropped ones, with statements SQL Server accepts", async () => {
    const agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
    // The store remembers, of each, one at another agreement (moved) and one no file defines now.
    const { store, statements } = sqlServerStatements((query) =>
      query.sql.startsWith('select') && query.sql.includes('"purpose_agreement"')
        ? [
            { purpose_id: 'research-evaluation', agreement_id: 'keyways-housing-allocation' },
            { purpose_id: 'withdrawn-pilot', agreement_id: 'housing-first-research' },
          ]
        : query.sql.startsWith('select') && query.sql.includes('"dataset_agreement"')
          ? [
              { dataset_id: 'housing-first-participant-contacts', agreement_id: 'keyways-housing-allocation' },
              { dataset_id: 'withdrawn-pilot-contacts', agreement_id: 'housing-first-research' },
            ]
          : query.sql.startsWith('select') && query.sql.includes('"agreement_party"')
            ? [
                {
                  agreement_id: 'withdrawn-pilot-agreement',
                  version: '1.0.0',
                  parties: '[{"id":"dudley-housing-options","roles":["dpo"]}]',
                  audit: '{"roles":["dpo"]}',
                  identifier_kinds: null,
                },
              ]
            : [],
    );
    expect(await rememberAgreements(store, agreements)).toEqual({
      purposes: new Map([['withdrawn-pilot', 'housing-first-research']]),
      datasets: new Map([['withdrawn-pilot-contacts', 'housing-first-research']]),
      agreements: new Map([
        [
          'withdrawn-pilot-agreement',
          {
            id: 'withdrawn-pilot-agreement',
            version: '1.0.0',
            parties: [{ id: 'dudley-housing-options', roles: ['dpo'] }],
            audit: { roles: ['dpo'] },
            // A row written before migration 0041 noted none.
            identifierKinds: null,
          },
        ],
      ]),
      droppedParties: new Map(),
    });
    expectAccepted(statements);
    for (const [table, count] of [
      ['purpose_agreement', agreements.all().reduce((n, { agreement }) => n + agreement.purposes.length, 0)],
      ['dataset_agreement', agreements.all().reduce((n, { agreement }) => n + agreement.datasets.length, 0)],
    ] as const) {
      const kinds = statements.filter((s) => s.sql.includes(`"${table}"`)).map((s) => s.sql.split(' ')[0]);
      expect(kinds[0]).toBe('select');
      expect(kinds.filter((kind) => kind === 'update')).toHaveLength(1);
      expect(kinds.filter((kind) => kind === 'insert')).toHaveLength(count - 1);
    }
    // Each agreement loaded is new to this store: one insert each, after one read.
    const agreementKinds = statements
      .filter((s) => s.sql.includes('"agreement_party"'))
      .map((s) => s.sql.split(' ')[0]);
    expect(agreementKinds).toEqual(['select', ...agreements.all().map(() => 'insert')]);
  });

  it("takes and checks the export lock's epoch, the fence of a planning release, with statements SQL Server accepts", async () => {
    const { store, statements } = sqlServerStatements();
    const epoch = await takeLockEpoch(store, 'curated/export.lock');
    await store.db.transaction().execute((trx) => holdsLockEpoch(trx, epoch));
    expectAccepted(statements);
    // The first holder adds the lock's row; the check is an update, so the row stays locked to the commit.
    expect(statements.map((s) => s.sql)).toEqual([
      'update "lock_epoch" set "epoch" = "epoch" + @1 where "name" = @2',
      'insert into "lock_epoch" ("name", "epoch") values (@1, @2)',
      'update "lock_epoch" set "epoch" = @1 where "name" = @2 and "epoch" = @3',
    ]);
  });

  it('counts the kept hash sets a key version gone from Key Vault leaves uncompared, with statements SQL Server accepts', async () => {
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('"retired_identifier"') ? [{ key_version: 'v1', n: 2 }] : [{ key_version: 'v1', n: 1 }],
    );
    expect(await keptHashSetsUnder(store, ['v1'], [DATASET])).toEqual([{ keyVersion: 'v1', hashSets: 3 }]);
    expectAccepted(statements);
    // One set a person and dataset, of each table: counts only, never whose.
    expect(statements.map((s) => s.sql)).toEqual(
      ['retired_identifier', 'opt_out_kept_identifier'].map(
        (table) =>
          `select "sets"."key_version", count(*) as "n" from (select distinct "key_version", "person_id", "dataset_id" from "${table}" where "key_version" in (@1) and "dataset_id" in (@2)) as "sets" group by "sets"."key_version"`,
      ),
    );
  });

  it('records an opt-out for a person not held, and for several people beside a kept-only id, with statements SQL Server accepts', async () => {
    const [held, other, keptOnly] = [uuidV7(), uuidV7(), uuidV7()].sort();
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('sp_getapplock')
        ? [{ status: 0 }]
        : q.sql.startsWith('select top(1) "id" from "source_record"')
          ? [{ id: 'r1' }]
          : q.sql.startsWith('select * from "consent_event"')
            ? [held!, keptOnly!, other!].map((subject) => optOutRecorded(subject, 'c1'))
            : q.sql.startsWith('select distinct "person_id" from "source_record"')
              ? [{ person_id: held }, { person_id: other }]
              : [],
    );
    const consents = new StoreConsentRegister(store);
    const keys = [
      { datasetId: DATASET, kind: 'upn', hash: 'a'.repeat(64), keyVersion: 'v2', hashes: ['a'.repeat(64)] },
    ];
    const by = { partyId: 'la-housing', clientId: 'a-client' };
    const at = new Date('2026-12-03T12:00:00.000Z');
    await consents.recordUnheld({ personId: keptOnly!, keys, evidenceRef: null, by, at });
    await consents.recordForEach({
      subjectKeys: [held!, other!],
      keep: { personId: keptOnly!, keys },
      evidenceRef: null,
      by,
      at,
      settledSince: '2026-12-03T11:59:00.000Z',
    });
    // The kept-only id is named beside the people held: no record holds it, none moved out of it.
    expect((await consents.find('c1'))?.subjectKeys).toEqual([held, keptOnly, other]);
    expectAccepted(statements);
    const sent = statements.map((s) => s.sql);
    // The party's opt-out in force for the same keys, one of them, as SQL Server bounds a read.
    expect(sent.find((text) => text.includes('"opt_out_kept_identifier" where "hash" in'))).toMatch(
      /^select top\(1\) "r"."consent_id" from "consent_event" as "r" where [^]* order by "r"."consent_id"$/,
    );
    expect(sent).toContain('select distinct "from_person_id" from "person_id_move" where "from_person_id" in (@1)');
  });

  /**
   * Statements answered as where every person asked about is held and every lock is granted, and
   * opt-out c1 of la-housing is in force under each id `recorded` gives.
   */
  const storeHolding = (recorded: () => readonly string[]) =>
    sqlServerStatements((q) =>
      q.sql.includes('sp_getapplock')
        ? [{ status: 0 }]
        : q.sql.startsWith('select top(1) "id" from "source_record"')
          ? [{ id: 'r1' }]
          : q.sql.startsWith('select * from "consent_event"')
            ? recorded().map((subject) => optOutRecorded(subject, 'c1'))
            : q.sql.startsWith('select "r"."consent_id", "r"."subject_key" from "consent_event" as "r"')
              ? recorded()
                  .filter((subject) => q.parameters.includes(subject))
                  .map((subject_key) => ({ consent_id: 'c1', subject_key }))
              : q.sql.startsWith('select distinct "subject_key" from "consent_event"')
                ? recorded().map((subject_key) => ({ subject_key }))
                : q.sql.startsWith('select distinct "person_id" from "source_record"')
                  ? q.parameters.map((person_id) => ({ person_id }))
                  : [],
    );
  const manyPeople = (n: number) => Array.from({ length: n }, () => uuidV7()).sort();

  it('records an opt-out for 250 matched people and a kept-only id, for every one of them, in statements within SQL Server’s 2,100 parameters', async () => {
    // Ten parameters an event: in one insert, more than about 209 people were refused (500/503).
    const people = manyPeople(250);
    const keptOnly = uuidV7();
    const { store, statements } = storeHolding(() => []);
    const recorded = await new StoreConsentRegister(store).recordForEach({
      subjectKeys: people,
      keep: {
        personId: keptOnly,
        keys: [{ datasetId: DATASET, kind: 'upn', hash: 'a'.repeat(64), keyVersion: 'v2', hashes: ['a'.repeat(64)] }],
      },
      evidenceRef: null,
      by: { partyId: 'la-housing', clientId: 'a-client' },
      at: new Date('2026-12-03T12:00:00.000Z'),
      settledSince: '2026-12-03T11:59:00.000Z',
    });
    expect(recorded.subjectKeys).toHaveLength(251);
    expectAccepted(statements);
    // An event under every one of them, each person once, in as many inserts as the limit takes.
    const inserts = statements.filter((s) => s.sql.startsWith('insert into [consent_event]'));
    expect(inserts).toHaveLength(2);
    const written = inserts.flatMap((s) => s.parameters.filter((p, i) => i % 10 === 1));
    expect(written.sort()).toEqual([...people, keptOnly].sort());
  });

  it('answers again, finds, files and withdraws an opt-out recorded for 2,200 people, in statements within SQL Server’s 2,100 parameters', async () => {
    // A read naming every person the opt-out stands under: one id (or three tests of the
    // access log's subject) a parameter each, refused past 2,100 in one statement.
    const people = manyPeople(2_200);
    const { store, statements } = storeHolding(() => people);
    const consents = new StoreConsentRegister(store);
    const by = { partyId: 'la-housing', clientId: 'a-client' };
    const at = new Date('2026-12-03T12:00:00.000Z');
    const again = await consents.recordForEach({ subjectKeys: people, evidenceRef: null, by, at });
    expect(again).toMatchObject({ consentId: 'c1', alreadyInForce: true });
    expect(again.subjectKeys).toHaveLength(2_200);
    const agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
    await purposeOfOptOutRecording(store, agreements, { consentId: 'c1', recordedBy: 'la-housing' });
    await consents.withdraw('c1', by, at);
    expectAccepted(statements);
    // Each read asked about every person, across its statements: none dropped to fit.
    for (const read of [
      'from "consent_event" as "r"',
      'from "source_record" where "person_id" in',
      'from "access_log"',
    ]) {
      const asked = new Set(statements.filter((s) => s.sql.includes(read)).flatMap((s) => s.parameters));
      expect({ read, notAsked: people.filter((p) => !asked.has(p)).length }).toEqual({ read, notAsked: 0 });
    }
  });

  it("finds the recording of an opt-out recorded for 1,500 people in reads of at most 500 OR terms each, as SQL Server's optimizer takes", async () => {
    // Each person a term of an OR (subjectNames): 1,000 of them a statement, as its 2,100
    // parameters alone allowed, is an OR chain of the length reported to fail (8623, 191).
    const people = manyPeople(1_500);
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.startsWith('select distinct "subject_key" from "consent_event"')
        ? people.map((subject_key) => ({ subject_key }))
        : [],
    );
    const agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
    await purposeOfOptOutRecording(store, agreements, { consentId: 'c1', recordedBy: 'la-housing' });
    expectAccepted(statements);
    const reads = statements.filter((s) => s.sql.includes('from "access_log"'));
    // A term a person: their subject alone, or an entry about several naming them.
    const terms = reads.map((s) => s.sql.match(new RegExp(String.raw`\(${NAMED_BY_SUBJECT}\)`, 'g'))?.length ?? 0);
    expect(terms.reduce((sum, n) => sum + n, 0)).toBe(1_500);
    expect(terms.filter((n) => n > 500)).toEqual([]);
  });

  it("carries 300 people's consents and opt-outs to the ids a linking pass merged them into, every event once and in order, in statements within SQL Server’s 2,100 parameters", async () => {
    // Ten parameters an event: the events of a pass that merged a few hundred people go in as
    // many inserts as SQL Server's limit takes.
    const merged = manyPeople(300).map((from) => ({ from, to: uuidV7() }));
    const events = merged.map(({ from }, n) => ({
      event_id: uuidV7(),
      consent_id: `c${n}`,
      subject_key: from,
      kind: n % 2 === 0 ? 'opt-out' : 'consent',
      purpose_id: n % 2 === 0 ? null : 'a-purpose',
      action: 'record',
      party_id: 'la-housing',
      client_id: 'a-client',
      evidence_ref: null,
      at: '2026-12-03T12:00:00.000Z',
    }));
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('from consent_event with (holdlock)')
        ? events.filter((event) => q.parameters.includes(event.subject_key))
        : [],
    );
    const carried = await carryConsentEvents(
      store.db,
      'mssql',
      merged,
      new Set(merged.map(({ to }) => to)),
      '2026-12-03T12:30:00.000Z',
    );
    expect(carried).toEqual({ carried: 300, detached: 0 });
    expectAccepted(statements);
    const inserts = statements.filter((s) => /^insert into (\[consent_event\]|"consent_event")/.test(s.sql));
    expect(inserts.length).toBeGreaterThan(1);
    const rows = inserts.flatMap((s) =>
      Array.from({ length: s.parameters.length / 10 }, (_, r) => s.parameters.slice(r * 10, r * 10 + 10)),
    );
    // Each event under the id its person was merged into, all else as it was recorded.
    expect(rows.map(([, ...rest]) => rest)).toEqual(
      events.map((e, n) => [
        e.consent_id,
        merged[n]!.to,
        e.kind,
        e.purpose_id,
        e.action,
        e.party_id,
        e.client_id,
        e.evidence_ref,
        e.at,
      ]),
    );
  });

  it("carries 2,500 merged people's opt-outs, reading their events and their targets' in slices within SQL Server’s 2,100 parameters", async () => {
    const merged = manyPeople(2_500).map((from) => ({ from, to: uuidV7() }));
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.includes('from consent_event with (holdlock)')
        ? q.parameters.map((p) => optOutRecorded(String(p), `c-${String(p)}`))
        : [],
    );
    const to = new Set(merged.map((move) => move.to));
    const carried = await carryConsentEvents(store.db, 'mssql', merged, to, '2026-12-03T12:30:00.000Z');
    expect(carried).toEqual({ carried: 2_500, detached: 0 });
    expectAccepted(statements);
    // Every merged id's events read, under the range lock, and every target's, none dropped to fit.
    const sources = statements.filter((s) => s.sql.includes('from consent_event with (holdlock)'));
    const targets = statements.filter((s) => s.sql.startsWith('select "subject_key", "consent_id", "action"'));
    for (const [reads, ids] of [
      [sources, merged.map((move) => move.from)],
      [targets, [...to]],
    ] as const) {
      expect(reads.length).toBeGreaterThan(1);
      expect(reads.flatMap((s) => s.parameters).sort()).toEqual([...ids].sort());
    }
  });

  it("finds an opt-out's recording, and a person's entries, by subjects naming several people, with statements SQL Server accepts", async () => {
    const agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
    const [person, earlier, other] = [uuidV7(), uuidV7(), uuidV7()];
    const { store, statements } = sqlServerStatements((q) =>
      q.sql.startsWith('select distinct "subject_key" from "consent_event"')
        ? [{ subject_key: person }, { subject_key: other }]
        : q.sql.includes('where "person_id_move"."to_person_id" in') && q.parameters[0] === person
          ? [
              {
                from_person_id: earlier,
                to_person_id: person,
                moved_at: '2026-12-01T09:00:00.000Z',
                held_since: null,
                committed_at: '2026-12-01T09:00:05.000Z',
              },
            ]
          : [],
    );
    await purposeOfOptOutRecording(store, agreements, { consentId: 'c1', recordedBy: 'la-housing' });
    await accessesToPerson(store, auditScope(agreements, [AGREEMENT]), person!, { after: 0, limit: 10 });
    expectAccepted(statements);
    const reads = statements.filter((s) => s.sql.includes('from "access_log"'));
    expect(reads.map((s) => s.sql.split(' where ')[0])).toEqual([
      'select top(1) "purpose", "seq" from "access_log"',
      'select top(500) * from "access_log"',
    ]);
    for (const read of reads) expect(read.sql).toMatch(/ order by "seq"$/);
    // The recording under the opt-out's two ids, and the person's entries under both theirs, by
    // seeks alone: an entry about one person by its subject, one about several by the index of
    // their ids (migration 0050) where the entry's own subject names them, no LIKE (T-SQL's reads
    // [ ] and ^ as wildcards besides % and _).
    for (const read of reads) {
      expect(read.sql).not.toContain(' like ');
      expect(read.sql.match(new RegExp(NAMED_BY_SUBJECT, 'g'))).toHaveLength(2);
    }
  });

  it("indexes the people an entry about several names as it appends it, in the entry's transaction, with statements SQL Server accepts", async () => {
    const [first, second] = [uuidV7(), uuidV7()];
    const { store, statements } = sqlServerStatements();
    const log = new AccessLog(store, createLogger('error'));
    const record = housingLinkConfirmation;
    await Promise.all([log.append(record('alone', first)), log.append(record('both', `${first} ${second}`))]);
    await log.close();
    expectAccepted(statements);
    expect(statements.map((s) => s.sql.split(' (')[0]!.split(' values')[0])).toEqual([
      'select max("seq") as "max" from "access_log"',
      'insert into [access_log]',
      'insert into [access_log_subject_id]',
    ]);
    // One row a person of the entry about both (seq 2); none for the entry about one alone.
    expect(statements[2]!.parameters).toEqual([first, 2, second, 2]);
  });

  it('fills the rows of the index an entry about several people lacks, as verify does, with statements SQL Server accepts', async () => {
    const [first, second, third] = [uuidV7(), uuidV7(), uuidV7()];
    // Entries 4 and 9 about several people; of their five rows, the index holds one already.
    const { store, statements } = sqlServerStatements((q) =>
      /from access_log\s/.test(q.sql)
        ? [
            { seq: '4', subject_ref: `${first} ${second}` },
            { seq: '9', subject_ref: `${third} ${first} ${second}` },
          ]
        : q.sql.includes('from "access_log_subject_id"')
          ? [{ person_id: first, seq: '4' }]
          : [],
    );
    expect(await fillSubjectIdIndex(store.db, store.dialect, { table: 'access_log_subject_id' })).toBe(4);
    expectAccepted(statements);
    expect(statements.map((s) => s.sql.replace(/\s+/g, ' ').trim())).toEqual([
      'select top(1000) seq, subject_ref from access_log where seq > @1 and subject_ref like @2 order by seq',
      // The rows held, by seeks of the key (person id, then seq): no read of the whole index.
      'select person_id, seq from "access_log_subject_id" where person_id in (@1, @2, @3) and seq >= @4 and seq <= @5',
      'insert into [access_log_subject_id] ([person_id],[seq]) values (@1,@2),(@3,@4),(@5,@6),(@7,@8)',
    ]);
    expect(statements[2]!.parameters).toEqual([second, 4, third, 9, first, 9, second, 9]);
  });

  it('fills 1,500 rows of the index at once, and appends 300 entries about 2,500 people, in inserts SQL Server takes', async () => {
    // Entries of five people each: more rows than one `values` list holds (1,000), and than
    // the 2,100 parameters of a statement hold at two a row.
    const people = manyPeople(2_500);
    const aboutFive = (n: number) => people.slice(5 * n, 5 * n + 5).join(' ');
    const { store, statements } = sqlServerStatements((q) =>
      /from access_log\s/.test(q.sql) && q.parameters[0] === 0
        ? Array.from({ length: 300 }, (_, n) => ({ seq: String(n + 1), subject_ref: aboutFive(n) }))
        : [],
    );
    expect(await fillSubjectIdIndex(store.db, store.dialect, { table: 'access_log_subject_id' })).toBe(1_500);
    const log = new AccessLog(store, createLogger('error'));
    await Promise.all(
      Array.from({ length: 300 }, (_, n) => log.append(housingLinkConfirmation('several', aboutFive(n)))),
    );
    await log.close();
    expectAccepted(statements);
    const rowsInto = (table: string, columns: number) =>
      statements.filter((s) => s.sql.startsWith(`insert into [${table}]`)).map((s) => s.parameters.length / columns);
    expect(rowsInto('access_log', 14).reduce((a, b) => a + b, 0)).toBe(300);
    // 1,500 rows filled, then 1,500 appended with their entries: each in inserts of at most 1,000.
    expect(rowsInto('access_log_subject_id', 2)).toEqual([1_000, 500, 1_000, 500]);
  });

  it('stores and prunes planning releases fenced on the export lock epoch, and writes nothing once another run holds it', async () => {
    const fence = { name: 'curated/export.lock', epoch: 3 };
    const target = { agreementId: AGREEMENT, purposeId: 'service-planning', datasetId: DATASET, partyId: 'la-housing' };
    const release = {
      target,
      agreementVersion: '1.0.0',
      generatedAt: new Date('2026-12-03T12:00:00.000Z'),
      lines: [{ measure: 'all-people', category: 'all', people: 10, suppressed: false, specialCategory: false }],
      countsSha256: 'b'.repeat(64),
      manifest: '{}',
      minCell: 10,
    };
    let epochHeld = true;
    const { store, statements } = sqlServerStatements(
      () => [],
      (q) => (q.sql.startsWith('update "lock_epoch"') ? (epochHeld ? 1 : 0) : 1),
    );
    await storeRelease(store, release, 30, fence);
    expect(await pruneReleases(store, [target], 30, new Date('2026-12-03T12:00:00.000Z'), fence)).toBe(1);
    expectAccepted(statements);
    const fenceCheck = 'update "lock_epoch" set "epoch" = @1 where "name" = @2 and "epoch" = @3';
    const kinds = statements.map((s) => (s.sql === fenceCheck ? 'fence' : s.sql.split(' ').slice(0, 3).join(' ')));
    expect(kinds).toEqual([
      'fence',
      'delete from "curated_count"',
      'delete from "curated_release"',
      'insert into "curated_release"',
      'insert into "curated_count"',
      'fence',
      'delete from "curated_count"',
      'delete from "curated_release"',
    ]);
    statements.length = 0;
    epochHeld = false;
    await expect(storeRelease(store, release, 30, fence)).rejects.toThrow(LeaseLostError);
    await expect(pruneReleases(store, [], 30, new Date(), fence)).rejects.toThrow(LeaseLostError);
    expect(statements.map((s) => s.sql)).toEqual([fenceCheck, fenceCheck]);
  });

  it('withdraws the planning releases that count a field the grant no longer names, or were published under a lower minimum, fenced on the export lock epoch', async () => {
    const fence = { name: 'curated/export.lock', epoch: 3 };
    const target = { agreementId: AGREEMENT, purposeId: 'service-planning', datasetId: DATASET, partyId: 'la-housing' };
    let epochHeld = true;
    const { store, statements } = sqlServerStatements(
      (q) =>
        q.sql.startsWith('select "id", "generated_at"') ? [{ id: 'r1', generated_at: '2026-12-03T12:00:00.000Z' }] : [],
      (q) => (q.sql.startsWith('update "lock_epoch"') ? (epochHeld ? 1 : 0) : 1),
    );
    const withdrawn = await withdrawNoLongerPublishable(
      store,
      {
        ...target,
        publishable: [
          { measure: 'all people', categories: ['all'] },
          { measure: 'gender', categories: ['Female', 'Male', 'other values', 'not recorded'] },
        ],
        minCell: 10,
      },
      fence,
    );
    expect(withdrawn).toEqual([new Date('2026-12-03T12:00:00.000Z')]);
    expectAccepted(statements);
    expect(statements[1]!.sql).toContain('"min_cell" is null or "min_cell" < @');
    expect(statements.map((s) => s.sql.split(' ').slice(0, 3).join(' '))).toEqual([
      'update "lock_epoch" set',
      'select "id", "generated_at"',
      'delete from "curated_count"',
      'delete from "curated_release"',
    ]);
    statements.length = 0;
    epochHeld = false;
    await expect(
      withdrawNoLongerPublishable(
        store,
        { ...target, publishable: [{ measure: 'all people', categories: ['all'] }], minCell: 10 },
        fence,
      ),
    ).rejects.toThrow(LeaseLostError);
    expect(statements).toHaveLength(1);
  });

  it("creates today's tables, columns and indexes (0019-0056) as SQL Server takes them", async () => {
    const { store, statements } = sqlServerStatements();
    const migrations = migrationsFor(dialectFor('mssql'));
    const today = Object.keys(migrations).filter((name) => name >= '0019');
    expect(today).toEqual([
      '0019-opt-out-kept-keys',
      '0020-retired-identifiers',
      '0021-kept-hash-key-versions',
      '0022-person-id-since',
      '0023-unloaded-run-dates',
      '0024-decision-record-prints',
      '0025-decision-agreement',
      '0026-attribute-layouts',
      '0027-opt-out-successors',
      '0028-import-run-rejection-reason',
      '0029-link-run-agreement-index',
      '0030-link-run-commit-times',
      '0031-postcode-width',
      '0032-anchored-checkpoints',
      '0033-breach-steps',
      '0034-alert-agreement',
      '0035-access-log-request-index',
      '0036-retention-runs',
      '0037-access-log-subject-width',
      '0038-purpose-agreements',
      '0039-dataset-agreements',
      '0040-agreement-parties',
      '0041-agreement-identifier-kinds',
      '0042-agreement-dropped-parties',
      '0043-link-run-agreement-sources',
      '0044-decision-per-agreement',
      '0045-link-run-agreement-version',
      '0046-agreement-content-hash',
      '0047-curated-release-manifest',
      '0048-decision-legacy-unique',
      '0049-lock-epochs',
      '0050-access-log-subject-ids',
      '0051-access-log-subject-ids-filled',
      '0052-breach-partners-deadline',
      '0053-matching-keys-naming-no-one',
      '0054-import-run-name-index',
      '0055-import-run-entry-logged',
      '0056-curated-release-min-cell',
    ]);
    const keyed = today.filter((name) => name !== '0026-attribute-layouts');
    for (const name of keyed) await migrations[name]!.up(store.db as unknown as Kysely<unknown>);
    expectAccepted(statements);
    // Every column these index or key is bounded: SQL Server cannot key nvarchar(max). An
    // agreement's lists (agreement_party) are read whole by its key, never searched, as a layout's
    // names are (below): only the key is bounded (its exact statements follow).
    // A release's manifest is read whole by the release's key, never searched (migration 0047).
    for (const statement of statements.filter(
      (s) => !s.sql.includes('"agreement_party"') && !s.sql.includes('add "manifest"'),
    ))
      expect(statement.sql).not.toMatch(/\(max\)|\btext\b/);
    expect(statements.map((s) => s.sql)).toContain('alter table "source_record" add "person_since" varchar(32)');
    expect(statements.map((s) => s.sql)).toContain('alter table "import_run" add "rejection_reason" nvarchar(64)');
    expect(statements.map((s) => s.sql)).toContain(
      'create index "link_run_agreement" on "link_run" ("agreement_id", "started_at")',
    );
    expect(statements.map((s) => s.sql)).toContain('alter table "link_run" add "committed_at" varchar(32)');
    expect(statements.map((s) => s.sql)).toContain('alter table "person_id_move" add "run_id" nvarchar(64)');
    expect(statements.map((s) => s.sql)).toContain('alter table "breach_record" add "ico_notified_at" varchar(32)');
    expect(statements.map((s) => s.sql)).toContain(
      'alter table "breach_record" add "not_reportable_reason" nvarchar(40)',
    );
    expect(statements.map((s) => s.sql)).toContain('alter table "audit_alert" add "agreement_id" nvarchar(100)');
    expect(statements.map((s) => s.sql)).toContain('alter table "breach_record" add "partners_deadline" varchar(32)');
    expect(statements.map((s) => s.sql)).toContain('create index "access_log_request" on "access_log" ("request_id")');
    expect(statements.map((s) => s.sql)).toContain(
      'create table "retention_run" ("id" nvarchar(64) primary key, "agreement_id" nvarchar(100) not null, "dataset_id" nvarchar(100) not null, "started_at" varchar(32) not null, "committed_at" varchar(32))',
    );
    expect(statements.map((s) => s.sql)).toContain(
      'create table "purpose_agreement" ("purpose_id" nvarchar(100) primary key, "agreement_id" nvarchar(100) not null, "recorded_at" varchar(32) not null)',
    );
    expect(statements.map((s) => s.sql)).toContain(
      'create table "dataset_agreement" ("dataset_id" nvarchar(100) primary key, "agreement_id" nvarchar(100) not null, "recorded_at" varchar(32) not null)',
    );
    expect(statements.map((s) => s.sql)).toContain(
      'create table "agreement_party" ("agreement_id" nvarchar(100) primary key, "version" nvarchar(100) not null, "parties" nvarchar(max) not null, "audit" nvarchar(max), "recorded_at" varchar(32) not null)',
    );
    expect(statements.map((s) => s.sql)).toContain(
      'alter table "agreement_party" add "identifier_kinds" nvarchar(max)',
    );
    expect(statements.map((s) => s.sql)).toContain('alter table "agreement_party" add "dropped_parties" nvarchar(max)');
    expect(statements.map((s) => s.sql)).toContain('alter table "link_run" add "agreement_sources" nvarchar(64)');
    // One decision a pair key and agreement, by a unique index: a decision made before 0025 names
    // no agreement, and a primary key's columns cannot be null.
    expect(statements.map((s) => s.sql)).toContain(
      'create table "link_decision" ("pair_key" nvarchar(64) not null, "decision" nvarchar(20) not null, "party_id" nvarchar(100) not null, "client_id" nvarchar(200) not null, "request_id" nvarchar(100) not null, "score" double precision, "decided_at" varchar(32) not null, "identity_key" nvarchar(64), "print_a" nvarchar(64), "print_b" nvarchar(64), "agreement_id" nvarchar(100))',
    );
    expect(statements.map((s) => s.sql)).toContain(
      'create unique clustered index "link_decision_pair_agreement" on "link_decision" ("pair_key", "agreement_id")',
    );
    expect(statements.map((s) => s.sql)).toContain('alter table "link_run" add "agreement_version" nvarchar(100)');
    expect(statements.map((s) => s.sql)).toContain('alter table "agreement_party" add "content_hash" nvarchar(64)');
    expect(statements.map((s) => s.sql)).toContain('alter table "curated_release" add "manifest" nvarchar(max)');
    // Each release's minimum from its manifest, guarded: a manifest that is not JSON leaves it unknown.
    expect(statements.map((s) => s.sql)).toContain('alter table "curated_release" add "min_cell" integer');
    expect(statements.map((s) => s.sql)).toContain(
      "update curated_release set min_cell = case when isjson(manifest) = 1 then try_cast(json_value(manifest, '$.method.minimumCell') as int) end where manifest is not null",
    );
    expect(statements.map((s) => s.sql)).toContain(
      'create table "lock_epoch" ("name" nvarchar(200) primary key, "epoch" integer not null)',
    );
    // Append-only, as the log it indexes; filled from the entries naming several people alone.
    expect(statements.map((s) => s.sql)).toContain(
      'create table "access_log_subject_id" ("person_id" nvarchar(64) not null, "seq" bigint not null, constraint "access_log_subject_id_pk" primary key ("person_id", "seq")) with (ledger = on (append_only = on))',
    );
    expect(statements.map((s) => s.sql.replace(/\s+/g, ' ').trim())).toContain(
      'select top(1000) seq, subject_ref from access_log where seq > @1 and subject_ref like @2 order by seq',
    );
    // How far the checkpointer filled that index: the highest seq is one seek of the key.
    expect(statements.map((s) => s.sql)).toContain(
      'create table "access_log_subject_id_filled" ("through_seq" bigint primary key) with (ledger = on (append_only = on))',
    );
    // Nine wide for a BFPO number ("BFPO 5439"), in place: nullable, as the columns were.
    for (const table of ['source_record', 'opt_out_kept_record']) {
      expect(statements.map((s) => s.sql)).toContain(`alter table "${table}" alter column "postcode" nvarchar(9)`);
    }

    // A file's runs keyed by the first 400 characters of its name, 800 bytes: a name of 1,024
    // keyed whole would pass the 1,700 bytes SQL Server lets a key have, and its run be refused.
    expect(statements.map((s) => s.sql)).toContain(
      'alter table import_run add blob_name_start as substring(blob_name, 1, 400)',
    );
    expect(statements.map((s) => s.sql)).toContain(
      'create index "import_run_name" on "import_run" ("party_id", "dataset_id", "blob_name_start")',
    );

    // Ten person ids wide (entry-subjects.ts), in place: nullable, as the column was.
    expect(statements.map((s) => s.sql)).toContain('alter table "access_log" alter column "subject_ref" nvarchar(400)');

    // That index already holds a pair key to one row naming no agreement, as SQL Server counts
    // NULLs alike: 0048 makes SQLite's do the same, and sends SQL Server nothing.
    statements.length = 0;
    await migrations['0048-decision-legacy-unique']!.up(store.db as unknown as Kysely<unknown>);
    await migrations['0048-decision-legacy-unique']!.down!(store.db as unknown as Kysely<unknown>);
    expect(statements).toEqual([]);

    // A layout's names are read whole by its key, never searched: only the key is bounded.
    statements.length = 0;
    await migrations['0026-attribute-layouts']!.up(store.db as unknown as Kysely<unknown>);
    expectAccepted(statements);
    expect(statements.map((s) => s.sql)).toEqual([
      'create table "attribute_layout" ("id" nvarchar(16) primary key, "names" nvarchar(max) not null)',
    ]);
  });

  it("marks the runs whose entry is written and keys the mark beside the name's first characters (0055), and undoes it, as SQL Server takes it", async () => {
    const { store, statements } = sqlServerStatements();
    const migration = migrationsFor(store.dialect)['0055-import-run-entry-logged']!;
    await migration.up(store.db as unknown as Kysely<unknown>);
    expectAccepted(statements);
    expect(statements.map((s) => s.sql.replace(/\s+/g, ' ').trim())).toEqual([
      // Named, so that the column can be dropped again: SQL Server refuses to drop a column a
      // default constraint it named itself still holds.
      'alter table import_run add entry_logged integer not null constraint import_run_entry_logged_default default 0',
      "update import_run set entry_logged = 1 where exists ( select 1 from access_log where access_log.request_id = import_run.id and access_log.action = 'import' and access_log.time >= import_run.received_at)",
      'drop index "import_run_name" on "import_run"',
      'create index "import_run_name" on "import_run" ("party_id", "dataset_id", "blob_name_start", "entry_logged")',
    ]);
    statements.length = 0;
    await migration.down!(store.db as unknown as Kysely<unknown>);
    expectAccepted(statements);
    expect(statements.map((s) => s.sql)).toEqual([
      'drop index "import_run_name" on "import_run"',
      'create index "import_run_name" on "import_run" ("party_id", "dataset_id", "blob_name_start")',
      'alter table import_run drop constraint import_run_entry_logged_default',
      'alter table "import_run" drop column "entry_logged"',
    ]);
  });

  it('clears the matching keys an earlier load kept of a placeholder name or a forces postcode (0053) with statements SQL Server accepts', async () => {
    const page = [
      { id: 'r1', given_name: 'BABY', postcode: 'ME1 1AA' },
      { id: 'r2', given_name: 'BABETTE', postcode: 'ME2 2BB' },
      { id: 'r3', given_name: 'JOHN', postcode: 'BFPO 61' },
    ];
    const { store, statements } = sqlServerStatements((q) => (q.sql.trim().startsWith('select') ? page : []));
    await migrationsFor(store.dialect)['0053-matching-keys-naming-no-one']!.up(store.db as unknown as Kysely<unknown>);
    expectAccepted(statements);
    expect(statements.map((s) => [s.sql.replace(/\s+/g, ' ').trim(), s.parameters])).toEqual([
      [
        'select top(10000) id, given_name, postcode from source_record where id > @1 and (given_name is not null or postcode is not null) order by id',
        [''],
      ],
      ['update source_record set given_name = null, first3 = null where id in (@1)', ['r1']],
      ['update source_record set postcode = null where id in (@1)', ['r3']],
    ]);
  });
});
