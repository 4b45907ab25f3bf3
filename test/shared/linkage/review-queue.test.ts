import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { linkPeople } from '../../../shared/linkage/link-people.js';
import { decideCandidate, listCandidates } from '../../../shared/linkage/review-queue.js';
import { readStoreSources } from '../../../shared/linkage/store-sources.js';
import type { RecordBatch } from '../../../shared/matching/record.js';
import { storedKeyVersions } from '../../../shared/people/stored-key-versions.js';
import {
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretSource,
} from '../../../shared/secrets/secret-source.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { JONATHANS, nhs, openCandidateNamed, personOf, reviewLinkDeps } from '../../support/linked-people.js';

const DATASET = 'multiple-disadvantage-indicators';
const AGREEMENT = 'social-care-education-housing';

const { housing, socialCare } = JONATHANS;

/** Loads the two Jonathans and links them, so the pair is proposed to the review queue. */
async function loadJonathans(
  h: ImportHarness,
  deps: Parameters<typeof linkPeople>[0],
  extracts: { housing: string; socialCare: string } = { housing, socialCare },
): Promise<void> {
  expect((await h.importFile(`la-housing/${DATASET}/a.csv`, extracts.housing)).outcome).toBe('loaded');
  expect((await h.importFile(`la-childrens-social-care/${DATASET}/a.csv`, extracts.socialCare)).outcome).toBe('loaded');
  await linkPeople(deps, AGREEMENT, 'full');
}

describe('the review queue of the probabilistic tier', () => {
  let h: ImportHarness;
  // Every plausible pair becomes a candidate, so the queue has a known pair.
  const deps = () => reviewLinkDeps(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');
  const openCandidates = async () => (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates;
  const jonathanCandidate = () => openCandidateNamed(h, 'Jonathan');

  beforeAll(async () => {
    h = await createImportHarness();
    await loadJonathans(h, deps());
  });
  afterAll(async () => h.close());

  it('proposes the pair as a candidate and does not use it until confirmed', async () => {
    const candidate = await jonathanCandidate();
    expect(candidate).toBeDefined();
    expect(candidate).toMatchObject({ tier: 5, status: 'candidate' });
    expect(await jonathanOf('la-housing')).not.toBe(await jonathanOf('la-childrens-social-care'));
  });

  it('lists candidates most probable first, page by page, each once', async () => {
    const all = await openCandidates();
    expect(all.length).toBeGreaterThanOrEqual(2);
    const scores = all.map((c) => c.score!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const paged: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 1, after });
      paged.push(...page.candidates.map((c) => c.candidateId));
      if (page.next === null) break;
      after = page.next;
    }
    expect(paged).toEqual(all.map((c) => c.candidateId));
  });

  it('remembers a rejection: the pair is not proposed again when everything is linked again', async () => {
    const candidate = (await jonathanCandidate())!;
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-1' };
    const outcome = await decideCandidate(deps(), candidate, { decision: 'rejected', by, at: new Date() });
    expect(outcome.outcome).toBe('decided');
    // A second decision on the same candidate changes nothing.
    expect((await decideCandidate(deps(), candidate, { decision: 'confirmed', by, at: new Date() })).outcome).toBe(
      'not-open',
    );

    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesRejectedEarlier).toBeGreaterThanOrEqual(1);
    expect(await jonathanCandidate()).toBeUndefined();
    expect(await jonathanOf('la-housing')).not.toBe(await jonathanOf('la-childrens-social-care'));
  });

  it('joins the two people when an officer confirms, and keeps the link through later runs', async () => {
    await h.store.db.deleteFrom('link_decision').execute();
    await linkPeople(deps(), AGREEMENT, 'full');
    const candidate = (await jonathanCandidate())!;
    expect(candidate).toBeDefined();
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-2' };
    const outcome = await decideCandidate(deps(), candidate, { decision: 'confirmed', by, at: new Date() });
    expect(outcome.outcome).toBe('decided');
    const joined = await jonathanOf('la-housing');
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);

    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesConfirmedEarlier).toBeGreaterThanOrEqual(1);
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
    const decision = await h.store.db.selectFrom('link_decision').selectAll().executeTakeFirstOrThrow();
    expect(decision).toMatchObject({ decision: 'confirmed', client_id: 'test-reviewer', request_id: 'r-2' });
  });

  it("keeps the officer's decision when the pseudonymisation key is rotated", async () => {
    const joined = await jonathanOf('la-housing');
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
    h.secrets.rotate('pseudonymisation-key');
    // A source re-sends under the new key; then everything is linked again.
    expect(
      (await h.importFile(`la-housing/${DATASET}/b.csv`, `${housing}\nAmy,Lee,1990-01-01,ME1 1AA,N`)).outcome,
    ).toBe('loaded');
    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesConfirmedEarlier).toBeGreaterThanOrEqual(1);
    expect(await jonathanCandidate()).toBeUndefined();
    expect(await jonathanOf('la-childrens-social-care')).toBe(await jonathanOf('la-housing'));
  });
});

// The pair key exactly as releases before 2 December 2026 made it.
const oldFingerprint = (key: Buffer, b: RecordBatch, i: number) => {
  const parts = [
    b.sourceId,
    b.givenName[i],
    b.familyName[i],
    b.dob[i],
    b.postcode[i],
    b.address[i],
    b.nhsHash[i],
    b.upnHash[i],
    b.niHash[i],
    ...[...b.systemIds.keys()].sort().map((s) => `${s}=${b.systemIds.get(s)![i]}`),
  ];
  return createHmac('sha256', key)
    .update(`record\u0000${parts.join('\u0000')}`)
    .digest('hex');
};
const oldPairKey = (key: Buffer, a: string, b: string) => {
  const [x, y] = a < b ? [a, b] : [b, a];
  return createHmac('sha256', key).update(`pair\u0000${x}\u0000${y}`).digest('hex');
};

describe('a decision an earlier release keyed (under the pseudonymisation key, identifiers included)', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');
  const jonathan = () => openCandidateNamed(h, 'Jonathan');

  beforeAll(async () => {
    h = await createImportHarness();
    await loadJonathans(h, deps());
  });
  afterAll(async () => h.close());

  it('is still honoured after the upgrade, and kept under the key of today', async () => {
    const candidate = (await jonathan())!;
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-5' };
    await decideCandidate(deps(), candidate, { decision: 'confirmed', by, at: new Date() });
    const today = candidate.pairKey!;
    // Put the decision back as the earlier release stored it: under its key, and that only.
    await h.store.db.deleteFrom('link_decision').where('pair_key', '!=', today).execute();
    await h.store.db.updateTable('record_link').set({ identity_key: null }).execute();
    const secret = await h.secrets.get('pseudonymisation-key');
    const key = Buffer.from(secret.value, 'base64');
    const { sources } = await readStoreSources(h.store.db, [DATASET], secret.version, h.store.dialect);
    const fingerprint = (party: string) => {
      const source = sources.find((s) => s.id.startsWith(`${party}/`))!;
      return oldFingerprint(key, source.batch, source.batch.givenName.indexOf('JONATHAN'));
    };
    const old = oldPairKey(key, fingerprint('la-housing'), fingerprint('la-childrens-social-care'));
    await h.store.db.updateTable('link_decision').set({ pair_key: old }).execute();
    await h.store.db.updateTable('record_link').set({ pair_key: old }).where('status', '=', 'confirmed').execute();

    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesConfirmedEarlier).toBe(1);
    expect(await jonathan()).toBeUndefined();
    expect(await jonathanOf('la-housing')).toBe(await jonathanOf('la-childrens-social-care'));
    // Kept under today's key, and (a confirmation) under the pair's identity key as well.
    const keys = await h.store.db
      .selectFrom('link_decision')
      .select(['pair_key', 'agreement_id'])
      .orderBy('pair_key')
      .execute();
    expect(keys.map((k) => k.pair_key)).toEqual([today, candidate.identityKey!].sort());
    // The copy keeps the agreement whose grant allowed the decision.
    expect(keys.map((k) => k.agreement_id)).toEqual([AGREEMENT, AGREEMENT]);
  });
});

/**
 * The README: a decision is kept "nor after a rotation of pseudonymisation-key (a decision an
 * earlier release keyed under that key is recognised, and re-keyed, when its pair is next
 * proposed)". Such a decision was keyed under the pseudonymisation key of its day, over the
 * identifier hashes made under it. The key is rotated before any pass has proposed the pair again
 * (one not proposed since the upgrade, or an upgrade and a rotation in one release window); no
 * source has re-sent, so both records still hold their hashes under the old version: Housing's
 * Jonathan an NHS number, social care's a system id, in the key as that release made it.
 */
describe('a decision an earlier release keyed, when the pseudonymisation key is rotated before a pass finds it', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');
  const jonathan = () => openCandidateNamed(h, 'Jonathan');

  const extracts = {
    housing: [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      `Jonathan,Smyth,2012-03-04,ME14 1XX,${nhs(310)},Y`,
      `Mary,Green,1980-05-06,ME15 2YY,${nhs(311)},N`,
    ].join('\n'),
    socialCare: [
      'firstName,lastName,dateOfBirth,homePostcode,socialCareSystemId,childProtection',
      'Jonathan,Smith,2012-03-04,ME14 1XX,SC-310,Y',
      'Peter,Green,1979-07-08,ME15 2YY,SC-311,N',
    ].join('\n'),
  };

  beforeEach(async () => {
    h = await createImportHarness();
    await loadJonathans(h, deps(), extracts);
  });
  afterEach(async () => h.close());

  /** The officer's decision on the Jonathans, put back as an earlier release kept it (before 0018); then the key rotated. */
  async function decidedByAnEarlierRelease(decision: 'confirmed' | 'rejected'): Promise<string> {
    const candidate = (await jonathan())!;
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-11' };
    expect((await decideCandidate(deps(), candidate, { decision, by, at: new Date() })).outcome).toBe('decided');
    const today = candidate.pairKey!;
    await h.store.db.deleteFrom('link_decision').where('pair_key', '!=', today).execute();
    await h.store.db.updateTable('record_link').set({ identity_key: null }).execute();
    const secret = await h.secrets.get('pseudonymisation-key');
    const key = Buffer.from(secret.value, 'base64');
    const { sources } = await readStoreSources(h.store.db, [DATASET], secret.version, h.store.dialect);
    const fingerprint = (party: string) => {
      const source = sources.find((s) => s.id.startsWith(`${party}/`))!;
      return oldFingerprint(key, source.batch, source.batch.givenName.indexOf('JONATHAN'));
    };
    const old = oldPairKey(key, fingerprint('la-housing'), fingerprint('la-childrens-social-care'));
    await h.store.db
      .updateTable('link_decision')
      .set({ pair_key: old, identity_key: null, print_a: null, print_b: null })
      .execute();
    await h.store.db.updateTable('record_link').set({ pair_key: old }).where('pair_key', '=', today).execute();
    h.secrets.rotate('pseudonymisation-key');
    return today;
  }

  it('a rejection keeps the pair apart and out of the queue, and is kept under the key of today', async () => {
    const today = await decidedByAnEarlierRelease('rejected');
    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesRejectedEarlier).toBe(1);
    expect(await jonathan()).toBeUndefined();
    expect(await jonathanOf('la-housing')).not.toBe(await jonathanOf('la-childrens-social-care'));
    const keys = await h.store.db.selectFrom('link_decision').select('pair_key').execute();
    expect(keys.map((k) => k.pair_key)).toEqual([today]);
  });

  it('a confirmation keeps the two records one person, and is kept under the key of today', async () => {
    const today = await decidedByAnEarlierRelease('confirmed');
    const summary = await linkPeople(deps(), AGREEMENT, 'full');
    expect(summary.candidatesConfirmedEarlier).toBe(1);
    expect(await jonathan()).toBeUndefined();
    expect(await jonathanOf('la-housing')).toBe(await jonathanOf('la-childrens-social-care'));
    const keys = await h.store.db.selectFrom('link_decision').select('pair_key').execute();
    expect(keys.map((k) => k.pair_key)).toContain(today);
  });

  /** The key versions a pass asked the secrets port for by version, and a port that answers as `h.secrets` unless `old` throws. */
  function secretsWatched(old?: { version: string; error: () => Error }) {
    const asked: string[] = [];
    const secrets: SecretSource = {
      get: async (name, version) => {
        if (version !== undefined) asked.push(version);
        if (old !== undefined && version === old.version) throw old.error();
        return h.secrets.get(name, version);
      },
    };
    return { asked, secrets };
  }

  it('asks for no older key version when every decision held was made since 2 December: none can be keyed under one', async () => {
    const candidate = (await jonathan())!;
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-12' };
    expect((await decideCandidate(deps(), candidate, { decision: 'rejected', by, at: new Date() })).outcome).toBe(
      'decided',
    );
    const old = (await h.secrets.get('pseudonymisation-key')).version;
    h.secrets.rotate('pseudonymisation-key');
    const { asked, secrets } = secretsWatched();
    const summary = await linkPeople({ ...deps(), secrets }, AGREEMENT, 'full');
    expect(summary.candidatesRejectedEarlier).toBe(1);
    expect(asked).not.toContain(old);
  });

  it('logs an older key version gone from Key Vault once, not at every pass', async () => {
    await decidedByAnEarlierRelease('rejected');
    const [old] = await storedKeyVersions(h.store);
    const { asked, secrets } = secretsWatched({
      version: old!,
      error: () => new SecretVersionGoneError('pseudonymisation-key'),
    });
    const gone = () => h.logLines.filter((line) => line.includes('"link.legacy-key-version-gone"')).length;
    await linkPeople({ ...deps(), secrets }, AGREEMENT, 'full');
    await linkPeople({ ...deps(), secrets }, AGREEMENT, 'full');
    expect(asked.filter((version) => version === old)).toHaveLength(2);
    expect(gone()).toBe(1);
  });

  it('fails the pass, to be retried, when an older key version cannot be read for any other reason', async () => {
    await decidedByAnEarlierRelease('rejected');
    const [old] = await storedKeyVersions(h.store);
    const { secrets } = secretsWatched({
      version: old!,
      error: () => new SecretUnavailableError('pseudonymisation-key'),
    });
    await expect(linkPeople({ ...deps(), secrets }, AGREEMENT, 'full')).rejects.toBeInstanceOf(SecretUnavailableError);
  });
});

describe('a confirmation when one of its two records moves house', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');
  /** Housing's extract with its Jonathan as `line` (names, date of birth, postcode). */
  const housingWith = (line: string) => housing.replace('Jonathan,Smyth,2012-03-04,ME14 1XX', line);

  beforeAll(async () => {
    h = await createImportHarness();
    await loadJonathans(h, deps());
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r-6' };
    await decideCandidate(deps(), (await openCandidateNamed(h, 'Jonathan'))!, {
      decision: 'confirmed',
      by,
      at: new Date(),
    });
    expect(await jonathanOf('la-childrens-social-care')).toBe(await jonathanOf('la-housing'));
  });
  afterAll(async () => h.close());

  it('is kept: the two records stay one person, and the pair is not asked about again', async () => {
    const joined = await jonathanOf('la-housing');
    expect(
      (await h.importFile(`la-housing/${DATASET}/b.csv`, housingWith('Jonathan,Smyth,2012-03-04,ME16 8ZZ'))).outcome,
    ).toBe('loaded');
    const summary = await linkPeople(deps(), AGREEMENT, 'incremental');
    expect(summary).toMatchObject({ candidatesConfirmedEarlier: 1 });
    expect(await openCandidateNamed(h, 'Jonathan')).toBeUndefined();
    expect(await jonathanOf('la-housing')).toBe(joined);
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
  });

  it('is asked again once a name or the date of birth changes: that is what the officer judged', async () => {
    expect(
      (await h.importFile(`la-housing/${DATASET}/c.csv`, housingWith('Jonathan,Smythe,2012-03-04,ME16 8ZZ'))).outcome,
    ).toBe('loaded');
    const summary = await linkPeople(deps(), AGREEMENT, 'incremental');
    expect(summary).toMatchObject({ candidatesConfirmedEarlier: 0 });
    expect(await openCandidateNamed(h, 'Jonathan')).toMatchObject({ status: 'candidate' });
    expect(await jonathanOf('la-housing')).not.toBe(await jonathanOf('la-childrens-social-care'));
  });
});

describe('a pair rejected at one address, confirmed once a record had moved, and moved back', () => {
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const jonathanOf = (party: string) => personOf(h, party, 'JONATHAN');
  const decide = async (decision: 'confirmed' | 'rejected', requestId: string) => {
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId };
    const candidate = await openCandidateNamed(h, 'Jonathan');
    expect(candidate).toBeDefined();
    expect((await decideCandidate(deps(), candidate!, { decision, by, at: new Date() })).outcome).toBe('decided');
  };
  // Mary's arrears change each time, so that no extract repeats an earlier one byte for byte.
  const housingAt = async (file: string, postcode: string, maryInArrears: 'Y' | 'N') => {
    const extract = housing
      .replace('Jonathan,Smyth,2012-03-04,ME14 1XX', `Jonathan,Smyth,2012-03-04,${postcode}`)
      .replace('ME15 2YY,N', `ME15 2YY,${maryInArrears}`);
    expect((await h.importFile(`la-housing/${DATASET}/${file}`, extract)).outcome).toBe('loaded');
    return linkPeople(deps(), AGREEMENT, 'incremental');
  };

  beforeAll(async () => {
    h = await createImportHarness();
    await loadJonathans(h, deps());
  });
  afterAll(async () => h.close());

  it('stays confirmed: the later decision holds', async () => {
    await decide('rejected', 'r-9');
    // New evidence: proposed again, and confirmed.
    await housingAt('b.csv', 'ME16 8ZZ', 'N');
    await decide('confirmed', 'r-10');
    const joined = await jonathanOf('la-housing');
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
    // Back at the address of the rejection.
    const summary = await housingAt('c.csv', 'ME14 1XX', 'Y');
    expect(summary).toMatchObject({ candidatesConfirmedEarlier: 1, candidatesRejectedEarlier: 0 });
    expect(await openCandidateNamed(h, 'Jonathan')).toBeUndefined();
    expect(await jonathanOf('la-housing')).toBe(joined);
    expect(await jonathanOf('la-childrens-social-care')).toBe(joined);
  });
});

/**
 * Social care's Jonathan Smith holds an NHS number; adult social care's Jonathan Smyth holds the
 * same one (tier 1 to social care) and matches housing's Jonathan Smyth on date of birth and
 * names (tier 3). An officer has said housing's and social care's Jonathans are two people.
 */
describe('a rejected pair that a third record links to both', () => {
  const NHS = nhs(300);
  const socialCareWithNhs = [
    'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,childProtection',
    `Jonathan,Smith,2012-03-04,ME14 1XX,${NHS},Y`,
    'Peter,Green,1979-07-08,ME15 2YY,,N',
  ].join('\n');
  const adultSocialCare = [
    'firstName,lastName,dateOfBirth,homePostcode,nhsNumber',
    `Jonathan,Smyth,2012-03-04,ME14 1XX,${NHS}`,
  ].join('\n');
  let h: ImportHarness;
  const deps = () => reviewLinkDeps(h);
  const jonathans = async () => ({
    housing: await personOf(h, 'la-housing', 'JONATHAN'),
    socialCare: await personOf(h, 'la-childrens-social-care', 'JONATHAN'),
    adult: await personOf(h, 'la-adult-social-care', 'JONATHAN'),
  });
  const reject = async (requestId: string) => {
    const by = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId };
    const outcome = await decideCandidate(deps(), (await openCandidateNamed(h, 'Jonathan'))!, {
      decision: 'rejected',
      by,
      at: new Date(),
    });
    expect(outcome.outcome).toBe('decided');
  };

  beforeEach(async () => {
    h = await createImportHarness();
    await loadJonathans(h, deps(), { housing, socialCare: socialCareWithNhs });
  });
  afterEach(async () => h.close());

  it('keeps the rejected two apart when the third record arrives: the weaker link gives way', async () => {
    await reject('r-7');
    expect((await h.importFile(`la-adult-social-care/${DATASET}/a.csv`, adultSocialCare)).outcome).toBe('loaded');
    const summary = await linkPeople(deps(), AGREEMENT, 'incremental');
    const ids = await jonathans();
    // The NHS number (tier 1) holds; date of birth + names (tier 3) to housing is refused.
    expect(ids.adult).toBe(ids.socialCare);
    expect(ids.housing).not.toBe(ids.socialCare);
    expect(summary.refusedMerges).toMatchObject({ 'rejected-pair': 1 });
    // The same again from scratch: the same people.
    const again = await linkPeople(deps(), AGREEMENT, 'full');
    expect(again.personIdsChanged).toBe(0);
    expect(await jonathans()).toEqual(ids);
  });

  it('parts the three when the rejection comes after they were made one person', async () => {
    expect((await h.importFile(`la-adult-social-care/${DATASET}/a.csv`, adultSocialCare)).outcome).toBe('loaded');
    await linkPeople(deps(), AGREEMENT, 'incremental');
    const before = await jonathans();
    expect(new Set(Object.values(before)).size).toBe(1);
    await reject('r-8');
    const ids = await jonathans();
    expect(ids.adult).toBe(ids.socialCare);
    expect(ids.housing).not.toBe(ids.socialCare);
  });

  it('does not keep apart two records that come to hold one NHS number: that says more than names', async () => {
    await reject('r-11');
    const withNhs = [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inRentArrears',
      `Jonathan,Smyth,2012-03-04,ME14 1XX,${NHS},Y`,
      'Mary,Green,1980-05-06,ME15 2YY,,N',
    ].join('\n');
    expect((await h.importFile(`la-housing/${DATASET}/b.csv`, withNhs)).outcome).toBe('loaded');
    const summary = await linkPeople(deps(), AGREEMENT, 'incremental');
    expect(summary.refusedMerges).not.toHaveProperty('rejected-pair');
    expect(await personOf(h, 'la-housing', 'JONATHAN')).toBe(await personOf(h, 'la-childrens-social-care', 'JONATHAN'));
  });
});
