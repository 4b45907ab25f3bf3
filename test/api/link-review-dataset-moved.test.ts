import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseName } from '../../shared/domain/normalise.js';
import { linkPeople, type LinkRunSummary } from '../../shared/linkage/link-people.js';
import { agreementsFolderWithKeywaysRegisterMoved, KEYWAYS_SUCCESSOR } from '../shared/agreements/agreement-files.js';
import { linkForReview } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { asKetteringReviewer, listedCandidates, whitfieldOnRegister } from '../support/register-applicants.js';
import { restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A reviewer's decision is made under one agreement, by a role that agreement grants `review`,
 * about a pair of that agreement's records; its DPOs answer for it. Here the Keyways DSA's senior
 * officer at Kettering confirms that two applicants in two councils' registers are one person.
 * The DSA is then re-signed with its register replaced, and the register taken into another
 * agreement (North Northamptonshire's, its own purposes, reviewers and DPOs), whose pass links the
 * same records. The decision was the DSA's: it must not join the pair under the new agreement,
 * whose reviewers never made it — the pair is theirs to decide, and is put to them (proposed by
 * the tier or not), the split noted as any split is (`person_id_move`), and the DSA's decision
 * kept under the DSA. Found by reading: LinkDecisions.read took every decision in the store, so
 * the new agreement's pass joined the pair as "confirmed earlier", and no reviewer of the new
 * agreement was ever asked.
 *
 * Each agreement's decision on a pair is its own: a decision of the new agreement's reviewers on a
 * pair of the very same values is kept beside the DSA's, which stays the DSA's, for its DPOs, and
 * steers the DSA's passes again should the register move back. Found by a review: the store kept
 * one decision a pair key, and the new agreement's took the DSA's row's place.
 *
 * The re-signing is real: a second host on the same store starts on the changed files.
 */
describe('a link decision whose datasets move to another agreement', () => {
  let t: TestHost;
  const KEYWAYS = 'keyways-housing-allocation';
  const SUCCESSOR = KEYWAYS_SUCCESSOR;
  const REGISTER = 'keyways-housing-register';

  const asKeywaysReviewer = asKetteringReviewer(() => t, 'housing-allocation');
  const asSuccessorReviewer = asKetteringReviewer(() => t, 'nn-housing-allocation');

  /** The person ids of Kettering's and Corby's records of the applicant. */
  const registerPeople = async () => {
    const rows = await t.host.services.store.db
      .selectFrom('source_record')
      .select(['party_id', 'person_id'])
      .where('dataset_id', '=', REGISTER)
      .where('family_name', '=', normaliseName('Whitfield'))
      .orderBy('party_id')
      .execute();
    expect(rows.map((r) => r.party_id)).toEqual(['corby-borough-council', 'kettering-borough-council']);
    expect(rows.every((r) => r.person_id !== null)).toBe(true);
    return rows.map((r) => r.person_id!);
  };
  const decisions = () =>
    t.host.services.store.db
      .selectFrom('link_decision')
      .select(['decision', 'agreement_id'])
      .orderBy('decided_at')
      .execute();
  const linkOf = (agreementId: string) =>
    t.host.services.store.db
      .selectFrom('record_link')
      .select(['id', 'status'])
      .where('agreement_id', '=', agreementId)
      .where('tier', '=', 3)
      .execute();

  /**
   * Kettering's and Corby's records of one applicant, a day apart in the date of birth (tier 3
   * proposes them), confirmed one person by Kettering's senior officer under the Keyways DSA; then
   * the re-signing, and a full pass of the successor agreement with `probabilistic` scoring.
   */
  async function confirmedThenMoved(
    probabilistic: { reviewThreshold: number },
    corbyMovedTo?: { address: string; postcode: string },
  ) {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    await insertRecord(s, whitfieldOnRegister('kettering-borough-council', '1985-03-14'));
    const corby = await insertRecord(s, whitfieldOnRegister('corby-borough-council', '1985-03-15'));
    await linkForReview(t, KEYWAYS);
    const [candidate] = (await linkOf(KEYWAYS)).filter((l) => l.status === 'candidate');
    expect(candidate, 'the DSA proposes the pair').toBeDefined();
    const res = await asKeywaysReviewer(`/v1/link-candidates/${candidate!.id}/confirm`, { method: 'POST' });
    expect(res.status, res.text).toBe(200);
    const [k, c] = await registerPeople();
    expect(k, 'one person under the DSA').toBe(c);
    // Corby's record as its next extract would have it, where the applicant moved house.
    if (corbyMovedTo !== undefined)
      await s.store.db.updateTable('source_record').set(corbyMovedTo).where('id', '=', corby.recordId).execute();

    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWithKeywaysRegisterMoved(),
    });
    expect(t.host.services.agreements.dataset(REGISTER)?.agreementId).toBe(SUCCESSOR);
    const { store, secrets, agreements, logger } = t.host.services;
    return linkPeople(
      { store, secrets, agreements, logger, probabilistic: { ...probabilistic, randomPairs: 1_000 } },
      SUCCESSOR,
      'full',
    );
  }

  /** What the successor's reviewer and the store say once the successor's pass has run. */
  async function putToTheSuccessorsReviewers() {
    const open = (await linkOf(SUCCESSOR)).filter((l) => l.status === 'candidate');
    expect(
      open.map((l) => l.status),
      "the pair is open for the successor's reviewers",
    ).toEqual(['candidate']);
    expect(await listedCandidates(asSuccessorReviewer)).toEqual([open[0]!.id]);
    const [k, c] = await registerPeople();
    expect(k, 'two people until they decide').not.toBe(c);
    // The split is noted, as any split is: a subject access request follows the id it left.
    const moves = await t.host.services.store.db
      .selectFrom('person_id_move')
      .select(['from_person_id', 'to_person_id'])
      .execute();
    expect(moves.some((m) => [k, c].includes(m.to_person_id) && [k, c].includes(m.from_person_id))).toBe(true);
    // The DSA's decision is kept (under the pair's key and its identity key), the DSA's.
    expect(new Set((await decisions()).map((d) => `${d.decision} ${d.agreement_id}`))).toEqual(
      new Set([`confirmed ${KEYWAYS}`]),
    );
    return open[0]!.id;
  }

  describe('the pair proposed again by the tier', () => {
    let summary: LinkRunSummary;
    beforeAll(async () => {
      summary = await confirmedThenMoved({ reviewThreshold: 0 });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it("is put to the new agreement's reviewers, not joined on the old agreement's word", async () => {
      await putToTheSuccessorsReviewers();
      expect(summary).toMatchObject({ candidatesConfirmedEarlier: 0, candidatesConfirmedElsewhere: 1 });
    });

    it("is joined once the new agreement's reviewer confirms it, the decision filed under the new agreement", async () => {
      const [candidateId] = await listedCandidates(asSuccessorReviewer);
      const res = await asSuccessorReviewer(`/v1/link-candidates/${candidateId}/confirm`, { method: 'POST' });
      expect(res.status, res.text).toBe(200);
      const [k, c] = await registerPeople();
      expect(k).toBe(c);
      expect((await decisions()).map((d) => d.agreement_id)).toContain(SUCCESSOR);
    });
  });

  describe('the pair of the very same values rejected under the new agreement', () => {
    beforeAll(async () => {
      await confirmedThenMoved({ reviewThreshold: 0 });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it("keeps the DSA's confirmation beside the new agreement's rejection, and the DSA's pass follows it when the register moves back", async () => {
      const candidateId = await putToTheSuccessorsReviewers();
      const res = await asSuccessorReviewer(`/v1/link-candidates/${candidateId}/reject`, { method: 'POST' });
      expect(res.status, res.text).toBe(200);
      const [k, c] = await registerPeople();
      expect(k, 'kept apart under the new agreement').not.toBe(c);
      expect(
        (await decisions()).map((d) => `${d.decision} ${d.agreement_id}`).sort(),
        "the DSA's confirmation, under the pair's key and its identity key, and the new agreement's rejection",
      ).toEqual([`confirmed ${KEYWAYS}`, `confirmed ${KEYWAYS}`, `rejected ${SUCCESSOR}`]);

      // The register goes back to the DSA at its next re-signing: the DSA's pass links it on the
      // DSA's own word, not the other agreement's.
      t = await restartTestHost(t, { LINTEL_DEMO_SEED: 'off' });
      expect(t.host.services.agreements.dataset(REGISTER)?.agreementId).toBe(KEYWAYS);
      const { store, secrets, agreements, logger } = t.host.services;
      await linkPeople(
        { store, secrets, agreements, logger, probabilistic: { reviewThreshold: 0, randomPairs: 1_000 } },
        KEYWAYS,
        'full',
      );
      const [k2, c2] = await registerPeople();
      expect(k2, "one person again under the DSA, as the DSA's reviewer confirmed").toBe(c2);
      expect(await listedCandidates(asKeywaysReviewer), 'nothing to ask the DSA again').toEqual([]);
    });
  });

  describe('the pair no longer proposed by the tier (a record moved house)', () => {
    let summary: LinkRunSummary;
    beforeAll(async () => {
      summary = await confirmedThenMoved(
        { reviewThreshold: 0.999999 },
        { address: '3 Rockingham Road, Corby', postcode: 'NN17 1AG' },
      );
    });
    afterAll(async () => {
      await t?.stop();
    });

    it("is put to the new agreement's reviewers all the same, not joined nor split without a word", async () => {
      await putToTheSuccessorsReviewers();
      expect(summary).toMatchObject({ confirmedNotProposed: 0, candidatesConfirmedElsewhere: 1 });
    });

    it("is kept apart once the new agreement's reviewer rejects it, the DSA's decision kept for its DPOs", async () => {
      const [candidateId] = await listedCandidates(asSuccessorReviewer);
      const res = await asSuccessorReviewer(`/v1/link-candidates/${candidateId}/reject`, { method: 'POST' });
      expect(res.status, res.text).toBe(200);
      const [k, c] = await registerPeople();
      expect(k).not.toBe(c);
      expect(await listedCandidates(asSuccessorReviewer)).toEqual([]);
      expect((await decisions()).map((d) => `${d.decision} ${d.agreement_id}`).sort()).toEqual([
        `confirmed ${KEYWAYS}`,
        `confirmed ${KEYWAYS}`,
        `rejected ${SUCCESSOR}`,
      ]);
    });
  });
});
