import { afterEach, describe, expect, it } from 'vitest';
import { normaliseName } from '../../shared/domain/normalise.js';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { agreementsFolderWithKeywaysRegisterMoved, KEYWAYS_SUCCESSOR } from '../shared/agreements/agreement-files.js';
import { insertRecord } from '../support/records.js';
import { asKetteringReviewer, listedCandidates, whitfieldOnRegister } from '../support/register-applicants.js';
import { restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A decision made before decisions kept their agreement (migration 0025) names none, and every
 * agreement's passes read it as their own. One agreement's later decision on the pair is that
 * agreement's alone: it is kept beside the old one and holds over it for that agreement only,
 * while every other agreement still follows the old one, and its DPOs still read it. Found by a
 * review: the new agreement's rejection deleted the old confirmation (review-queue.ts
 * recordDecision replaced a row that names no agreement, and ended confirmations of the pair's
 * identity under it), so the Keyways DSA, whose passes had joined the pair on it, asked its
 * reviewers again, and the record of the officer's word was gone.
 *
 * Kettering's and Corby's records of one applicant, a day apart in the date of birth (tier 3
 * proposes them); the register is read by the Keyways DSA and, after a re-signing moves it, by
 * North Northamptonshire's agreement: a second host on the same store starts on the changed files.
 */
describe('a link decision made before decisions kept their agreement', () => {
  let t: TestHost;
  const KEYWAYS = 'keyways-housing-allocation';
  const SUCCESSOR = KEYWAYS_SUCCESSOR;
  const REGISTER = 'keyways-housing-register';
  const LEGACY_AT = '2024-06-01T09:00:00.000Z';

  /** The source record's place as whitfieldOnRegister's applicant is inserted (insertRecord stores no address). */
  const HOME = { postcode: 'NN16 8AB', address: null };

  const asKeywaysReviewer = asKetteringReviewer(() => t, 'housing-allocation');
  const asSuccessorReviewer = asKetteringReviewer(() => t, 'nn-housing-allocation');

  /** Whether Kettering's and Corby's records of the applicant are one person. */
  const onePerson = async () => {
    const rows = await t.host.services.store.db
      .selectFrom('source_record')
      .select(['party_id', 'person_id'])
      .where('dataset_id', '=', REGISTER)
      .where('family_name', '=', normaliseName('Whitfield'))
      .execute();
    expect(rows).toHaveLength(2);
    return rows[0]!.person_id !== null && rows[0]!.person_id === rows[1]!.person_id;
  };
  const decisions = async () =>
    (
      await t.host.services.store.db
        .selectFrom('link_decision')
        .select(['decision', 'agreement_id', 'decided_at'])
        .execute()
    )
      .map((d) => `${d.decision} ${d.agreement_id ?? 'before-0025'} ${d.decided_at === LEGACY_AT ? 'then' : 'now'}`)
      .sort();
  const fullPass = (agreementId: string) => {
    const { store, secrets, agreements, logger } = t.host.services;
    return linkPeople(
      { store, secrets, agreements, logger, probabilistic: { reviewThreshold: 0, randomPairs: 1_000 } },
      agreementId,
      'full',
    );
  };
  const moveRegisterTo = async (agreementId: string) => {
    t = await restartTestHost(
      t,
      agreementId === SUCCESSOR
        ? { LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWithKeywaysRegisterMoved() }
        : { LINTEL_DEMO_SEED: 'off' },
    );
    expect(t.host.services.agreements.dataset(REGISTER)?.agreementId).toBe(agreementId);
    await fullPass(agreementId);
  };

  /** The open candidate of `agreementId`'s last pass: its id and keys. */
  const openCandidate = () =>
    t.host.services.store.db
      .selectFrom('record_link')
      .select(['id', 'pair_key', 'identity_key', 'score'])
      .where('status', '=', 'candidate')
      .executeTakeFirstOrThrow();
  /** An officer's confirmation from before 0025 under `keys`, as that release kept it: no agreement named. */
  const insertLegacyConfirmation = async (keys: readonly string[], identityKey: string, score: number | null) => {
    await t.host.services.store.db
      .insertInto('link_decision')
      .values(
        keys.map((pairKey) => ({
          pair_key: pairKey,
          decision: 'confirmed' as const,
          party_id: 'kettering-borough-council',
          client_id: 'a-client-before-0025',
          request_id: 'a-request-before-0025',
          score,
          decided_at: LEGACY_AT,
          identity_key: identityKey,
          print_a: null,
          print_b: null,
          agreement_id: null,
        })),
      )
      .execute();
  };
  const rejectAsSuccessor = async () => {
    const [candidateId] = await listedCandidates(asSuccessorReviewer);
    expect(candidateId, "the pair is open for the new agreement's reviewers").toBeDefined();
    const res = await asSuccessorReviewer(`/v1/link-candidates/${candidateId}/reject`, { method: 'POST' });
    expect(res.status, res.text).toBe(200);
    expect(await onePerson(), 'kept apart under the new agreement').toBe(false);
    expect(await listedCandidates(asSuccessorReviewer), 'nothing to ask the new agreement again').toEqual([]);
  };

  afterEach(async () => {
    await t?.stop();
  });

  it("of the same values is not undone for the DSA by another agreement's rejection, which holds for that agreement alone", async () => {
    // The register in North Northamptonshire's agreement, whose pass proposes the pair; the
    // confirmation from before 0025 (under the pair's key and its identity key, each record alone
    // in its source) is what the store holds beside the candidate when its reviewer rejects it.
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWithKeywaysRegisterMoved() });
    await insertRecord(t.host.services, whitfieldOnRegister('kettering-borough-council', '1985-03-14'));
    await insertRecord(t.host.services, whitfieldOnRegister('corby-borough-council', '1985-03-15'));
    await fullPass(SUCCESSOR);
    const candidate = await openCandidate();
    await insertLegacyConfirmation(
      [candidate.pair_key!, candidate.identity_key!],
      candidate.identity_key!,
      candidate.score,
    );
    await rejectAsSuccessor();

    // The register goes back to the DSA: its pass follows the old confirmation, as before.
    await moveRegisterTo(KEYWAYS);
    expect(await onePerson(), 'one person under the DSA, on the old confirmation').toBe(true);
    expect(await listedCandidates(asKeywaysReviewer), 'nothing to ask the DSA').toEqual([]);
    expect(await decisions(), "the old confirmation kept, for the DSA's DPOs, beside the new rejection").toEqual([
      'confirmed before-0025 then',
      'confirmed before-0025 then',
      `rejected ${SUCCESSOR} now`,
    ]);

    // And back again: the new agreement's rejection holds over the old confirmation for it.
    await moveRegisterTo(SUCCESSOR);
    expect(await onePerson(), 'kept apart under the new agreement again').toBe(false);
    expect(await listedCandidates(asSuccessorReviewer), 'nothing to ask the new agreement again').toEqual([]);
  });

  it("made at an old address is not ended for the DSA by another agreement's rejection at the new one, but is for that agreement", async () => {
    // Confirmed at the applicant's old address, under the pair's key alone (as one made while a
    // namesake was in a source), before any pass kept its records' fingerprints.
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await insertRecord(t.host.services, whitfieldOnRegister('kettering-borough-council', '1985-03-14'));
    const corby = await insertRecord(t.host.services, whitfieldOnRegister('corby-borough-council', '1985-03-15'));
    await fullPass(KEYWAYS);
    const atHome = await openCandidate();
    await insertLegacyConfirmation([atHome.pair_key!], atHome.identity_key!, atHome.score);
    const corbyAt = (place: { postcode: string; address: string | null }) =>
      t.host.services.store.db.updateTable('source_record').set(place).where('id', '=', corby.recordId).execute();
    // Corby's next extract: she has moved house. The register is now the new agreement's, whose
    // reviewer is asked about the pair at the new address, and rejects it.
    await corbyAt({ postcode: 'NN17 1AG', address: '3 Rockingham Road, Corby' });
    await moveRegisterTo(SUCCESSOR);
    await rejectAsSuccessor();

    // She moves back, and the register goes back to the DSA: the old confirmation holds for it.
    await corbyAt(HOME);
    await moveRegisterTo(KEYWAYS);
    expect(await onePerson(), 'one person under the DSA, on the old confirmation').toBe(true);
    expect(await listedCandidates(asKeywaysReviewer), 'nothing to ask the DSA').toEqual([]);
    expect(await decisions(), "the old confirmation kept, for the DSA's DPOs, beside the new rejection").toContain(
      'confirmed before-0025 then',
    );

    // For the new agreement the rejection ended the old confirmation: the pair is asked again.
    await moveRegisterTo(SUCCESSOR);
    expect(await onePerson(), 'not joined on the old confirmation under the new agreement').toBe(false);
    expect(
      await listedCandidates(asSuccessorReviewer),
      "the pair is put to the new agreement's reviewers",
    ).toHaveLength(1);
  });
});
