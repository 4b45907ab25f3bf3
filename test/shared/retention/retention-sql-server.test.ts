import { resolve } from 'node:path';
import type { CompiledQuery, KyselyPlugin, QueryId } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { agreementSourcesOf } from '../../../shared/linkage/link-people.js';
import { purgeDroppedSource } from '../../../shared/retention/dropped-sources.js';
import { enforceRetention } from '../../../shared/retention/enforce-retention.js';
import { agreementsFolderWith, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH } from '../agreements/agreement-files.js';
import { failingDeletionFrom } from '../../support/failing-deletion.js';
import { expectAccepted, sqlServerStatements } from '../../support/sql-server-statements.js';

/**
 * A retention pass's statements as Kysely's SQL Server compiler sends them (no SQL Server can run
 * here: test/support/sql-server-statements.ts), driven through every step with one Housing
 * record that the rule does not keep: the pass's temporary tables, its pages and its deletion.
 */
const AGREEMENT = 'social-care-education-housing';
const RUN = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

function answer(query: CompiledQuery): readonly unknown[] {
  const text = query.sql.replace(/\s+/g, ' ').trim();
  if (text.includes('sp_getapplock')) return [{ status: 0 }];
  if (text.startsWith('select "id", "as_of", "uploaded_at", "finished_at" from "import_run"'))
    return [{ id: RUN, as_of: '2026-12-01', uploaded_at: null, finished_at: '2026-12-01T06:00:00.000Z' }];
  if (text.includes('sr.attributes'))
    return [{ person_id: 'p1', id: 'r1', attributes: '{"inTemporaryAccommodation":false}' }];
  if (/^select top\(500\) t\.person_id, t\.id from/.test(text)) return [{ person_id: 'p1', id: 'r1' }];
  return [];
}

/**
 * Each `delete` deletes what it names (one record here), and each `update` updates it (the pass's
 * own note, which it finds still there under the lock): the recording store reports no counts.
 */
function writesOne(): KyselyPlugin {
  const deletes = new WeakSet<QueryId>();
  return {
    transformQuery: (args) => {
      if (args.node.kind === 'DeleteQueryNode' || args.node.kind === 'UpdateQueryNode') deletes.add(args.queryId);
      return args.node;
    },
    transformResult: async (args) =>
      deletes.has(args.queryId) ? { ...args.result, numAffectedRows: 1n } : args.result,
  };
}

describe('a retention pass on Azure SQL', () => {
  it('judges and deletes in pages with statements SQL Server accepts', async () => {
    const recording = sqlServerStatements(answer);
    const store = { ...recording.store, db: recording.store.db.withPlugin(writesOne()) };
    const logger = createLogger('warn', () => undefined);
    const accessLog = new AccessLog(store, logger);

    const [summary] = await enforceRetention(
      { store, agreements: loadAgreements(resolve('agreements')), accessLog, logger },
      AGREEMENT,
    );

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 1 });
    const statements = recording.statements;
    expectAccepted(statements);
    const texts = statements.map((s) => s.sql.replace(/\s+/g, ' ').trim());
    // Global temporary tables that outlive one sp_executesql call (snapshot-temp-table.ts), keyed
    // in their `create table`: SQL Server refuses `create index` in a snapshot transaction.
    const created = texts.filter((s) => s.startsWith('create table'));
    expect(created).toHaveLength(3);
    for (const statement of created)
      expect(statement).toMatch(/^create table ##lintel_retention[a-z]+_[0-9a-f]{32} \(/);
    expect(texts.some((s) => s.startsWith('create index'))).toBe(false);
    // Pages bounded as SQL Server bounds a read, in the key's order.
    expect(texts.filter((s) => /^select top\(1000\) .* order by t\.person_id, t\.id$/.test(s))).toHaveLength(1);
    expect(texts.filter((s) => /^select top\(500\) .* order by t\.person_id, t\.id$/.test(s))).toHaveLength(1);
    expect(texts.filter((s) => s.startsWith('drop table ##lintel_retention'))).toHaveLength(3);
  });
});

describe('a retention pass on Azure SQL that deletes an opted-out person', () => {
  it("keeps their keys as a load does, in the deletion's transaction, with statements SQL Server accepts", async () => {
    const recording = sqlServerStatements((query) => {
      const text = query.sql.replace(/\s+/g, ' ').trim();
      // The one person the rule does not keep has an opt-out in force.
      if (text.startsWith('select count(*) as people from (select distinct "r"."subject_key" from "consent_event"'))
        return [{ people: 1 }];
      return answer(query);
    });
    const store = { ...recording.store, db: recording.store.db.withPlugin(writesOne()) };
    const logger = createLogger('warn', () => undefined);

    const [summary] = await enforceRetention(
      { store, agreements: loadAgreements(resolve('agreements')), accessLog: new AccessLog(store, logger), logger },
      AGREEMENT,
    );

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, peopleHeld: 0, optedOutKeysKept: 1 });
    const statements = recording.statements;
    expectAccepted(statements);
    const texts = statements.map((s) => s.sql.replace(/\s+/g, ' ').trim());
    const at = (test: (sql: string) => boolean) => texts.findIndex(test);
    // The notes, as global temporary tables keyed in their `create table` (no `create index` in
    // a snapshot transaction), then the kept keys, all before the records go, then the notes dropped.
    const created = texts.filter((s) => s.startsWith('create table ##lintel_retentionoptout'));
    expect(created).toHaveLength(2);
    for (const statement of created)
      expect(statement).toMatch(/^create table ##lintel_retentionoptout[a-z]+_[0-9a-f]{32} \(/);
    expect(texts.some((s) => s.startsWith('create index'))).toBe(false);
    const keptRecord = at((s) => s.startsWith('insert into opt_out_kept_record'));
    const keptIdentifier = at((s) => s.startsWith('insert into opt_out_kept_identifier'));
    const recordsGo = at((s) => s.startsWith('delete from "source_record"'));
    expect([keptRecord >= 0, keptIdentifier >= 0, keptIdentifier < recordsGo]).toEqual([true, true, true]);
    expect(texts.filter((s) => s.startsWith('drop table ##lintel_retentionoptout'))).toHaveLength(2);
  });
});

describe('a retention pass on Azure SQL whose deletion fails', () => {
  it('tells its entries as not committed under the linking lock, with statements SQL Server accepts', async () => {
    const recording = sqlServerStatements((query) => {
      const text = query.sql.replace(/\s+/g, ' ').trim();
      // Its note, read after the deletion failed: not marked committed.
      if (text.startsWith('select "committed_at" from "retention_run"')) return [{ committed_at: null }];
      // Its own entry, read back under the lock.
      if (/^select top\(500\) "seq", "subject_ref", "reason_code" from "access_log"/.test(text))
        return [{ seq: 1, subject_ref: 'p1', reason_code: 'retention-keep-while' }];
      return answer(query);
    });
    const failRecordDelete = failingDeletionFrom('source_record');
    const store = { ...recording.store, db: recording.store.db.withPlugin(writesOne()).withPlugin(failRecordDelete) };
    const logger = createLogger('warn', () => undefined);

    await expect(
      enforceRetention(
        { store, agreements: loadAgreements(resolve('agreements')), accessLog: new AccessLog(store, logger), logger },
        AGREEMENT,
      ),
    ).rejects.toThrow('Retention enforcement failed');

    const statements = recording.statements;
    expectAccepted(statements);
    const texts = statements.map((s) => s.sql.replace(/\s+/g, ' ').trim());
    const read = texts.findIndex((s) => s.startsWith('select "committed_at" from "retention_run"'));
    const told = texts.slice(read);
    // The lock, then the note's drop, which decides that this pass tells, then its entries read back.
    const lock = told.findIndex((s) => s.includes('sp_getapplock'));
    const drop = told.findIndex((s) => /^delete from "retention_run" where .*"committed_at" is null/.test(s));
    const entries = told.findIndex((s) => s.includes('from "access_log"'));
    expect([read >= 0, lock >= 0 && lock < drop, drop < entries]).toEqual([true, true, true]);
    expect(texts.filter((s) => s.startsWith('insert into [access_log] '))).toHaveLength(2);
  });
});

describe('a retention pass on Azure SQL that deletes more people than a statement can name', () => {
  it('keeps 1,000 people and deletes 1,200 in pages whose every statement SQL Server accepts, each record named once', async () => {
    // One Housing record each: the first 1,000 in temporary accommodation, the other 1,200 not.
    const people = Array.from({ length: 2_200 }, (_, n) => `p${String(n).padStart(4, '0')}`);
    const recordOf = (person: string) => `r${person.slice(1)}`;
    const kept = people.slice(0, 1_000);
    const going = people.slice(1_000);
    // A page's rows after its cursor (person, person, record: the last three parameters), if any.
    const page = (query: CompiledQuery, of: readonly string[], size: number) => {
      const cursor = query.parameters.length >= 3 ? String(query.parameters.at(-3)) : undefined;
      return of.filter((person) => cursor === undefined || person > cursor).slice(0, size);
    };
    const recording = sqlServerStatements(
      (query) => {
        const text = query.sql.replace(/\s+/g, ' ').trim();
        if (text.includes('sr.attributes'))
          return page(query, people, 1_000).map((person) => ({
            person_id: person,
            id: recordOf(person),
            attributes: JSON.stringify({ inTemporaryAccommodation: kept.includes(person) }),
          }));
        if (/^select top\(500\) t\.person_id, t\.id from/.test(text))
          return page(query, going, 500).map((person) => ({ person_id: person, id: recordOf(person) }));
        return answer(query);
      },
      // Each deletion of records deletes every record it names, and the update of the pass's note
      // finds it (writesOne); no insert reports a count, so the following of pending links ends.
      (query) =>
        query.sql.startsWith('delete from "source_record"')
          ? query.parameters.length
          : /^(delete|update) /.test(query.sql)
            ? 1
            : undefined,
    );
    const store = recording.store;
    const logger = createLogger('warn', () => undefined);

    const [summary] = await enforceRetention(
      { store, agreements: loadAgreements(resolve('agreements')), accessLog: new AccessLog(store, logger), logger },
      AGREEMENT,
    );

    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1_200, recordsDeleted: 1_200 });
    const statements = recording.statements;
    expectAccepted(statements);
    const named = (test: RegExp) =>
      statements.filter((s) => test.test(s.sql.replace(/\s+/g, ' ').trim())).flatMap((s) => s.parameters);
    // Every person kept noted, every record going retired, and deleted with its identifiers, once.
    expect(named(/^insert into \[?##lintel_retentionkept_\w+\]? \(.*\) values /)).toEqual(kept);
    const goingRecords = going.map(recordOf);
    expect(named(/^select .* from "record_identifier" as "ri"/)).toEqual(goingRecords);
    expect(named(/^delete from "record_identifier"/)).toEqual(goingRecords);
    expect(named(/^delete from "source_record"/)).toEqual(goingRecords);
  });
});

describe('a purge on Azure SQL of a source a re-signing dropped', () => {
  it("notes and deletes that party's records alone, and their links, with statements SQL Server accepts", async () => {
    const agreements = loadAgreements(agreementsFolderWith([KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH]));
    const keyways = agreements.agreement('keyways-housing-allocation')!.agreement;
    const recording = sqlServerStatements((query) => {
      const text = query.sql.replace(/\s+/g, ' ').trim();
      // The agreement's last pass linked under the re-signed files.
      if (text.startsWith('select top(1) "agreement_sources"'))
        return [{ agreement_sources: agreementSourcesOf(keyways) }];
      // The party sent the dataset: its records are there to purge.
      if (text.startsWith('select top(1) "party_id" from "source_record"'))
        return [{ party_id: 'wellingborough-borough-council' }];
      return answer(query);
    });
    const store = { ...recording.store, db: recording.store.db.withPlugin(writesOne()) };
    const logger = createLogger('warn', () => undefined);

    const summary = await purgeDroppedSource(
      { store, agreements, accessLog: new AccessLog(store, logger), logger },
      'keyways-housing-register',
      'wellingborough-borough-council',
    );

    expect(summary).toMatchObject({ peopleDeleted: 1, recordsDeleted: 1 });
    const statements = recording.statements;
    expectAccepted(statements);
    const texts = statements.map((s) => s.sql.replace(/\s+/g, ' ').trim());
    // Each statement that chooses what goes names the party, as well as the dataset.
    const choosing = statements.filter((s) =>
      /^(insert into ##lintel_retentionrecords|delete from record_link|update source_record set carried_person_id = person_id where carried_person_id is null)/.test(
        s.sql.replace(/\s+/g, ' ').trim(),
      ),
    );
    expect(choosing).toHaveLength(3);
    for (const statement of choosing) expect(statement.parameters).toContain('wellingborough-borough-council');
    expect(texts.filter((s) => s.startsWith('drop table ##lintel_retention'))).toHaveLength(3);
  });
});
