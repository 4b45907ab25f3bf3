import { expect } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import type { Services } from '../../shared/services.js';
import { insertRecord, type TestRecord } from './records.js';
import type { Logger } from '../../shared/logging.js';
import { agreementsFolderWith, type AgreementTextEdit } from '../shared/agreements/agreement-files.js';
import { callApi, startTestHost, type ApiCall, type TestHost } from './test-host.js';

/**
 * Katherine Whitfield, Corby's applicant on the Keyways housing register, and the records of other
 * councils a linking pass may or may not join her to: the re-signing tests (former-source-links,
 * matching-changed-links, side-by-side-hosts-links) tell which by the telephone number a search
 * returns.
 */
export const REGISTER_APPLICANT_DOB = '1985-03-14';
export const REGISTER_APPLICANT_NI = 'QQ123456';

/** A register applicant born on REGISTER_APPLICANT_DOB, `marker` as the telephone number, with an NI number when given. */
export function markedRegisterApplicant(
  partyId: string,
  givenName: string,
  familyName: string,
  marker: string,
  ni?: string,
): TestRecord {
  return {
    partyId,
    datasetId: 'keyways-housing-register',
    givenName,
    familyName,
    dateOfBirth: REGISTER_APPLICANT_DOB,
    identifiers: ni === undefined ? {} : { ni },
    attributes: {
      firstName: givenName,
      lastName: familyName,
      dateOfBirth: REGISTER_APPLICANT_DOB,
      telephoneNumber: marker,
      ...(ni === undefined ? {} : { nationalInsuranceNumber: `${ni}C` }),
    },
  };
}

/** Corby's housing officer searching for its own applicant by her names and date of birth. */
export function corbySearchForItsApplicant(t: TestHost) {
  return callApi(t, '/v1/people/search', {
    party: 'corby-borough-council',
    roles: ['housing-officer'],
    purpose: 'housing-allocation',
    body: { givenName: 'Katherine', familyName: 'Whitfield', dateOfBirth: REGISTER_APPLICANT_DOB },
  });
}

/** The Keyways DSA, whose register the applicants are on. */
export const KEYWAYS_AGREEMENT = 'keyways-housing-allocation';

/**
 * Corby's applicant and Kettering's, under other names but with one NI number, inserted and
 * joined into one person by a full pass under the agreement files `services` loaded.
 */
export async function corbyAndKetteringJoinedByNi(services: Services): Promise<void> {
  await insertRecord(
    services,
    markedRegisterApplicant('corby-borough-council', 'Katherine', 'Whitfield', 'CORBY-PHONE', REGISTER_APPLICANT_NI),
  );
  await insertRecord(
    services,
    markedRegisterApplicant('kettering-borough-council', 'Kate', 'Marsh', 'KETTERING-PHONE', REGISTER_APPLICANT_NI),
  );
  await linkPeople(services, KEYWAYS_AGREEMENT, 'full');
}

/** The linking passes on record for the Keyways DSA. */
export function keywaysPasses(t: TestHost) {
  return t.host.services.store.db
    .selectFrom('link_run')
    .select('id')
    .where('agreement_id', '=', KEYWAYS_AGREEMENT)
    .execute();
}

/**
 * Katherine Whitfield on `partyId`'s Keyways register, with a postcode: Kettering's and Corby's
 * records a day apart in the date of birth are a pair tier 3 proposes (the link-review tests).
 */
export function whitfieldOnRegister(
  partyId: string,
  dateOfBirth: string,
  address = '12 Elm Road, Kettering',
  postcode = 'NN16 8AB',
): TestRecord {
  return {
    partyId,
    datasetId: 'keyways-housing-register',
    givenName: 'Katherine',
    familyName: 'Whitfield',
    dateOfBirth,
    postcode,
    attributes: { firstName: 'Katherine', lastName: 'Whitfield', dateOfBirth, address },
  };
}

/**
 * Calls as Kettering's senior officer, a reviewer under the agreement `purpose` belongs to. The
 * host is read at each call: the re-signing tests restart it on changed agreement files.
 */
export function asKetteringReviewer(host: () => TestHost, purpose: string) {
  return (path: string, init: Omit<ApiCall, 'party' | 'roles' | 'purpose'> = {}) =>
    callApi(host(), path, { ...init, party: 'kettering-borough-council', roles: ['senior-officer'], purpose });
}

/** The ids of the link candidates a reviewer's list shows. */
export async function listedCandidates(as: ReturnType<typeof asKetteringReviewer>): Promise<string[]> {
  const res = await as('/v1/link-candidates?limit=100');
  expect(res.status, res.text).toBe(200);
  return (res.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
}

/** A log line a {@link keptLogger} kept: its level, event and fields. */
export interface KeptLine {
  level: string;
  event: string;
  fields?: object;
}

/** A logger that keeps each line's event and fields in `lines`. */
export function keptLogger(lines: KeptLine[]): Logger {
  const keep = (level: string) => (event: string, fields?: object) => void lines.push({ level, event, fields });
  return { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/**
 * A deployment's two hosts on one store: `before` on the Keyways file as shipped, with Corby's and
 * Kettering's applicants joined by their NI number, and `after` on the file with `edits`, started
 * second (so the store remembers its files), sharing the first's store, secrets and token key.
 */
export async function keywaysHostsSideBySide(
  edits: readonly AgreementTextEdit[],
): Promise<{ before: TestHost; after: TestHost }> {
  const before = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
  try {
    await corbyAndKetteringJoinedByNi(before.host.services);
    const { SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH } = before.settings;
    const after = await startTestHost({
      LINTEL_DEMO_SEED: 'off',
      SQLITE_PATH,
      LOCAL_SECRETS_PATH,
      DEV_ISSUER_KEY_PATH,
      AGREEMENTS_DIR: agreementsFolderWith([...edits]),
    });
    return { before, after };
  } catch (err) {
    await before.stop();
    throw err;
  }
}
