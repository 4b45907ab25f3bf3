import { describe, expect, it } from 'vitest';
import { datesClearlyDiffer, firstThreeColumn, linkDeterministic } from '../../../shared/matching/deterministic.js';
import { otherKeyValue } from '../../../shared/matching/hard-identifiers.js';
import { linkBatches } from '../../../shared/matching/link.js';
import type { CanonicalRecord } from '../../../shared/matching/record.js';
import { toRecordBatch } from '../../../shared/matching/record.js';

let next = 0;
function person(fields: Partial<CanonicalRecord>): CanonicalRecord {
  next++;
  return {
    recordId: `r${next}`,
    sourceId: 's',
    givenName: 'JAMES',
    familyName: 'SMITH',
    dob: '1980-01-15',
    postcode: 'ME14 1XX',
    ...fields,
  };
}

function link(left: CanonicalRecord[], right: CanonicalRecord[]) {
  const l = toRecordBatch(left, 'left').batch;
  const r = toRecordBatch(right, 'right').batch;
  const d = linkDeterministic(l, r);
  const pairs = new Map<string, { tier: number; rule: string }>();
  for (let k = 0; k < d.count; k++) {
    pairs.set(`${l.recordId[d.left[k] as number]}-${r.recordId[d.right[k] as number]}`, {
      tier: d.tier[k] as number,
      rule: d.rules[d.ruleIndex[k] as number]?.rule ?? '',
    });
  }
  return { pairs, d };
}

describe('deterministic tiers', () => {
  it('gives each pair the tier of the rule that links it', () => {
    const cases: [string, Partial<CanonicalRecord>, Partial<CanonicalRecord>, number, string][] = [
      [
        'nhs',
        { nhsHash: 'n1', givenName: 'ANNA', dob: '1970-01-01', postcode: 'CT1 1AA' },
        { nhsHash: 'n1', givenName: 'PETER', dob: '1990-02-02', postcode: 'TN1 1AA' },
        1,
        'nhs',
      ],
      [
        'upn',
        { upnHash: 'u1', givenName: 'ANNA', dob: '2010-01-01' },
        { upnHash: 'u1', givenName: 'BELLA', dob: '2011-01-01' },
        1,
        'upn',
      ],
      [
        'system id',
        { systemIds: [{ system: 'mosaic', idHash: 'm1' }], dob: '1970-01-01' },
        { systemIds: [{ system: 'mosaic', idHash: 'm1' }], dob: '1971-01-01', postcode: 'CT1 1AA' },
        2,
        'system:mosaic',
      ],
      ['ni', { niHash: 'ni1', dob: '1970-01-01' }, { niHash: 'ni1', dob: '1971-01-01', postcode: 'CT1 1AA' }, 2, 'ni'],
      [
        'dob + name',
        { givenName: 'JAMES', postcode: 'CT1 1AA' },
        { givenName: 'JAMIE', postcode: 'TN2 2BB' },
        3,
        'dob-name',
      ],
      [
        'postcode + name',
        { givenName: 'JAMES', dob: '1980-01-15' },
        { givenName: 'JAMES', dob: '1980-01-16' },
        4,
        'postcode-name',
      ],
    ];
    for (const [, a, b, tier, rule] of cases) {
      const l = person(a);
      const r = person(b);
      const { pairs } = link([l], [r]);
      expect(pairs.get(`${l.recordId}-${r.recordId}`), rule).toEqual({ tier, rule });
    }
  });

  it('uses the most reliable rule when several link the same pair', () => {
    const l = person({ nhsHash: 'n9', upnHash: 'u9', niHash: 'x9' });
    const r = person({ nhsHash: 'n9', upnHash: 'u9', niHash: 'x9' });
    const { pairs, d } = link([l], [r]);
    expect(pairs.get(`${l.recordId}-${r.recordId}`)).toEqual({ tier: 1, rule: 'nhs' });
    expect(d.count).toBe(1);
  });

  it('does not link on a date of birth + name key that twins share', () => {
    const twinA = person({ givenName: 'JACK', postcode: 'CT1 1AA' });
    const twinB = person({ givenName: 'JACOB', postcode: 'CT1 1AA' });
    const other = person({ givenName: 'JACK', postcode: 'TN9 9ZZ' });
    const { d } = link([twinA, twinB], [other]);
    expect(d.count).toBe(0);
    expect(d.rules.find((r) => r.rule === 'dob-name')?.ambiguousKeys).toBe(1);
  });

  it('does not link on a postcode + name key held by two different people', () => {
    const l = person({ givenName: 'JOHN', dob: '1950-05-05' });
    const r1 = person({ givenName: 'JOHN', dob: '1950-05-06' });
    const r2 = person({ givenName: 'JOHNNY', dob: '1950-05-07' });
    const { d } = link([l], [r1, r2]);
    expect(d.count).toBe(0);
  });

  it('links the remaining twin once the other is linked by NHS number', () => {
    const l1 = person({ givenName: 'JACK', nhsHash: 'a' });
    const l2 = person({ givenName: 'JACOB', nhsHash: 'b' });
    const r1 = person({ givenName: 'JACK', nhsHash: 'a' });
    const r2 = person({ givenName: 'JACOB' });
    const { pairs } = link([l1, l2], [r1, r2]);
    expect(pairs.get(`${l1.recordId}-${r1.recordId}`)?.tier).toBe(1);
    expect(pairs.get(`${l2.recordId}-${r2.recordId}`)?.tier).toBe(3);
  });

  it('never links records whose NHS numbers, UPNs or same-system ids differ', () => {
    for (const [a, b] of [
      [{ nhsHash: 'n1' }, { nhsHash: 'n2' }],
      [{ upnHash: 'u1' }, { upnHash: 'u2' }],
      [{ systemIds: [{ system: 'mosaic', idHash: 'a' }] }, { systemIds: [{ system: 'mosaic', idHash: 'b' }] }],
    ] as const) {
      const l = person(a);
      const r = person(b);
      const left = toRecordBatch([l], 'left').batch;
      const right = toRecordBatch([r], 'right').batch;
      const result = linkBatches(left, right);
      expect(result.deterministic.count).toBe(0);
      expect(result.deterministic.conflicts.map((c) => c.reason)[0]).toMatch(/conflict/);
      expect(result.candidates?.count).toBe(0);
    }
  });

  it('does not link namesakes on date of birth + names, or postcode + names, when their NI numbers differ', () => {
    const dobName = link([person({ niHash: 'ni1', postcode: 'CT1 1AA' })], [person({ niHash: 'ni2' })]).d;
    expect(dobName.count).toBe(0);
    expect(dobName.conflicts.map((c) => [c.rule, c.reason])).toEqual([['dob-name', 'ni-conflict']]);
    const postcodeName = link([person({ niHash: 'ni1', dob: '1980-01-15' })], [person({ niHash: 'ni2', dob: '' })]).d;
    expect(postcodeName.count).toBe(0);
  });

  it('still links on an NHS number or system id when the NI numbers differ (a slip in the NI number)', () => {
    expect(link([person({ nhsHash: 'n1', niHash: 'ni1' })], [person({ nhsHash: 'n1', niHash: 'ni2' })]).d.count).toBe(
      1,
    );
    const system = [{ system: 'mosaic', idHash: 'm1' }];
    const bySystem = link(
      [person({ systemIds: system, niHash: 'ni1' })],
      [person({ systemIds: system, niHash: 'ni2' })],
    );
    expect(bySystem.d.count).toBe(1);
  });

  it('links on an identifier held under another key version only by identifiers, never by names', () => {
    const old = otherKeyValue('v1', 'n1');
    const byNames = link([person({ nhsHash: old, postcode: 'CT1 1AA' })], [person({ nhsHash: 'n2' })]).d;
    expect(byNames.count).toBe(0);
    expect(byNames.conflicts.map((c) => [c.rule, c.reason])).toEqual([['dob-name', 'other-key-version']]);
    const system = [{ system: 'mosaic', idHash: 'm1' }];
    expect(
      link([person({ nhsHash: old, systemIds: system })], [person({ nhsHash: 'n2', systemIds: system })]).d.count,
    ).toBe(1);
    // Under one key version the values compare as ever: equal links, different is two people.
    expect(link([person({ nhsHash: old, givenName: 'ANNA' })], [person({ nhsHash: old })]).pairs.size).toBe(1);
    const twoPeople = link([person({ nhsHash: old })], [person({ nhsHash: otherKeyValue('v1', 'n2') })]).d;
    expect(twoPeople.count).toBe(0);
    expect(new Set(twoPeople.conflicts.map((c) => c.reason))).toEqual(new Set(['nhs-conflict']));
  });

  it('links by identifiers held under another key version as long as Key Vault names its versions', () => {
    // Key Vault's versions are 32 hex characters, as long as the part of a value the join keys on.
    const version = 'a'.repeat(32);
    const left = [person({ nhsHash: otherKeyValue(version, 'n1') }), person({ nhsHash: otherKeyValue(version, 'n2') })];
    const right = [
      person({ nhsHash: otherKeyValue(version, 'n2'), givenName: 'ANNA' }),
      person({ nhsHash: otherKeyValue(version, 'n1'), givenName: 'ANNA' }),
    ];
    const { pairs } = link(left, right);
    expect([...pairs.values()].map((p) => p.rule)).toEqual(['nhs', 'nhs']);
    expect(pairs.size).toBe(2);
  });

  it('still links records whose ids come from different systems', () => {
    const l = person({ systemIds: [{ system: 'mosaic', idHash: 'a' }] });
    const r = person({ systemIds: [{ system: 'capita-one', idHash: 'b' }] });
    expect(link([l], [r]).d.count).toBe(1);
  });

  it('refuses a postcode + name link when the dates of birth clearly differ (parent and namesake child)', () => {
    const father = person({ givenName: 'JOHN', dob: '1970-03-03' });
    const son = person({ givenName: 'JOHN', dob: '2001-09-09' });
    const { d } = link([father], [son]);
    expect(d.count).toBe(0);
    expect(d.conflicts[0]?.reason).toBe('dob-conflict');
  });

  it('never links two namesakes of no fixed abode by the pseudo-postcode ZZ99 3VZ (matching method 4)', () => {
    // Born a day apart: not one date (tier 3), yet no clear difference for tier 4's guard.
    const at = (postcode: string) =>
      link(
        [person({ givenName: 'JOHN', dob: '1975-06-01', postcode })],
        [person({ givenName: 'JOHN', dob: '1975-06-02', postcode })],
      ).d;
    expect(at('ME14 1XX').count).toBe(1);
    // ZZ99 3VZ says where nobody lives: every homeless John Smith holds it.
    expect(at('ZZ99 3VZ').count).toBe(0);
    expect(toRecordBatch([person({ postcode: 'ZZ99 3VZ' })]).batch.postcode).toEqual(['']);
  });

  it('tells a slip in a date from a different date', () => {
    expect(datesClearlyDiffer('1980-03-04', '1980-04-03')).toBe(false);
    expect(datesClearlyDiffer('1980-03-04', '1980-03-05')).toBe(false);
    expect(datesClearlyDiffer('1980-03-04', '1980-08-04')).toBe(false);
    expect(datesClearlyDiffer('1980-03-04', '')).toBe(false);
    expect(datesClearlyDiffer('1980-03-04', '1981-05-04')).toBe(true);
    expect(datesClearlyDiffer('2012-03-04', '2013-03-04')).toBe(true);
    expect(datesClearlyDiffer('2010-06-01', '2016-06-01')).toBe(true);
  });

  it('refuses a postcode + name link between siblings born a year or more apart', () => {
    for (const [a, b] of [
      ['2012-03-04', '2013-03-04'],
      ['2010-06-01', '2016-06-01'],
    ]) {
      const { d } = link([person({ givenName: 'OLIVER', dob: a })], [person({ givenName: 'OLIVIA', dob: b })]);
      expect(d.count, `${a} vs ${b}`).toBe(0);
      expect(d.conflicts.map((c) => [c.rule, c.reason])).toEqual([['postcode-name', 'dob-conflict']]);
    }
  });

  it('ignores blank keys: two records without identifiers are not linked on emptiness', () => {
    const l = person({ givenName: '', dob: '', postcode: '' });
    const r = person({ givenName: '', dob: '', postcode: '' });
    expect(link([l], [r]).d.count).toBe(0);
  });

  it('takes the first three letters of the legal first name as the agreement does', () => {
    expect(firstThreeColumn(['WILLIAM', 'JO ANNE', 'AL', ''])).toEqual(['WIL', 'JOA', 'AL', '']);
  });
});
