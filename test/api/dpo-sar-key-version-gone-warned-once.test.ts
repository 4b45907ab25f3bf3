import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pseudonymiser } from '../../shared/domain/pseudonymise.js';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { nhs } from '../support/linked-people.js';
import { loggedWhile } from '../support/logged-lines.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

const DATASET = 'multiple-disadvantage-indicators';
const DPO = { party: 'la-housing', roles: ['dpo'] };
const RECORDER = { party: 'la-education', roles: ['dpo'], purpose: 'service-planning' };

/**
 * As dpo-sar-key-version-gone.test.ts, for the app log: two opt-outs for people the partnership
 * does not hold keep their NHS numbers' hashes, one under each of two key versions rotated away
 * since, and those versions are then deleted from Key Vault one after the other
 * (crypto-shredding). Found by a defect hunt: `api.kept-key-versions-gone` warned on every subject
 * access request by identifiers while a version was gone, though deleting one is usually
 * deliberate, so the operator's log filled with the same line.
 */
describe("the app log's warning of kept-only key versions gone from Key Vault", () => {
  const BOB_NHS = nhs(6202);
  let t: TestHost;
  let secrets: LocalSecretSource;
  const keptOnly: string[] = [];
  /** The versions Key Vault no longer has: the local source's answer for a version it never held. */
  const shredded = new Set<string>();

  beforeAll(async () => {
    // The app log at the level an operator reads the warning at; start-up's own warnings (the
    // agreements' gaps) kept out of the test's output.
    t = (await loggedWhile(() => startTestHost({ LINTEL_DEMO_SEED: 'off', LOG_LEVEL: 'warn' }))).result;
    const { services } = t.host;
    secrets = services.secrets as LocalSecretSource;
    const read = secrets.get.bind(secrets);
    vi.spyOn(secrets, 'get').mockImplementation((name, version) =>
      read(name, version !== undefined && shredded.has(version) ? 'gone' : version),
    );
    await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      givenName: 'Bob',
      familyName: 'Hale',
      dateOfBirth: '2012-05-06',
      identifiers: { nhs: BOB_NHS },
      attributes: {},
    });
    // Each opt-out keeps its hashes under the key current when it is recorded; Bob's identifiers
    // follow each rotation (hashed again under the new version), so the store's records name it
    // and the API loads it before the next opt-out.
    for (const notHeld of [nhs(6211), nhs(6212)]) {
      const recorded = await callApi(t, '/v1/consents', {
        ...RECORDER,
        body: { kind: 'opt-out', subject: { nhsNumber: notHeld }, evidenceRef: 'DPO/NDOO/31' },
      });
      expect(recorded.status, recorded.text).toBe(201);
      const before = (await secrets.get('pseudonymisation-key')).version;
      keptOnly.push(before);
      secrets.rotate('pseudonymisation-key');
      const current = await secrets.get('pseudonymisation-key');
      const pseudonymiser = new Pseudonymiser({
        keyVersion: current.version,
        key: Buffer.from(current.value, 'base64'),
      });
      await services.store.db
        .updateTable('record_identifier')
        .set({ hash: pseudonymiser.hash('nhs', BOB_NHS), key_version: current.version })
        .where('key_version', '=', before)
        .execute();
    }
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.stop();
  });

  const sar = () => callApi(t, '/v1/audit/people/accesses', { ...DPO, body: { nhsNumber: BOB_NHS } });
  /** Two subject access requests, what each answer could not compare, and the warnings logged meanwhile. */
  const twoRequests = async () => {
    const { result, lines } = await loggedWhile(async () => [await sar(), await sar()]);
    for (const answer of result) expect(answer.status, answer.text).toBe(200);
    return {
      notCompared: result.map((answer) =>
        (answer.body.notCompared as { keyVersions: { keyVersion: string }[] }).keyVersions.map((v) => v.keyVersion),
      ),
      warned: lines.filter((line) => line.event === 'api.kept-key-versions-gone').map((line) => line.keyVersions),
    };
  };

  it('warns once while the same version is gone, and again when another goes, each answer saying what it did not compare', async () => {
    const [first, second] = keptOnly as [string, string];
    shredded.add(first);
    const oneGone = await twoRequests();
    expect(oneGone.notCompared).toEqual([[first], [first]]);
    expect(oneGone.warned, 'the same gone version was warned of on every request').toEqual([[first]]);

    shredded.add(second);
    const twoGone = await twoRequests();
    const both = [first, second].sort();
    expect(twoGone.notCompared).toEqual([both, both]);
    expect(twoGone.warned, 'a version newly gone was not warned of').toEqual([both]);
  });
});
