import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { aishaOnKeyways, insertRecord } from '../../support/records.js';
import { startTestHost, type TestHost } from '../../support/test-host.js';

/**
 * A linking pass's times are read against each other: a subject access request bounds an id by
 * the stamp on the moves and the pass's commit (person-id-history.ts), a settled answer by the
 * commit, else the finish (current-person-id.ts). So they are all of the pass's one clock
 * (`LinkDependencies.now`): the run's start, finish and commit, the moves' stamp, when the moved
 * records came to their id, and the consents carried.
 */
let t: TestHost;
const A = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
const B = '00000000-0000-4000-8000-000000000000';
const PASS_TIME = '2026-06-01T09:00:00.000Z';

beforeAll(async () => {
  t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
});
afterAll(async () => {
  await t?.stop();
});

it("stamps the moves, the records' new ids and the run's times with the pass's clock", async () => {
  const s = t.host.services;
  // Kettering's record of Aisha under A, merged into Corby's and Wellingborough's under B.
  const { recordId } = await insertRecord(s, { ...aishaOnKeyways(), personId: A });
  for (const partyId of ['corby-borough-council', 'wellingborough-borough-council']) {
    await insertRecord(s, { ...aishaOnKeyways(), partyId, personId: B, identifiers: {} });
  }
  const { store, secrets, agreements, logger } = s;
  const { runId } = await linkPeople(
    { store, secrets, agreements, logger, now: () => new Date(PASS_TIME) },
    'keyways-housing-allocation',
    'full',
  );

  const run = await store.db
    .selectFrom('link_run')
    .select(['started_at', 'finished_at', 'committed_at'])
    .where('id', '=', runId)
    .executeTakeFirstOrThrow();
  const moves = await store.db
    .selectFrom('person_id_move')
    .select(['from_person_id', 'to_person_id', 'moved_at'])
    .where('run_id', '=', runId)
    .execute();
  const record = await store.db
    .selectFrom('source_record')
    .select(['person_id', 'person_since'])
    .where('id', '=', recordId)
    .executeTakeFirstOrThrow();
  expect({ run, moves, record }).toEqual({
    run: { started_at: PASS_TIME, finished_at: PASS_TIME, committed_at: PASS_TIME },
    moves: [{ from_person_id: A, to_person_id: B, moved_at: PASS_TIME }],
    record: { person_id: B, person_since: PASS_TIME },
  });
}, 60_000);
