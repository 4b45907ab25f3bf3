/**
 * The columns la-housing supplies for `multiple-disadvantage-indicators` (the ISA), in the order
 * the test extracts write them: the import fixtures (test/fixtures/imports/make-fixtures.ts) and
 * the generated large extracts (test/shared/imports/large-extract.ts).
 */
export const HOUSING_COLUMNS: readonly string[] = [
  'firstName',
  'lastName',
  'dateOfBirth',
  'gender',
  'inTemporaryAccommodation',
  'inRentArrears',
  'arrearsPaymentPlanInPlace',
  'atRiskOfEviction',
  'homeAddress',
  'homePostcode',
  'nationalInsuranceNumber',
  'nhsNumber',
  'uniquePupilNumber',
];
