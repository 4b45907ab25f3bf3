/**
 * How wrong a partner's copy of a person can be. Rates are per record and independent, so two
 * sources' errors combine on a pair the way they do in real extracts. 'typical' is shaped on
 * published linkage-quality studies of UK administrative data (a few per cent name typos and
 * date errors, a tenth to a quarter of addresses out of date, identifiers patchily recorded);
 * 'hard' is the worst case the engine must survive: most identifiers missing and errors
 * stacking on the same record.
 */

export interface ErrorProfile {
  /** One keying slip in the given name; separately, in the family name. */
  readonly typo: number;
  /** Given name recorded in an informal form (BILL for WILLIAM), where one exists. */
  readonly nickname: number;
  /** Given and family names entered the wrong way round. */
  readonly nameSwap: number;
  /** A person with a former surname recorded under it, or under both hyphenated. */
  readonly formerSurname: number;
  /** An adult recorded under a surname taken since (marriage, divorce, deed poll). */
  readonly surnameChange: number;
  readonly dobTransposed: number;
  /** One digit of the date of birth wrong (still a real date). */
  readonly dobDigit: number;
  readonly dobMissing: number;
  /** Recorded at a previous or later address: usually within the district, sometimes not. */
  readonly moved: number;
  readonly postcodeMissing: number;
  /** Street type abbreviated, house number dropped. */
  readonly addressVariant: number;
  /** An identifier the person has and the source holds is not in the record. */
  readonly missingIdentifier: number;
  /**
   * An identifier keyed with a slip: for NHS numbers and UPNs the check character rejects it at
   * import (so it ends up missing); an NI number has none and stays, wrong.
   */
  readonly mistypedIdentifier: number;
}

export type ErrorProfileName = 'clean' | 'typical' | 'hard';

export const ERROR_PROFILES: Readonly<Record<ErrorProfileName, ErrorProfile>> = {
  clean: {
    typo: 0.005,
    nickname: 0.01,
    nameSwap: 0.001,
    formerSurname: 0.02,
    surnameChange: 0.002,
    dobTransposed: 0.002,
    dobDigit: 0.002,
    dobMissing: 0.001,
    moved: 0.03,
    postcodeMissing: 0.005,
    addressVariant: 0.05,
    missingIdentifier: 0.05,
    mistypedIdentifier: 0.002,
  },
  typical: {
    typo: 0.03,
    nickname: 0.06,
    nameSwap: 0.01,
    formerSurname: 0.1,
    surnameChange: 0.01,
    dobTransposed: 0.01,
    dobDigit: 0.015,
    dobMissing: 0.005,
    moved: 0.12,
    postcodeMissing: 0.02,
    addressVariant: 0.2,
    missingIdentifier: 0.35,
    mistypedIdentifier: 0.01,
  },
  hard: {
    typo: 0.08,
    nickname: 0.12,
    nameSwap: 0.03,
    formerSurname: 0.25,
    surnameChange: 0.03,
    dobTransposed: 0.03,
    dobDigit: 0.04,
    dobMissing: 0.01,
    moved: 0.25,
    postcodeMissing: 0.04,
    addressVariant: 0.35,
    missingIdentifier: 0.75,
    mistypedIdentifier: 0.02,
  },
};

/** Bits of {@link SourceRecords.errors}: which errors a record carries, for diagnosing misses. */
export const RECORD_ERROR = {
  givenTypo: 1 << 0,
  familyTypo: 1 << 1,
  nickname: 1 << 2,
  nameSwap: 1 << 3,
  formerSurname: 1 << 4,
  surnameChange: 1 << 5,
  dobTransposed: 1 << 6,
  dobDigit: 1 << 7,
  dobMissing: 1 << 8,
  moved: 1 << 9,
  postcodeMissing: 1 << 10,
  addressVariant: 1 << 11,
  identifierMistyped: 1 << 12,
} as const;
