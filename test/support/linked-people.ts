import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { accessesToPerson, auditScope } from '../../shared/audit/dpo-views.js';
import { personIdsOf } from '../../shared/audit/entry-subjects.js';
import { validateNhsNumber } from '../../shared/domain/identifiers.js';
import { linkPeople, type LinkDependencies, type LinkRunSummary } from '../../shared/linkage/link-people.js';
import { findCandidate, listCandidates } from '../../shared/linkage/review-queue.js';
import type { RecordLinkTable } from '../../shared/store/schema.js';
import type { ProbabilisticOptions } from '../../shared/matching/probabilistic.js';
import type { ImportHarness } from '../shared/imports/import-harness.js';
import type { TestRecord } from './records.js';
import { callApi, type ApiAnswer, type ApiCall, type TestHost } from './test-host.js';

/** A valid NHS number in the 999 test range, from a six-digit serial. */
export function nhs(serial: number): string {
  for (let s = serial; ; s++) {
    const stem = `999${String(s).padStart(6, '0')}`;
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(stem[i]) * (10 - i);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    const candidate = `${stem}${check === 11 ? 0 : check}`;
    if (validateNhsNumber(candidate).ok) return candidate;
  }
}

/** The person ids of the party's record of someone (by normalised given name). */
export async function recordOf(h: ImportHarness, party: string, given: string) {
  return h.store.db
    .selectFrom('source_record')
    .select(['person_id', 'carried_person_id'])
    .where('party_id', '=', party)
    .where('given_name', '=', given)
    .executeTakeFirstOrThrow();
}

/** The person id the party's record of someone holds; it must hold one. */
export async function personOf(h: ImportHarness, party: string, given: string): Promise<string> {
  const row = await recordOf(h, party, given);
  expect(row.person_id).toBeTruthy();
  return row.person_id!;
}

/** A party and the lines of its extract of the ISA's `multiple-disadvantage-indicators`. */
export type PartyExtract = readonly [party: string, lines: readonly string[]];

/** Imports each party's extract as `a.csv`; every one must load. */
export async function importEach(h: ImportHarness, extracts: readonly PartyExtract[]): Promise<void> {
  for (const [party, lines] of extracts) {
    expect((await h.importFile(`${party}/multiple-disadvantage-indicators/a.csv`, lines.join('\n'))).outcome).toBe(
      'loaded',
    );
  }
}

/**
 * Carol White (housing) and Carol Black (education) are one person only through social care's
 * record: the NHS number links it to housing, date of birth and names to education.
 */
export function carolThroughSocialCare(nhsNumber: string): PartyExtract[] {
  return [
    [
      'la-housing',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
        `Carol,White,2011-01-02,ME1 1AA,${nhsNumber},N`,
      ],
    ],
    [
      'la-childrens-social-care',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
        `Carol,Black,2011-01-02,ME9 9ZZ,${nhsNumber},SC-3,N`,
      ],
    ],
    [
      'la-education',
      ['firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp', 'Carol,Black,2011-01-02,ME9 9ZZ,ED-3,N'],
    ],
  ];
}

/**
 * Social care's next snapshot no longer has Carol (of {@link carolThroughSocialCare}): once a
 * full linking pass has run, housing's and education's records of her are two people.
 */
export async function sendSocialCareWithoutCarol(h: ImportHarness): Promise<void> {
  const outcome = await h.importFile(
    'la-childrens-social-care/multiple-disadvantage-indicators/b.csv',
    [
      'firstName,lastName,dateOfBirth,homePostcode,socialCareSystemId,childProtection',
      'Dan,Grey,2009-05-06,ME3 3AB,SC-9,N',
    ].join('\n'),
  );
  expect(outcome.outcome).toBe('loaded');
}

/**
 * Alice Smith in housing; Alice Jones in children's social care and education: two people, who
 * share a date of birth, until {@link sendAdultSocialCareJoiningAlice}.
 */
export function aliceAsTwoPeople(nhsNumber: string): PartyExtract[] {
  return [
    [
      'la-housing',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
        `Alice,Smith,2012-03-04,ME14 1XX,${nhsNumber},Y`,
      ],
    ],
    [
      'la-childrens-social-care',
      [
        'firstName,lastName,dateOfBirth,homePostcode,socialCareSystemId,childProtection',
        'Alice,Jones,2012-03-04,ME20 9AA,SC-1,Y',
      ],
    ],
    [
      'la-education',
      ['firstName,lastName,dateOfBirth,homePostcode,educationSystemId,ehcp', 'Alice,Jones,2012-03-04,ME20 9AA,ED-1,N'],
    ],
  ];
}

/**
 * Adult social care sends Alice Jones with Alice Smith's NHS number (of {@link aliceAsTwoPeople}):
 * once linked, they are one person. Returns the import run, for linkAfterImport.
 */
export async function sendAdultSocialCareJoiningAlice(h: ImportHarness, nhsNumber: string): Promise<string> {
  const outcome = await h.importFile(
    'la-adult-social-care/multiple-disadvantage-indicators/a.csv',
    [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,isDisabled',
      `Alice,Jones,2012-03-04,ME20 9AA,${nhsNumber},N`,
    ].join('\n'),
  );
  expect(outcome.outcome).toBe('loaded');
  return (outcome as { runId: string }).runId;
}

/**
 * Adult social care's next snapshot no longer has Alice (of {@link sendAdultSocialCareJoiningAlice}):
 * once a full linking pass has run, Alice Smith and Alice Jones are two people again, and Alice
 * Jones's two records keep the merged person's id.
 */
export async function sendAdultSocialCareWithoutAlice(h: ImportHarness): Promise<void> {
  const outcome = await h.importFile(
    'la-adult-social-care/multiple-disadvantage-indicators/b.csv',
    ['firstName,lastName,dateOfBirth,homePostcode,isDisabled', 'Eve,Brown,2009-05-06,ME3 3AB,N'].join('\n'),
  );
  expect(outcome.outcome).toBe('loaded');
}

/**
 * Jonathan Smyth in housing without an NHS number and in social care with one: of the same date
 * of birth, so one person once linked (tier 3), until {@link sendHousingJonathanWithNhs}.
 */
export function jonathanLinkedByNames(careNhsNumber: string): PartyExtract[] {
  return [
    [
      'la-housing',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
        'Jonathan,Smyth,2012-03-04,ME14 1XX,,Y',
        'Mary,Green,1980-05-06,ME15 2YY,,N',
      ],
    ],
    [
      'la-childrens-social-care',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,childProtection',
        `Jonathan,Smyth,2012-03-04,ME14 1XX,${careNhsNumber},Y`,
      ],
    ],
  ];
}

/**
 * Housing's next snapshot holds a Jonathan Smyth of that date of birth (of
 * {@link jonathanLinkedByNames}) with this NHS number.
 */
export async function sendHousingJonathanWithNhs(h: ImportHarness, nhsNumber: string): Promise<void> {
  const outcome = await h.importFile(
    'la-housing/multiple-disadvantage-indicators/b.csv',
    [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      `Jonathan,Smyth,2012-03-04,ME14 1XX,${nhsNumber},Y`,
      'Mary,Green,1980-05-06,ME15 2YY,,Y',
    ].join('\n'),
  );
  expect(outcome.outcome).toBe('loaded');
}

/**
 * The open link candidate of the ISA's `multiple-disadvantage-indicators` whose records all
 * hold this given name, if the tier proposed one and no one has decided it.
 */
export async function openCandidateNamed(h: ImportHarness, firstName: string) {
  const page = await listCandidates(h.store, 'social-care-education-housing', ['multiple-disadvantage-indicators'], {
    limit: 100,
  });
  for (const c of page.candidates) {
    const full = await findCandidate(h.store, c.candidateId);
    if (full?.recordsInFull.every((r) => r.attributes.firstName === firstName)) return full;
  }
  return undefined;
}

/**
 * The ISA's two Jonathans: the same child in Housing's and social care's extracts, the surname
 * misspelt in one system, so no rule of tiers 1–4 links them and tier 5 may; each extract also
 * holds someone the other does not.
 */
export const JONATHANS = {
  housing: [
    'firstName,lastName,dateOfBirth,homePostcode,inRentArrears',
    'Jonathan,Smyth,2012-03-04,ME14 1XX,Y',
    'Mary,Green,1980-05-06,ME15 2YY,N',
  ].join('\n'),
  socialCare: [
    'firstName,lastName,dateOfBirth,homePostcode,childProtection',
    'Jonathan,Smith,2012-03-04,ME14 1XX,Y',
    'Peter,Green,1979-07-08,ME15 2YY,N',
  ].join('\n'),
};

/**
 * One of the ISA's Jonathans (of {@link JONATHANS}) as a party's stored record, for tests that
 * insert him rather than import him: born 2012-03-04, at ME14 1XX, the surname as that party's
 * system spells it, and what the party's extract says of him (`attributes`).
 */
export function jonathanIn(
  partyId: string,
  familyName: 'Smith' | 'Smyth',
  attributes: Record<string, unknown> = {},
  more: Partial<Pick<TestRecord, 'identifiers' | 'postcode'>> = {},
): TestRecord {
  return {
    partyId,
    datasetId: 'multiple-disadvantage-indicators',
    givenName: 'Jonathan',
    familyName,
    dateOfBirth: '2012-03-04',
    postcode: 'ME14 1XX',
    ...more,
    attributes: {
      firstName: 'Jonathan',
      lastName: familyName,
      dateOfBirth: '2012-03-04',
      homePostcode: 'ME14 1XX',
      ...attributes,
    },
  };
}

/**
 * Pair scoring for the link-review tests: the review threshold at 0 makes every plausible pair a
 * candidate however little data the model has, and 1,000 random pairs (the default is 400,000) are
 * plenty for a test's few records.
 */
const REVIEW_EVERY_PAIR: ProbabilisticOptions = { reviewThreshold: 0, randomPairs: 1_000 };

/** What a linking pass needs on the harness, scoring pairs as {@link REVIEW_EVERY_PAIR}. */
export function reviewLinkDeps(h: Pick<ImportHarness, 'linkDeps'>): LinkDependencies {
  return { ...h.linkDeps(), probabilistic: REVIEW_EVERY_PAIR };
}

/** A full linking pass of the agreement on the test host's store, scoring pairs as {@link REVIEW_EVERY_PAIR}. */
export function linkForReview(t: TestHost, agreementId: string): Promise<LinkRunSummary> {
  const { store, secrets, agreements, logger } = t.host.services;
  return linkPeople({ store, secrets, agreements, logger, probabilistic: REVIEW_EVERY_PAIR }, agreementId, 'full');
}

/**
 * An API call as the officer the link-review tests list, open and decide candidates as: a
 * reviewer of the council's housing team, for homelessness prevention.
 */
export function asHousingReviewer(
  t: TestHost,
  path: string,
  init: Omit<ApiCall, 'party' | 'roles' | 'token' | 'purpose'> = {},
): Promise<ApiAnswer> {
  return callApi(t, path, { ...init, party: 'la-housing', roles: ['reviewer'], purpose: 'homelessness-prevention' });
}

/** The ids of the candidates {@link asHousingReviewer}'s list shows, in its order; `query` as `limit=100`. */
export async function listedCandidateIds(t: TestHost, query?: string): Promise<string[]> {
  const res = await asHousingReviewer(t, `/v1/link-candidates${query ? `?${query}` : ''}`);
  expect(res.status).toBe(200);
  return (res.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
}

/**
 * Someone in a party's extract of the ISA's `multiple-disadvantage-indicators`, as a stored
 * record: the extract's columns say what the record's fields say, then `attributes`.
 */
export function isaRecord(
  partyId: string,
  who: { givenName: string; familyName: string; dateOfBirth: string; postcode: string },
  attributes: Record<string, unknown> = {},
  identifiers?: TestRecord['identifiers'],
): TestRecord {
  const { givenName, familyName, dateOfBirth, postcode } = who;
  return {
    partyId,
    datasetId: 'multiple-disadvantage-indicators',
    givenName,
    familyName,
    dateOfBirth,
    postcode,
    ...(identifiers === undefined ? {} : { identifiers }),
    attributes: { firstName: givenName, lastName: familyName, dateOfBirth, homePostcode: postcode, ...attributes },
  };
}

/** The person id a stored record holds now; it must hold one. */
export async function personOfRecord(t: TestHost, recordId: string): Promise<string> {
  const row = await t.host.services.store.db
    .selectFrom('source_record')
    .select('person_id')
    .where('id', '=', recordId)
    .executeTakeFirstOrThrow();
  return row.person_id!;
}

/** The link pairing two records (either way round), of the agreement or in the status if given; there must be one. */
export function linkBetween(
  t: TestHost,
  recordA: string,
  recordB: string,
  where: { agreementId?: string; status?: RecordLinkTable['status'] } = {},
) {
  let query = t.host.services.store.db
    .selectFrom('record_link')
    .select(['id', 'status', 'pair_key'])
    .where((eb) =>
      eb.or([
        eb.and([eb('record_a', '=', recordA), eb('record_b', '=', recordB)]),
        eb.and([eb('record_a', '=', recordB), eb('record_b', '=', recordA)]),
      ]),
    );
  if (where.agreementId !== undefined) query = query.where('agreement_id', '=', where.agreementId);
  if (where.status !== undefined) query = query.where('status', '=', where.status);
  return query.executeTakeFirstOrThrow();
}

/**
 * {@link asHousingReviewer} confirms or rejects the candidate, under a request id of its own; the
 * decision must be taken (200). Returns the request id, to find the decision's entry by.
 */
export async function decideAsHousingReviewer(
  t: TestHost,
  candidateId: string,
  verdict: 'confirm' | 'reject',
): Promise<string> {
  const requestId = randomUUID();
  const res = await asHousingReviewer(t, `/v1/link-candidates/${candidateId}/${verdict}`, {
    method: 'POST',
    headers: { 'x-request-id': requestId },
  });
  expect(res.status).toBe(200);
  return requestId;
}

/** The reason codes of the request's entries in the person's subject access answer, as the agreement's DPO gets it. */
export async function requestReasonsForPerson(
  t: TestHost,
  agreementId: string,
  personId: string,
  requestId: string,
): Promise<string[]> {
  const s = t.host.services;
  const answer = await accessesToPerson(s.store, auditScope(s.agreements, [agreementId]), personId, {
    after: 0,
    limit: 100,
  });
  return answer.entries.filter((e) => e.requestId === requestId).map((e) => e.reasonCode);
}

/** The people the request's one access-log entry names, sorted; it must have written exactly one. */
export async function peopleNamedByRequest(t: TestHost, requestId: string): Promise<string[]> {
  const entries = await t.host.services.store.db
    .selectFrom('access_log')
    .selectAll()
    .where('request_id', '=', requestId)
    .execute();
  expect(entries).toHaveLength(1);
  return personIdsOf(entries[0]!.subject_ref).sort();
}
