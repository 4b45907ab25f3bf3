/**
 * The projector against the agreements themselves: for every party, role, purpose, dataset
 * and action in the three agreements, a record holding every field (and some that are not
 * fields at all) is projected, and the result is compared with what the agreement file - read
 * here straight from YAML, not through the loader - grants that role for that purpose.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { decide } from '../../../shared/policy/decide.js';
import type { Decision, DataAction } from '../../../shared/policy/decision.js';
import { projectRecord, ProjectionError } from '../../../shared/policy/project.js';
import { AGREEMENTS_DIR, AGREEMENT_FILES, rawAgreement } from '../agreements/agreement-files.js';
import type { AgreementName, RawAgreement } from '../agreements/agreement-files.js';
import type { ConsentRegister } from '../../../shared/policy/consent-register.js';

const agreements = loadAgreements(AGREEMENTS_DIR, { now: new Date('2026-03-01') });
const raw: RawAgreement[] = (Object.keys(AGREEMENT_FILES) as AgreementName[]).map(rawAgreement);

/** Every subject has consented and no one has opted out: only the grants decide. */
const everyoneConsents: ConsentRegister = { currentConsent: async () => true, isOptedOut: async () => false };
const deps = { agreements, consents: everyoneConsents, now: () => new Date('2026-03-02') };

const ACTIONS: readonly DataAction[] = ['lookup', 'search', 'duplicate-check', 'review'];
const parties: { id: string; roles: string[] }[] = raw.flatMap((a) =>
  a.parties.map((p: RawAgreement) => ({ id: p.id, roles: p.roles ?? [] })),
);
const allRoles = [...new Set(raw.flatMap((a) => a.parties.flatMap((p: RawAgreement) => p.roles ?? [])))] as string[];
const purposes = raw.flatMap((a) => a.purposes.map((p: RawAgreement) => p.id as string));
const datasets: { id: string; fields: RawAgreement[] }[] = raw.flatMap((a) => a.datasets);

/** A record with every field of the dataset, plus columns no agreement grants. */
function fullRecord(datasetId: string): Record<string, unknown> {
  const dataset = datasets.find((d) => d.id === datasetId)!;
  const record: Record<string, unknown> = { subjectKey: 'k', internalRowId: 1, notAField: 'x' };
  for (const field of dataset.fields) record[field.name] = `value-of-${field.name}`;
  return record;
}

/** What the agreement file grants one role of one party: the oracle, read from raw YAML. */
function expectedFields(
  partyId: string,
  role: string,
  purpose: string,
  datasetId: string,
  action: DataAction,
): Set<string> {
  const expected = new Set<string>();
  for (const agreement of raw) {
    const party = agreement.parties.find((p: RawAgreement) => p.id === partyId);
    if (party === undefined || !(party.roles ?? []).includes(role)) continue;
    for (const grant of agreement.grants) {
      const actions = grant.actions ?? ['lookup', 'search'];
      const forParty = grant.parties === undefined || grant.parties.includes(partyId);
      if (
        grant.purpose === purpose &&
        grant.dataset === datasetId &&
        grant.roles.includes(role) &&
        forParty &&
        actions.includes(action)
      ) {
        [...(grant.fields ?? []), ...(grant.specialCategoryFields ?? [])].forEach((field: string) =>
          expected.add(field),
        );
      }
    }
  }
  return expected;
}

function classification(datasetId: string, field: string): string | undefined {
  return datasets.find((d) => d.id === datasetId)?.fields.find((f: RawAgreement) => f.name === field)?.classification;
}

async function projected(
  partyId: string,
  roles: string[],
  purpose: string,
  datasetId: string,
  action: DataAction,
): Promise<Set<string>> {
  const decision: Decision = await decide(
    { caller: { partyId, clientId: 'c', roles }, purpose, datasets: [datasetId], subject: { subjectKey: 'k' }, action },
    deps,
  );
  if (!decision.allow) return new Set();
  return new Set(Object.keys(projectRecord(decision, datasetId, fullRecord(datasetId))));
}

describe('projecting a record under every combination in the agreements', () => {
  it('returns exactly the fields the agreement grants that role, never a matching-only one, and special-category ones only to named roles', async () => {
    let combinations = 0;
    let nonEmpty = 0;
    for (const party of parties) {
      // Every role any agreement knows, not only the party's own: a role the party does not hold yields nothing.
      for (const role of allRoles) {
        for (const purpose of purposes) {
          for (const dataset of datasets) {
            for (const action of ACTIONS) {
              combinations += 1;
              const got = await projected(party.id, [role], purpose, dataset.id, action);
              const expected = expectedFields(party.id, role, purpose, dataset.id, action);
              expect([...got].sort(), `${party.id} ${role} ${purpose} ${dataset.id} ${action}`).toEqual(
                [...expected].sort(),
              );
              for (const field of got) {
                expect(classification(dataset.id, field)).not.toBe('matching-only');
                if (classification(dataset.id, field) === 'special-category') {
                  const namingGrant = raw
                    .flatMap((a) => a.grants)
                    .some(
                      (g: RawAgreement) =>
                        g.purpose === purpose &&
                        g.roles.includes(role) &&
                        (g.specialCategoryFields ?? []).includes(field),
                    );
                  expect(namingGrant, `${field} reached ${role} without a grant naming it`).toBe(true);
                }
              }
              if (got.size > 0) nonEmpty += 1;
            }
          }
        }
      }
    }
    // The loop covered the whole space and found grants in it (the comparison is not vacuous).
    expect(combinations).toBe(parties.length * allRoles.length * purposes.length * datasets.length * ACTIONS.length);
    expect(nonEmpty).toBeGreaterThan(20);
  });

  it('gives a caller with any set of roles the union of what each role is granted', async () => {
    const combination = fc.record({
      party: fc.constantFrom(...parties),
      roles: fc.subarray(allRoles, { minLength: 1 }),
      purpose: fc.constantFrom(...purposes),
      dataset: fc.constantFrom(...datasets.map((d) => d.id)),
      action: fc.constantFrom(...ACTIONS),
    });
    await fc.assert(
      fc.asyncProperty(combination, async ({ party, roles, purpose, dataset, action }) => {
        const got = await projected(party.id, roles, purpose, dataset, action);
        const union = new Set(roles.flatMap((role) => [...expectedFields(party.id, role, purpose, dataset, action)]));
        expect([...got].sort()).toEqual([...union].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('never returns a column that is not a granted field, whatever the record holds', async () => {
    const decision = await decide(
      {
        caller: { partyId: 'la-housing', clientId: 'c', roles: ['housing-officer', 'senior-officer'] },
        purpose: 'homelessness-prevention',
        datasets: [],
        subject: { subjectKey: 'k' },
        action: 'lookup',
      },
      deps,
    );
    const granted = decision.allow ? decision.fields.get('multiple-disadvantage-indicators') : undefined;
    await fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }), fc.jsonValue()), (extra) => {
        const record = { ...extra, ...fullRecord('multiple-disadvantage-indicators') };
        for (const key of Object.keys(projectRecord(decision, 'multiple-disadvantage-indicators', record))) {
          expect(granted?.has(key)).toBe(true);
        }
      }),
    );
  });
});

describe('projectRecord', () => {
  const allow = () =>
    decide(
      {
        caller: { partyId: 'keyways-registered-providers', clientId: 'c', roles: ['rp-lettings'] },
        purpose: 'housing-allocation',
        datasets: [],
        subject: { subjectKey: 'k' },
        action: 'lookup',
      },
      deps,
    );

  it('copies granted fields only, leaving out those the record lacks', async () => {
    const projectedRecord = projectRecord(await allow(), 'keyways-housing-register', {
      firstName: 'A',
      lastName: 'B',
      nationalInsuranceNumber: 'QQ123456C',
      multiAgencyPublicProtectionArrangements: 'x',
    });
    expect(projectedRecord).toEqual({ firstName: 'A', lastName: 'B' });
  });

  it('refuses a denied decision', async () => {
    const denied = await decide(
      {
        caller: { partyId: 'icf-research', clientId: 'c', roles: ['researcher'] },
        purpose: undefined,
        datasets: [],
        subject: null,
        action: 'lookup',
      },
      deps,
    );
    expect(() => projectRecord(denied, 'housing-first-participant-contacts', { name: 'A' })).toThrowError(
      ProjectionError,
    );
  });

  it('refuses a dataset the decision does not cover', async () => {
    let thrown: unknown;
    try {
      projectRecord(await allow(), 'multiple-disadvantage-indicators', { firstName: 'A' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'ProjectionError', code: 'dataset-not-in-decision' });
  });

  it('refuses a decision that returns no data (an upload)', async () => {
    const upload = await decide(
      {
        caller: { partyId: 'la-education', clientId: 'c', roles: [] },
        purpose: undefined,
        datasets: ['multiple-disadvantage-indicators'],
        subject: null,
        action: 'upload',
      },
      deps,
    );
    expect(() => projectRecord(upload, 'multiple-disadvantage-indicators', { nhsNumber: '1' })).toThrowError(
      /grants no fields/,
    );
  });
});
