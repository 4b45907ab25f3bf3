import { randomUUID } from 'node:crypto';
import { Pseudonymiser, type PseudonymKind } from '../../shared/domain/pseudonymise.js';
import { firstThree, normaliseName } from '../../shared/domain/normalise.js';
import type { Services } from '../../shared/services.js';
import { expect } from 'vitest';
import { callApi, type TestHost } from './test-host.js';

export interface TestRecord {
  partyId: string;
  datasetId: string;
  personId?: string;
  givenName: string;
  familyName: string;
  dateOfBirth?: string;
  postcode?: string;
  identifiers?: Partial<Record<PseudonymKind, string>>;
  attributes: Record<string, unknown>;
}

/** Sam: a Housing First participant in Dudley's contacts (research; consent-only purpose). */
export const SAM = { givenName: 'Sam', familyName: 'Taylor', dateOfBirth: '1985-01-02' } as const;
export const SAM_PARTICIPANT: TestRecord = {
  partyId: 'dudley-housing-options',
  datasetId: 'housing-first-participant-contacts',
  ...SAM,
  attributes: { name: 'Sam Taylor', telephoneNumber: '07700 900000' },
};

/** A Housing First participant's contact details, as Dudley's contacts dataset holds them. */
export function housingFirstContacts(name: string, telephoneNumber: string) {
  return {
    name,
    telephoneNumber,
    email: `${name.split(' ')[0]!.toLowerCase()}@example.org`,
    address: '2 Low Road, Dudley',
  };
}

/** A name and date of birth, as a subject of a consent or a lookup gives them. */
export interface NamedPerson {
  givenName: string;
  familyName: string;
  dateOfBirth: string;
}

/**
 * A scenario's people, one for each given name (up to nine), all of one family name and born on
 * the first of January, February, … of `year`: none a namesake of another test's.
 */
export function namedPeople<const N extends readonly string[]>(
  givenNames: N,
  familyName: string,
  year: number,
): { [K in keyof N]: NamedPerson } {
  return givenNames.map((givenName, n) => ({
    givenName,
    familyName,
    dateOfBirth: `${year}-0${n + 1}-01`,
  })) as unknown as { [K in keyof N]: NamedPerson };
}

/** Someone (a name and date of birth) in Dudley's Housing First contacts, under `personId` if given. */
export function dudleyParticipant(subject: NamedPerson, telephoneNumber: string, personId?: string): TestRecord {
  return {
    partyId: 'dudley-housing-options',
    datasetId: 'housing-first-participant-contacts',
    ...(personId === undefined ? {} : { personId }),
    ...subject,
    attributes: housingFirstContacts(`${subject.givenName} ${subject.familyName}`, telephoneNumber),
  };
}

/** Records a consent or opt-out (`body`) over HTTP as `caller`; it must be recorded. Returns its id. */
export async function recordConsent(
  t: TestHost,
  caller: { party: string; roles: string[]; purpose: string },
  body: object,
): Promise<string> {
  const recorded = await callApi(t, '/v1/consents', { ...caller, body });
  expect(recorded.status, recorded.text).toBe(201);
  return recorded.body.consentId as string;
}

/** Dudley's housing officer records the subject's consent to research-evaluation; it must be recorded. Returns its id. */
export function consentToResearch(t: TestHost, subject: object, evidenceRef: string): Promise<string> {
  return recordConsent(
    t,
    { party: 'dudley-housing-options', roles: ['housing-officer'], purpose: 'research-evaluation' },
    { subject, evidenceRef },
  );
}

/**
 * Each of `people` put in Dudley's Housing First contacts (the nth with telephone number
 * `${telephoneStem}${n}`) and their consent to research-evaluation recorded over HTTP by Dudley's
 * housing officer. Returns the consents' ids by given name.
 */
export async function dudleyParticipantsConsenting(
  t: TestHost,
  people: readonly NamedPerson[],
  telephoneStem: string,
  evidenceRef: string,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [n, person] of people.entries()) {
    await insertRecord(t.host.services, dudleyParticipant(person, `${telephoneStem}${n}`));
    ids.set(person.givenName, await consentToResearch(t, person, evidenceRef));
  }
  return ids;
}

/** Aisha: an applicant on Kettering's Keyways register, found by her NI number. */
export const AISHA_NI = 'JG103759A';
export function aishaOnKeyways(ni = 'JG103759'): TestRecord {
  return {
    partyId: 'kettering-borough-council',
    datasetId: 'keyways-housing-register',
    givenName: 'Aisha',
    familyName: "O'Connor",
    dateOfBirth: '1990-04-12',
    identifiers: { ni },
    attributes: { firstName: 'Aisha', lastName: "O'Connor", nationalInsuranceNumber: `${ni}A` },
  };
}

/** Ben: another applicant on Kettering's Keyways register, found by his NI number. */
export const BEN_NI = 'AB123456C';
export function benOnKeyways(ni = 'AB123456'): TestRecord {
  return {
    partyId: 'kettering-borough-council',
    datasetId: 'keyways-housing-register',
    givenName: 'Ben',
    familyName: 'Okafor',
    dateOfBirth: '1988-07-30',
    identifiers: { ni },
    attributes: { firstName: 'Ben', lastName: 'Okafor', nationalInsuranceNumber: `${ni}C` },
  };
}

/** Robin: a child known to children's social care (the ISA; the national data opt-out applies). */
/** The address every Keyways applicant of the link-review tests gives, so that their records pair up. */
export const KEYWAYS_APPLICANT_ADDRESS = '12 Elm Road, Corby NN17 1AA';

/** An applicant on a Keyways council's housing register, with the attributes a link review shows. */
export function keywaysApplicant(
  partyId: string,
  firstName: string,
  lastName: string,
  dateOfBirth: string,
  more: Record<string, unknown> = {},
): TestRecord {
  return {
    partyId,
    datasetId: 'keyways-housing-register',
    givenName: firstName,
    familyName: lastName,
    dateOfBirth,
    attributes: { firstName, lastName, dateOfBirth, address: KEYWAYS_APPLICANT_ADDRESS, ...more },
  };
}

export const ROBIN = { givenName: 'Robin', familyName: 'Hale', dateOfBirth: '2012-05-06' } as const;
export const ROBIN_NHS = '9434765919';
export const ROBIN_IN_SOCIAL_CARE: TestRecord = {
  partyId: 'la-childrens-social-care',
  datasetId: 'multiple-disadvantage-indicators',
  ...ROBIN,
  identifiers: { nhs: ROBIN_NHS },
  attributes: { childProtection: true },
};

/**
 * Put a record in the store the way an import leaves it: normalised names, hashed identifiers,
 * attributes as JSON. For API tests that need someone to find without running an import.
 */
export async function insertRecord(
  services: Services,
  record: TestRecord,
): Promise<{ recordId: string; personId: string }> {
  const key = await services.secrets.get('pseudonymisation-key');
  const pseudonymiser = new Pseudonymiser({ keyVersion: key.version, key: Buffer.from(key.value, 'base64') });
  const recordId = randomUUID();
  const personId = record.personId ?? randomUUID();
  await services.store.db
    .insertInto('source_record')
    .values({
      id: recordId,
      import_run_id: 'test',
      party_id: record.partyId,
      dataset_id: record.datasetId,
      row_number: 1,
      given_name: normaliseName(record.givenName),
      family_name: normaliseName(record.familyName),
      first3: firstThree(record.givenName),
      date_of_birth: record.dateOfBirth ?? null,
      postcode: record.postcode ?? null,
      address: null,
      attributes: JSON.stringify(record.attributes),
      as_of: '2026-11-01',
      person_id: personId,
    })
    .execute();
  for (const [kind, value] of Object.entries(record.identifiers ?? {})) {
    await services.store.db
      .insertInto('record_identifier')
      .values({
        record_id: recordId,
        kind,
        hash: pseudonymiser.hash(kind as PseudonymKind, value!),
        key_version: key.version,
      })
      .execute();
  }
  return { recordId, personId };
}

/**
 * A bare `source_record` row: no names, no identifiers, for store-level tests that only need
 * rows of a person (or a given size) to be there.
 */
export function sourceRecordRow(id: string, personId: string, extra: { datasetId?: string; attributes?: string } = {}) {
  return {
    id,
    import_run_id: 'test',
    party_id: 'kettering-borough-council',
    dataset_id: extra.datasetId ?? 'keyways-housing-register',
    row_number: 1,
    given_name: null,
    family_name: null,
    first3: null,
    date_of_birth: null,
    postcode: null,
    address: null,
    attributes: extra.attributes ?? '{}',
    as_of: '2026-11-01',
    person_id: personId,
  };
}

/**
 * Robin's social care record, and a national data opt-out for Robin recorded over HTTP by the
 * ISA's housing service's DPO under `service-planning`: what every test of an opt-out's
 * withdrawal after a re-signing or an ending starts from.
 */
export async function robinOptedOutByLaHousing(
  t: TestHost,
  evidenceRef: string,
): Promise<{ robin: { recordId: string; personId: string }; optOutId: string }> {
  const robin = await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
  const optOutId = await recordConsent(
    t,
    { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' },
    { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef },
  );
  return { robin, optOutId };
}
