/**
 * The agreement files say what the signed documents say. These tests read the documents'
 * own lists and check the files against them, so a field dropped or a grant widened while
 * editing a file shows up here.
 */
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AGREEMENTS_DIR } from './agreement-files.js';

const set = loadAgreements(AGREEMENTS_DIR, { now: new Date('2026-03-01') });

function grantedFields(purpose: string, role: string): Set<string> {
  const fields = new Set<string>();
  for (const grant of set.grantsFor(purpose)) {
    if (grant.roles.has(role)) [...grant.fields, ...grant.specialCategoryFields].forEach((field) => fields.add(field));
  }
  return fields;
}

describe('the Keyways housing allocation DSA', () => {
  const register = set.dataset('keyways-housing-register');

  it('holds every item s.4 lists', () => {
    expect(register?.dataset.fields.map((field) => field.name)).toEqual([
      'firstName',
      'lastName',
      'dateOfBirth',
      'gender',
      'nationalInsuranceNumber',
      'address',
      'telephoneNumber',
      'localGroupsAndActivities',
      'statutorySupervisionCustodyOrCareDetails',
      'supportingProfessionalContacts',
      'guarantorContactDetails',
      'generalSupportingInformation',
      'agencyReferralRiskAssessment',
      'preSentenceReportOrPreviousConvictions',
      'psychiatricCareProgrammeApproachReports',
      'multiAgencyPublicProtectionArrangements',
      'referringHousingOfficer',
    ]);
  });

  it('gives MAPPA and the risk-assessment material to senior officers only', () => {
    const seniorOnly = [
      'agencyReferralRiskAssessment',
      'preSentenceReportOrPreviousConvictions',
      'psychiatricCareProgrammeApproachReports',
      'multiAgencyPublicProtectionArrangements',
    ];
    for (const purpose of ['housing-allocation', 'fraud-prevention']) {
      for (const grant of set.grantsFor(purpose)) {
        const confidential = grant.specialCategoryFields.filter((field) => seniorOnly.includes(field));
        if (confidential.length > 0) expect([...grant.roles]).toEqual(['senior-officer']);
      }
    }
    expect([...grantedFields('housing-allocation', 'senior-officer')]).toEqual(expect.arrayContaining(seniorOnly));
    expect(seniorOnly.filter((field) => grantedFields('housing-allocation', 'housing-officer').has(field))).toEqual([]);
  });

  it('uses the data for allocating housing only (s.7.1), with fraud checks inside that', () => {
    expect(set.agreementsOfParty('kettering-borough-council').map((agreement) => agreement.id)).toEqual([
      'keyways-housing-allocation',
    ]);
    expect([...set.purposesGrantedTo('kettering-borough-council')].sort()).toEqual([
      'fraud-prevention',
      'housing-allocation',
    ]);
    expect(set.purpose('housing-allocation')?.purpose.lawfulBasis.statutory[0]).toMatch(/Housing Act 1996 Part VI/);
  });

  it('lets Registered Providers see neither the national insurance number nor special category material', () => {
    const rp = grantedFields('housing-allocation', 'rp-lettings');
    expect(rp.has('nationalInsuranceNumber')).toBe(false);
    expect([...rp].filter((field) => register?.fields.get(field)?.classification === 'special-category')).toEqual([]);
  });
});

describe('the social care, education and housing ISA', () => {
  const indicators = set.dataset('multiple-disadvantage-indicators');
  const fieldsBy = (classification: string) =>
    indicators?.dataset.fields.filter((field) => field.classification === classification).map((field) => field.name);

  it('holds every data item the ISA lists, in its order', () => {
    expect(indicators?.dataset.fields.map((field) => field.description.replace(/\.$/, '').slice(0, 24))).toEqual([
      'First Name (legal first ',
      'Last Name (legal last na',
      'Date of Birth (used in m',
      'Gender',
      'In Council Temporary Acc',
      'Is in Rent Arrears Flag ',
      'Arrears Payment Plan In ',
      'Is at Risk of Eviction F',
      'Home Address (as display',
      'The postcode of the Home',
      'National Insurance Numbe',
      'National Health Number (',
      'Unique Pupil Number (For',
      'Social Care System ID (F',
      'Education Data System ID',
      '(SC) EHCP Flag (Y/N) - E',
      '(SC) SEND Type (sometime',
      '(SC) Is Disabled Flag (Y',
      '(SC) Disabilities (Descr',
      'Child Protection Flag (Y',
      'Child in Care Flag (Y/N)',
      'Child in Need Flag (Y/N)',
      'Child is Currently at Ri',
      "Is Known to Children's S",
      'Social Care or SEND Team',
      'Assigned Caseworker(s)',
      'Current School, includin',
      'Current School Postcode',
      'Current School Total Abs',
      'Current School Lateness ',
      'Exclusions from School i',
    ]);
  });

  it('keeps the five identifiers the ISA marks "For Matching Only, Not Displayed" as matching-only', () => {
    expect(fieldsBy('matching-only')).toEqual([
      'nationalInsuranceNumber',
      'nhsNumber',
      'uniquePupilNumber',
      'socialCareSystemId',
      'educationSystemId',
    ]);
  });

  it('marks exactly the (SC) items special-category', () => {
    expect(fieldsBy('special-category')).toEqual(['ehcp', 'sendType', 'isDisabled', 'disabilities']);
    for (const field of indicators?.dataset.fields ?? []) {
      expect(field.description.startsWith('(SC)')).toBe(field.classification === 'special-category');
    }
  });

  it('matches in the order of reliability the ISA gives, ending with officer-confirmed candidates', () => {
    const tiers = set.agreement('social-care-education-housing')?.agreement.matching ?? [];
    expect(
      tiers.map((tier) =>
        tier.keys.map((key) => key.map((part) => part.field + (part.prefix ? `:${part.prefix}` : '')).join('+')),
      ),
    ).toEqual([
      ['uniquePupilNumber', 'nhsNumber'],
      ['educationSystemId', 'socialCareSystemId'],
      ['dateOfBirth+lastName+firstName:3'],
      ['homePostcode+lastName+firstName:3'],
      [],
    ]);
    expect(tiers.at(-1)).toMatchObject({ method: 'probabilistic', confirmation: 'officer' });
  });

  it('rests on Art. 6(1)(c), 6(1)(e), 9(2)(c) and 9(2)(g), without consent', () => {
    for (const id of ['homelessness-prevention', 'tenancy-sustainment']) {
      const purpose = set.purpose(id)?.purpose;
      expect(purpose?.lawfulBasis.article6).toEqual(['6(1)(c)', '6(1)(e)']);
      expect(purpose?.lawfulBasis.article9).toEqual(['9(2)(c)', '9(2)(g)']);
      expect(purpose?.consentRequired).toBe(false);
    }
  });

  it('applies the national data opt-out to planning', () => {
    expect(set.purpose('service-planning')?.purpose.nationalDataOptOutApplies).toBe(true);
    const planning = grantedFields('service-planning', 'analyst');
    expect(
      ['firstName', 'lastName', 'dateOfBirth', 'homeAddress', 'homePostcode'].filter((field) => planning.has(field)),
    ).toEqual([]);
  });

  it('gives planning exported counts only: no lookup of a person', () => {
    const grants = set.grantsFor('service-planning');
    expect(grants.map((grant) => [...grant.actions])).toEqual([['export']]);
  });

  it('keeps data on the joint system only while the person is in temporary accommodation', () => {
    const joint = set
      .agreement('social-care-education-housing')
      ?.agreement.retention.filter((rule) => rule.scope === 'joint-system');
    expect(joint).toEqual([expect.objectContaining({ keepWhile: { field: 'inTemporaryAccommodation', equals: 'Y' } })]);
  });

  it('lets each host system supply only its own indicators', () => {
    expect(set.maySupplyField('la-childrens-social-care', 'multiple-disadvantage-indicators', 'childProtection')).toBe(
      true,
    );
    expect(set.maySupplyField('la-education', 'multiple-disadvantage-indicators', 'childProtection')).toBe(false);
    expect(set.maySupplyField('la-education', 'multiple-disadvantage-indicators', 'uniquePupilNumber')).toBe(true);
    expect(
      set.maySupplyField('social-housing-providers', 'multiple-disadvantage-indicators', 'inTemporaryAccommodation'),
    ).toBe(false);
  });
});

describe('the Housing First research sharing', () => {
  it('shares exactly the four items the notice lists, with ICF', () => {
    expect([...grantedFields('research-evaluation', 'researcher')]).toEqual([
      'name',
      'telephoneNumber',
      'email',
      'address',
    ]);
    expect(set.purposesGrantedTo('icf-research')).toEqual(['research-evaluation']);
  });

  it('is consent-only, consent being recorded by Housing Options and Support', () => {
    const purpose = set.purpose('research-evaluation')?.purpose;
    expect(purpose?.consentRequired).toBe(true);
    expect(purpose?.consentSource).toMatchObject({ party: 'dudley-housing-options', roles: ['housing-officer'] });
  });

  it('records MHCLG keeping the data for five years', () => {
    const retention = set.agreement('housing-first-research')?.agreement.retention;
    expect(retention).toContainEqual(expect.objectContaining({ scope: 'recipient', holder: 'MHCLG', period: 'P5Y' }));
  });
});

describe('the agreement set', () => {
  it('knows which parties supply which datasets', () => {
    expect(set.isSource('corby-borough-council', 'keyways-housing-register')).toBe(true);
    expect(set.isSource('keyways-registered-providers', 'keyways-housing-register')).toBe(false);
    expect(set.isSource('dudley-housing-options', 'keyways-housing-register')).toBe(false);
    expect(set.isSource('dudley-housing-options', 'no-such-dataset')).toBe(false);
  });

  it('finds a dataset and a purpose by id alone, with their agreement', () => {
    expect(set.dataset('housing-first-participant-contacts')?.agreementId).toBe('housing-first-research');
    expect(set.purpose('tenancy-sustainment')?.agreementId).toBe('social-care-education-housing');
    expect(set.party('la-housing')?.roles.has('reviewer')).toBe(true);
    expect(set.party('nobody')).toBeUndefined();
  });
});
