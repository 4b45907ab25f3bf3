import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { decide } from '../../../shared/policy/decide.js';
import type { DecisionInput } from '../../../shared/policy/decide.js';
import type { Decision, PolicyAction } from '../../../shared/policy/decision.js';
import { projectRecord } from '../../../shared/policy/project.js';
import {
  AGREEMENT_FILES,
  AGREEMENTS_DIR,
  agreementsFolderWithout,
  changedAgreementText,
} from '../agreements/agreement-files.js';
import { InMemoryConsents } from './in-memory-consents.js';

const agreements = loadAgreements(AGREEMENTS_DIR, { now: new Date('2026-03-01') });

function setup() {
  let clock = new Date('2026-03-02T09:00:00Z');
  const consents = new InMemoryConsents();
  const deps = { agreements, consents, now: () => clock };
  const tick = () => {
    clock = new Date(clock.getTime() + 60_000);
    return clock;
  };
  const ask = (
    partyId: string,
    roles: string[],
    purpose: string | undefined,
    options: { action?: PolicyAction; datasets?: string[]; subjectKey?: string | null } = {},
  ): Promise<Decision> => {
    const input: DecisionInput = {
      caller: { partyId, clientId: `client-of-${partyId}`, roles },
      purpose,
      datasets: options.datasets ?? [],
      subject:
        options.subjectKey === null || options.subjectKey === undefined ? null : { subjectKey: options.subjectKey },
      action: options.action ?? 'lookup',
    };
    return decide(input, deps);
  };
  return { consents, ask, tick, now: () => clock };
}

const fieldsOf = (decision: Decision, dataset: string): string[] =>
  decision.allow ? [...(decision.fields.get(dataset) ?? [])] : [];

describe('decide: who is asking', () => {
  it('denies a party no agreement knows', async () => {
    const { ask } = setup();
    expect(await ask('acme-lettings', ['rp-lettings'], 'housing-allocation')).toMatchObject({
      allow: false,
      reason: 'party-unknown',
      partyId: null,
    });
  });
});

describe('decide: purpose', () => {
  it.each([undefined, '', '   '])(
    'denies a request that states no purpose (%j) with purpose-required',
    async (purpose) => {
      const { ask } = setup();
      expect(await ask('kettering-borough-council', ['housing-officer'], purpose)).toMatchObject({
        allow: false,
        reason: 'purpose-required',
      });
    },
  );

  it('denies a purpose no agreement defines, without echoing it', async () => {
    const { ask } = setup();
    const decision = await ask('kettering-borough-council', ['housing-officer'], 'marketing');
    expect(decision).toMatchObject({ allow: false, reason: 'purpose-unknown', purpose: null });
    expect(JSON.stringify(decision)).not.toContain('marketing');
  });

  it('denies a purpose of another agreement with purpose-not-permitted', async () => {
    const { ask } = setup();
    expect(await ask('icf-research', ['researcher'], 'housing-allocation')).toMatchObject({
      allow: false,
      reason: 'purpose-not-permitted',
    });
    expect(await ask('kettering-borough-council', ['housing-officer'], 'research-evaluation')).toMatchObject({
      allow: false,
      reason: 'purpose-not-permitted',
    });
  });

  it('denies a purpose of the same agreement not granted to the party', async () => {
    const { ask } = setup();
    expect(
      await ask('keyways-registered-providers', ['rp-lettings'], 'fraud-prevention', { action: 'duplicate-check' }),
    ).toMatchObject({
      allow: false,
      reason: 'purpose-not-permitted',
      agreementId: 'keyways-housing-allocation',
    });
  });
});

describe('decide: role and action', () => {
  it('denies a role of the party that holds no grant for the purpose', async () => {
    const { ask } = setup();
    expect(await ask('la-housing', ['dpo'], 'homelessness-prevention')).toMatchObject({
      allow: false,
      reason: 'role-not-permitted',
    });
  });

  it('ignores a role the token claims but the party does not hold', async () => {
    // A grant that lists both a registered provider and a council, with a role only the
    // council holds: a provider's token claiming that role must not reach the grant through it.
    const dir = mkdtempSync(join(tmpdir(), 'lintel-decide-'));
    try {
      writeFileSync(
        join(dir, AGREEMENT_FILES.keyways),
        changedAgreementText('keyways', (a) => {
          const grant = a.grants.find((g: { roles: string[] }) => g.roles.includes('rp-lettings'));
          grant.roles = ['rp-lettings', 'senior-officer'];
          grant.parties = ['keyways-registered-providers', 'kettering-borough-council'];
        }),
      );
      const deps = {
        agreements: loadAgreements(dir, { now: new Date('2026-03-01') }),
        consents: new InMemoryConsents(),
        now: () => new Date('2026-03-02T09:00:00Z'),
      };
      const asked = (partyId: string, roles: string[]) =>
        decide(
          {
            caller: { partyId, clientId: `client-of-${partyId}`, roles },
            purpose: 'housing-allocation',
            datasets: [],
            subject: null,
            action: 'lookup',
          },
          deps,
        );
      expect(await asked('keyways-registered-providers', ['senior-officer'])).toMatchObject({
        allow: false,
        reason: 'role-not-permitted',
      });
      // The same claim from the party that holds the role is granted.
      expect(await asked('kettering-borough-council', ['senior-officer'])).toMatchObject({ allow: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('allows duplicate checks under fraud-prevention, but not lookups', async () => {
    const { ask } = setup();
    expect(
      await ask('corby-borough-council', ['housing-officer'], 'fraud-prevention', { action: 'lookup' }),
    ).toMatchObject({
      allow: false,
      reason: 'action-not-permitted',
    });
    const check = await ask('corby-borough-council', ['housing-officer'], 'fraud-prevention', {
      action: 'duplicate-check',
    });
    expect(fieldsOf(check, 'keyways-housing-register')).toEqual([
      'firstName',
      'lastName',
      'dateOfBirth',
      'nationalInsuranceNumber',
      'address',
    ]);
  });

  it('shows a reviewer the identity items of a candidate, never the indicators', async () => {
    const { ask } = setup();
    const review = await ask('la-housing', ['reviewer'], 'homelessness-prevention', {
      action: 'review',
      subjectKey: 'candidate-1',
    });
    expect(fieldsOf(review, 'multiple-disadvantage-indicators')).toEqual([
      'firstName',
      'lastName',
      'dateOfBirth',
      'gender',
      'homeAddress',
      'homePostcode',
    ]);
    expect(await ask('la-housing', ['reviewer'], 'homelessness-prevention', { action: 'lookup' })).toMatchObject({
      reason: 'action-not-permitted',
    });
  });
});

describe('decide: datasets and fields', () => {
  it('denies a dataset outside the grant, naming it', async () => {
    const { ask } = setup();
    expect(
      await ask('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
        datasets: ['multiple-disadvantage-indicators'],
      }),
    ).toMatchObject({ allow: false, reason: 'dataset-not-permitted', datasets: ['multiple-disadvantage-indicators'] });
  });

  it('denies a dataset no agreement defines', async () => {
    const { ask } = setup();
    expect(
      await ask('kettering-borough-council', ['housing-officer'], 'housing-allocation', { datasets: ['council-tax'] }),
    ).toMatchObject({
      allow: false,
      reason: 'dataset-unknown',
      datasets: [],
    });
  });

  it('covers every granted dataset when none is named, and carries the lawful basis', async () => {
    const { ask } = setup();
    const decision = await ask('kettering-borough-council', ['housing-officer'], 'housing-allocation');
    expect(decision).toMatchObject({
      allow: true,
      reason: 'granted',
      agreementId: 'keyways-housing-allocation',
      agreementVersion: '1.1.0',
      purpose: 'housing-allocation',
      datasets: ['keyways-housing-register'],
      lawfulBasis: { article6: ['6(1)(c)', '6(1)(e)'], article9: ['9(2)(g)'] },
      subjectConditions: 'not-applicable',
    });
  });

  it('gives a caller holding several roles the union of their grants', async () => {
    const { ask } = setup();
    const officer = fieldsOf(
      await ask('wellingborough-borough-council', ['housing-officer'], 'housing-allocation'),
      'keyways-housing-register',
    );
    const senior = fieldsOf(
      await ask('wellingborough-borough-council', ['senior-officer'], 'housing-allocation'),
      'keyways-housing-register',
    );
    const both = await ask(
      'wellingborough-borough-council',
      ['housing-officer', 'senior-officer', 'dpo'],
      'housing-allocation',
    );
    expect(new Set(fieldsOf(both, 'keyways-housing-register'))).toEqual(new Set([...officer, ...senior]));
    expect(both).toMatchObject({ roles: ['housing-officer', 'senior-officer'] });
  });

  it('keeps MAPPA for senior officers and marks it special-category', async () => {
    const { ask } = setup();
    const officer = await ask('kettering-borough-council', ['housing-officer'], 'housing-allocation');
    const senior = await ask('kettering-borough-council', ['senior-officer'], 'housing-allocation');
    expect(fieldsOf(officer, 'keyways-housing-register')).not.toContain('multiAgencyPublicProtectionArrangements');
    expect(fieldsOf(senior, 'keyways-housing-register')).toContain('multiAgencyPublicProtectionArrangements');
    expect(senior.allow && [...(senior.specialCategoryFields.get('keyways-housing-register') ?? [])]).toContain(
      'multiAgencyPublicProtectionArrangements',
    );
  });

  it('never puts a matching-only identifier in the field set', async () => {
    const { ask } = setup();
    const decision = await ask(
      'la-housing',
      ['housing-officer', 'senior-officer', 'reviewer', 'analyst'],
      'homelessness-prevention',
    );
    const fields = fieldsOf(decision, 'multiple-disadvantage-indicators');
    expect(fields).toContain('ehcp');
    for (const id of [
      'nationalInsuranceNumber',
      'nhsNumber',
      'uniquePupilNumber',
      'socialCareSystemId',
      'educationSystemId',
    ]) {
      expect(fields).not.toContain(id);
    }
  });
});

describe('decide: consent (research sharing)', () => {
  it('denies a subject without consent with consent-required', async () => {
    const { ask } = setup();
    expect(await ask('icf-research', ['researcher'], 'research-evaluation', { subjectKey: 'subject-a' })).toMatchObject(
      {
        allow: false,
        reason: 'consent-required',
        agreementId: 'housing-first-research',
      },
    );
  });

  it('allows once consent is recorded, and denies on the next call after it is withdrawn', async () => {
    const { ask, consents, now, tick } = setup();
    consents.give('subject-a', 'research-evaluation', now());
    tick();
    const granted = await ask('icf-research', ['researcher'], 'research-evaluation', { subjectKey: 'subject-a' });
    expect(granted).toMatchObject({ allow: true, subjectConditions: 'checked', subjectKey: 'subject-a' });
    expect(fieldsOf(granted, 'housing-first-participant-contacts')).toEqual([
      'name',
      'telephoneNumber',
      'email',
      'address',
    ]);

    consents.withdraw('subject-a', 'research-evaluation', now());
    tick();
    expect(await ask('icf-research', ['researcher'], 'research-evaluation', { subjectKey: 'subject-a' })).toMatchObject(
      {
        allow: false,
        reason: 'consent-required',
      },
    );
  });

  it('does not let one subject’s consent cover another', async () => {
    const { ask, consents, now, tick } = setup();
    consents.give('subject-a', 'research-evaluation', now());
    tick();
    expect(await ask('icf-research', ['researcher'], 'research-evaluation', { subjectKey: 'subject-b' })).toMatchObject(
      {
        reason: 'consent-required',
      },
    );
  });

  it('leaves the check pending before matching, and the projector refuses a pending decision', async () => {
    const { ask } = setup();
    const decision = await ask('icf-research', ['researcher'], 'research-evaluation', {
      action: 'search',
      subjectKey: null,
    });
    expect(decision).toMatchObject({ allow: true, subjectConditions: 'pending' });
    expect(() => projectRecord(decision, 'housing-first-participant-contacts', { name: 'x' })).toThrowError(
      /Decide again/,
    );
  });
});

describe('decide: national data opt-out (planning)', () => {
  it('denies an opted-out subject with opted-out', async () => {
    const { ask, consents, now, tick } = setup();
    consents.optOut('subject-c', now());
    tick();
    expect(
      await ask('la-housing', ['analyst'], 'service-planning', { action: 'export', subjectKey: 'subject-c' }),
    ).toMatchObject({
      allow: false,
      reason: 'opted-out',
    });
    expect(
      await ask('la-housing', ['analyst'], 'service-planning', { action: 'export', subjectKey: 'subject-d' }),
    ).toMatchObject({
      allow: true,
      subjectConditions: 'checked',
    });
  });

  it('does not apply the opt-out where the agreement says it does not apply', async () => {
    const { ask, consents, now, tick } = setup();
    consents.optOut('subject-c', now());
    tick();
    expect(
      await ask('la-housing', ['housing-officer'], 'homelessness-prevention', { subjectKey: 'subject-c' }),
    ).toMatchObject({
      allow: true,
      subjectConditions: 'not-applicable',
    });
  });
});

describe('decide: consent-write, upload and audit', () => {
  it('lets only the consent source record consent, for one subject', async () => {
    const { ask } = setup();
    expect(
      await ask('dudley-housing-options', ['housing-officer'], 'research-evaluation', {
        action: 'consent-write',
        subjectKey: 's',
      }),
    ).toMatchObject({
      allow: true,
      fields: new Map(),
    });
    // Decided before matching, from the agreements alone.
    expect(
      await ask('dudley-housing-options', ['housing-officer'], 'research-evaluation', { action: 'consent-write' }),
    ).toMatchObject({
      allow: true,
    });
    expect(
      await ask('dudley-housing-options', ['dpo'], 'research-evaluation', { action: 'consent-write', subjectKey: 's' }),
    ).toMatchObject({
      reason: 'role-not-permitted',
    });
    expect(
      await ask('icf-research', ['researcher'], 'research-evaluation', { action: 'consent-write', subjectKey: 's' }),
    ).toMatchObject({
      reason: 'purpose-not-permitted',
    });
    expect(
      await ask('kettering-borough-council', ['housing-officer'], 'housing-allocation', {
        action: 'consent-write',
        subjectKey: 's',
      }),
    ).toMatchObject({
      reason: 'purpose-not-permitted',
    });
  });

  // Asked only for the party that recorded the consent (the API answers anyone else 404).
  it('lets the recording consent source withdraw consent with its source roles or its DPO', async () => {
    const { ask } = setup();
    const withdraw = (roles: string[]) =>
      ask('dudley-housing-options', roles, 'research-evaluation', { action: 'consent-withdraw' });
    expect(await withdraw(['housing-officer'])).toMatchObject({ allow: true, roles: ['housing-officer'] });
    expect(await withdraw(['dpo'])).toMatchObject({ allow: true, roles: ['dpo'] });
    // A role the party does not hold in the agreement earns nothing.
    expect(await withdraw(['analyst'])).toMatchObject({ allow: false, reason: 'role-not-permitted' });
    expect(await withdraw([])).toMatchObject({ allow: false, reason: 'role-not-permitted' });
  });

  // A consent whose purpose a re-signing dropped: the API names the agreement its person is held
  // in, or the one the store remembers the purpose was (consents-api.ts, `subjectAgreementId`).
  it('decides the withdrawal of a consent whose purpose no agreement defines under the agreement it is given', async () => {
    const { now } = setup();
    const deps = { agreements, consents: new InMemoryConsents(), now };
    const withdrawal = (partyId: string, roles: string[], action: PolicyAction = 'consent-withdraw') =>
      decide(
        {
          caller: { partyId, clientId: `client-of-${partyId}`, roles },
          purpose: 'research-follow-up',
          datasets: [],
          subject: null,
          action,
          subjectAgreementId: 'housing-first-research',
        },
        deps,
      );
    expect(await withdrawal('dudley-housing-options', ['housing-officer', 'analyst'])).toEqual({
      allow: true,
      reason: 'granted',
      action: 'consent-withdraw',
      partyId: 'dudley-housing-options',
      roles: ['housing-officer'],
      agreementId: 'housing-first-research',
      agreementVersion: agreements.agreement('housing-first-research')?.agreement.version ?? null,
      agreementIds: ['housing-first-research'],
      purpose: 'research-follow-up',
      lawfulBasis: null,
      subjectKey: null,
      subjectConditions: 'not-applicable',
      datasets: [],
      fields: new Map(),
      specialCategoryFields: new Map(),
    });
    expect(await withdrawal('dudley-housing-options', ['dpo'])).toMatchObject({ allow: true, roles: ['dpo'] });
    // A role held only in another agreement earns nothing.
    expect(await withdrawal('kettering-borough-council', ['dpo'])).toMatchObject({
      allow: false,
      reason: 'role-not-permitted',
      agreementId: 'housing-first-research',
      purpose: 'research-follow-up',
    });
    // Only a withdrawal is decided without a purpose an agreement defines.
    expect(await withdrawal('dudley-housing-options', ['housing-officer'], 'consent-write')).toMatchObject({
      allow: false,
      reason: 'purpose-unknown',
      purpose: null,
    });
  });

  it('decides a withdrawal under the purpose its agreement defines, whatever agreement it is given', async () => {
    const { now } = setup();
    const decision = await decide(
      {
        caller: { partyId: 'dudley-housing-options', clientId: 'client', roles: ['housing-officer'] },
        purpose: 'research-evaluation',
        datasets: [],
        subject: null,
        action: 'consent-withdraw',
        subjectAgreementId: 'keyways-housing-allocation',
      },
      { agreements, consents: new InMemoryConsents(), now },
    );
    expect(decision).toMatchObject({
      allow: true,
      agreementId: 'housing-first-research',
      purpose: 'research-evaluation',
      lawfulBasis: agreements.purpose('research-evaluation')?.purpose.lawfulBasis,
    });
  });

  it("lets only a DPO of a party to the purpose's agreement record an opt-out, where the opt-out applies", async () => {
    const { ask } = setup();
    expect(await ask('la-housing', ['dpo'], 'service-planning', { action: 'opt-out-write' })).toMatchObject({
      allow: true,
      roles: ['dpo'],
      agreementId: 'social-care-education-housing',
    });
    // A DPO of another agreement's party: the role counts only where the party holds it.
    expect(
      await ask('kettering-borough-council', ['dpo'], 'service-planning', { action: 'opt-out-write' }),
    ).toMatchObject({ allow: false, reason: 'role-not-permitted' });
    expect(await ask('la-housing', ['analyst'], 'service-planning', { action: 'opt-out-write' })).toMatchObject({
      allow: false,
      reason: 'role-not-permitted',
    });
    expect(await ask('la-housing', ['dpo'], 'homelessness-prevention', { action: 'opt-out-write' })).toMatchObject({
      allow: false,
      reason: 'purpose-not-permitted',
    });
  });

  it('lets a party upload only the datasets it is a source of', async () => {
    const { ask } = setup();
    expect(
      await ask('la-education', [], undefined, { action: 'upload', datasets: ['multiple-disadvantage-indicators'] }),
    ).toMatchObject({
      allow: true,
      agreementId: 'social-care-education-housing',
      fields: new Map(),
    });
    expect(
      await ask('icf-research', [], undefined, { action: 'upload', datasets: ['housing-first-participant-contacts'] }),
    ).toMatchObject({
      allow: false,
      reason: 'dataset-not-permitted',
    });
  });

  it('opens the access log to the DPO of a party, for its own agreements only', async () => {
    const { ask } = setup();
    expect(await ask('kettering-borough-council', ['dpo'], undefined, { action: 'audit' })).toMatchObject({
      allow: true,
      agreementIds: ['keyways-housing-allocation'],
    });
    expect(await ask('kettering-borough-council', ['senior-officer'], undefined, { action: 'audit' })).toMatchObject({
      allow: false,
      reason: 'role-not-permitted',
    });
  });
});

describe('decide: an agreement whose file was removed (ended, not re-signed)', () => {
  const RESEARCH = 'housing-first-research';
  // Dudley signs nothing else; the store remembers the research agreement as last loaded.
  const ended = loadAgreements(agreementsFolderWithout(['housingFirst']), {
    now: new Date('2026-03-01'),
  }).withFormerAgreements({
    purposes: new Map([['research-evaluation', RESEARCH]]),
    datasets: new Map([['housing-first-participant-contacts', RESEARCH]]),
    agreements: new Map([
      [
        RESEARCH,
        {
          id: RESEARCH,
          version: '1.0.0',
          parties: [
            { id: 'dudley-housing-options', roles: ['housing-officer', 'dpo'] },
            { id: 'icf-research', roles: ['researcher'] },
          ],
          audit: { roles: ['dpo'] },
          identifierKinds: ['system-id:case-reference'],
        },
      ],
    ]),
  });
  const ask = (roles: string[], purpose: string | undefined, action: PolicyAction, subjectAgreementId?: string) =>
    decide(
      {
        caller: { partyId: 'dudley-housing-options', clientId: 'client-of-dudley', roles },
        purpose,
        datasets: [],
        subject: null,
        action,
        subjectAgreementId,
      },
      { agreements: ended, consents: new InMemoryConsents(), now: () => new Date('2026-03-02T09:00:00Z') },
    );

  // Asked only for the party that recorded the consent (the API answers anyone else 404).
  it('lets the recording party withdraw a consent taken under it, with a role it held there', async () => {
    for (const role of ['dpo', 'housing-officer']) {
      expect(await ask([role], 'research-evaluation', 'consent-withdraw', RESEARCH)).toMatchObject({
        allow: true,
        roles: [role],
        agreementId: RESEARCH,
        agreementVersion: '1.0.0',
        purpose: 'research-evaluation',
      });
    }
    expect(await ask(['researcher'], 'research-evaluation', 'consent-withdraw', RESEARCH)).toMatchObject({
      allow: false,
      reason: 'role-not-permitted',
    });
  });

  it('grants its parties nothing else', async () => {
    expect(await ask(['housing-officer'], 'research-evaluation', 'consent-write')).toMatchObject({
      allow: false,
      reason: 'party-unknown',
    });
    expect(await ask(['housing-officer', 'dpo'], 'housing-allocation', 'lookup')).toMatchObject({
      allow: false,
      reason: 'party-unknown',
    });
    expect(await ask(['dpo'], 'service-planning', 'opt-out-write')).toMatchObject({
      allow: false,
      reason: 'party-unknown',
    });
    // A current purpose's consent is no business of a party to no current agreement.
    expect(await ask(['housing-officer', 'dpo'], 'housing-allocation', 'consent-withdraw')).toMatchObject({
      allow: false,
    });
  });
});
