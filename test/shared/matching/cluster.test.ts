import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PersonClusters } from '../../../shared/matching/cluster.js';
import { otherKeyValue } from '../../../shared/matching/hard-identifiers.js';
import type { CanonicalRecord } from '../../../shared/matching/record.js';
import { toRecordBatch } from '../../../shared/matching/record.js';

const record = (k: number, fields: Partial<CanonicalRecord>): CanonicalRecord => ({
  recordId: `r${k}`,
  sourceId: 's',
  givenName: 'A',
  familyName: 'B',
  dob: '',
  postcode: '',
  ...fields,
});

/** Small pools so that random records collide on identifiers often. */
const identifiers = fc.record({
  nhsHash: fc.option(fc.constantFrom('n1', 'n2', 'n3'), { nil: undefined }),
  upnHash: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
  mosaic: fc.option(fc.constantFrom('m1', 'm2'), { nil: undefined }),
  capita: fc.option(fc.constantFrom('c1', 'c2'), { nil: undefined }),
});

describe('PersonClusters', () => {
  it('never puts two different NHS numbers, UPNs or same-system ids in one person', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(identifiers, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()), { maxLength: 60 }),
        (batchesIds, links) => {
          const batches = batchesIds.map(
            (ids, b) =>
              toRecordBatch(
                ids.map((id, k) =>
                  record(b * 100 + k, {
                    nhsHash: id.nhsHash,
                    upnHash: id.upnHash,
                    systemIds: [
                      ...(id.mosaic === undefined ? [] : [{ system: 'mosaic', idHash: id.mosaic }]),
                      ...(id.capita === undefined ? [] : [{ system: 'capita-one', idHash: id.capita }]),
                    ],
                  }),
                ),
                `b${b}`,
              ).batch,
          );
          const clusters = new PersonClusters(batches);
          for (const [ba, ra, bb, rb] of links) {
            const a = ba % batches.length;
            const b = bb % batches.length;
            clusters.merge(a, ra % (batches[a]?.size ?? 1), b, rb % (batches[b]?.size ?? 1), 1);
          }
          const seen = new Map<number, Map<string, string>>();
          batches.forEach((batch, b) => {
            for (let i = 0; i < batch.size; i++) {
              const id = clusters.clusterOf(b, i);
              const values = seen.get(id) ?? new Map<string, string>();
              seen.set(id, values);
              const check = (kind: string, value: string | undefined): void => {
                if (value === undefined || value === '') return;
                const before = values.get(kind);
                expect(before === undefined || before === value, kind).toBe(true);
                values.set(kind, value);
              };
              check('nhs', batch.nhsHash[i]);
              check('upn', batch.upnHash[i]);
              for (const [system, ids] of batch.systemIds) check(`system:${system}`, ids[i]);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a merge that only conflicts through a third record, and reports it', () => {
    const batch = toRecordBatch(
      [record(1, { nhsHash: 'n1' }), record(2, {}), record(3, { nhsHash: 'n2' })],
      'one',
    ).batch;
    const clusters = new PersonClusters([batch]);
    expect(clusters.merge(0, 0, 0, 1, 1)).toBe('merged');
    expect(clusters.merge(0, 1, 0, 2, 3)).toBe('nhs-conflict');
    expect(clusters.clusterOf(0, 2)).not.toBe(clusters.clusterOf(0, 0));
    expect(clusters.refused).toEqual([
      { batchA: 0, recordA: 1, batchB: 0, recordB: 2, tier: 3, reason: 'nhs-conflict' },
    ]);
  });

  it('refuses a weak merge of clusters with no NI number in common, but not one an identifier vouches for', () => {
    const batch = toRecordBatch(
      [
        record(1, { niHash: 'x', nhsHash: 'n1' }),
        record(2, { niHash: 'y', nhsHash: 'n1' }),
        record(3, { niHash: 'y' }),
        record(4, { niHash: 'z' }),
      ],
      'one',
    ).batch;
    const clusters = new PersonClusters([batch]);
    expect(clusters.merge(0, 0, 0, 1, 1, false)).toBe('merged');
    // The cluster holds x and y: a names link to y is consistent with it, one to z is not.
    expect(clusters.merge(0, 2, 0, 0, 3)).toBe('merged');
    expect(clusters.merge(0, 3, 0, 0, 3)).toBe('ni-conflict');
    expect(clusters.clusterSize(0, 0)).toBe(3);
    // An officer's confirmation vouches for the pair as an identifier would.
    expect(clusters.merge(0, 3, 0, 0, 5, false)).toBe('merged');
  });

  it('refuses every equal-tier link of a record that reaches two people who cannot be one, in either order', () => {
    const batch = toRecordBatch(
      [record(1, { nhsHash: 'n1' }), record(2, { nhsHash: 'n2' }), record(3, {}), record(4, {})],
      'one',
    ).batch;
    const link = (a: number, b: number, tier: number) => ({
      batchA: 0,
      recordA: a,
      batchB: 0,
      recordB: b,
      tier,
      weak: true,
    });
    for (const links of [
      [link(2, 0, 3), link(2, 1, 3), link(3, 1, 4)],
      [link(2, 1, 3), link(2, 0, 3), link(3, 1, 4)],
    ]) {
      const clusters = new PersonClusters([batch]);
      clusters.mergeTiers(links);
      expect(clusters.clusterSize(0, 2)).toBe(1);
      expect(clusters.clusterSize(0, 0)).toBe(1);
      // A record with one link of its tier is not held back by another record's ambiguity.
      expect(clusters.clusterOf(0, 3)).toBe(clusters.clusterOf(0, 1));
      expect(clusters.refused.map((r) => [r.recordA, r.recordB, r.reason])).toEqual(
        links.slice(0, 2).map((l) => [l.recordA, l.recordB, 'ambiguous']),
      );
    }
  });

  it('takes the stronger tier first: an equal-tier ambiguity is judged on the people earlier tiers made', () => {
    const batch = toRecordBatch(
      [record(1, { nhsHash: 'n1' }), record(2, { nhsHash: 'n2' }), record(3, { nhsHash: 'n1' })],
      'one',
    ).batch;
    const clusters = new PersonClusters([batch]);
    clusters.mergeTiers([
      { batchA: 0, recordA: 2, batchB: 0, recordB: 0, tier: 1, weak: false },
      { batchA: 0, recordA: 2, batchB: 0, recordB: 1, tier: 3, weak: true },
    ]);
    expect(clusters.clusterOf(0, 2)).toBe(clusters.clusterOf(0, 0));
    expect(clusters.refused.map((r) => r.reason)).toEqual(['nhs-conflict']);
  });

  it('refuses a weak merge of identifiers under different key versions, and compares them under one', () => {
    const batch = toRecordBatch(
      [
        record(1, { nhsHash: otherKeyValue('v1', 'n1') }),
        record(2, { nhsHash: 'n2' }),
        record(3, { nhsHash: otherKeyValue('v1', 'n3') }),
        record(4, { nhsHash: 'n2' }),
      ],
      'one',
    ).batch;
    const clusters = new PersonClusters([batch]);
    expect(clusters.merge(0, 0, 0, 1, 3)).toBe('other-key-version');
    expect(clusters.merge(0, 0, 0, 1, 2, false)).toBe('merged');
    // The cluster holds n2 now: a names link by it is comparable again.
    expect(clusters.merge(0, 3, 0, 0, 3)).toBe('merged');
    expect(clusters.merge(0, 2, 0, 0, 2, false)).toBe('nhs-conflict');
  });

  it('joins records carrying ids of different systems into one person', () => {
    const left = toRecordBatch([record(1, { systemIds: [{ system: 'mosaic', idHash: 'm1' }] })], 'l').batch;
    const right = toRecordBatch(
      [record(2, { systemIds: [{ system: 'capita-one', idHash: 'c1' }], upnHash: 'u1' })],
      'r',
    ).batch;
    const clusters = new PersonClusters([left, right]);
    expect(clusters.merge(0, 0, 1, 0, 2)).toBe('merged');
    expect(clusters.merge(1, 0, 0, 0, 2)).toBe('already-together');
    expect(clusters.clusterSize(0, 0)).toBe(2);
  });

  it('keeps two records apart through any third record, even one an identifier vouches for', () => {
    const left = toRecordBatch([record(1, {}), record(2, {})], 'l').batch;
    const right = toRecordBatch([record(3, { nhsHash: 'n1' })], 'r').batch;
    const clusters = new PersonClusters([left, right]);
    clusters.cannotLink(0, 0, 1, 0);
    // Record 2 joins 3 by an identifier, then 1 by a confirmation: the second merge is refused.
    expect(clusters.merge(0, 1, 1, 0, 1, false)).toBe('merged');
    expect(clusters.merge(0, 0, 0, 1, 5, false)).toBe('rejected-pair');
    expect(clusters.clusterOf(0, 0)).not.toBe(clusters.clusterOf(1, 0));
    expect(() => clusters.cannotLink(0, 0, 0, 1)).toThrow();
  });

  it("refuses an officer's confirmation joining two people's NI numbers, whatever other kinds cannot be compared", () => {
    // Housing's r1 holds NI n1 (and, in the second round, an NHS number hashed before a key
    // rotation); education's r3, with no identifiers, joined it by a names link. Social care's
    // r2 holds NI n2 (and an NHS number under the current key). The confirmed pair is r3–r2: its
    // own records do not differ on NI, the two people do.
    for (const withNhs of [false, true]) {
      const housing = toRecordBatch(
        [record(1, { niHash: 'n1', ...(withNhs ? { nhsHash: otherKeyValue('v1', 'h1') } : {}) })],
        'housing',
      ).batch;
      const care = toRecordBatch([record(2, { niHash: 'n2', ...(withNhs ? { nhsHash: 'h2' } : {}) })], 'care').batch;
      const education = toRecordBatch([record(3, {})], 'education').batch;
      const clusters = new PersonClusters([housing, care, education]);
      expect(clusters.merge(0, 0, 2, 0, 3, true)).toBe('merged');
      expect(clusters.merge(2, 0, 1, 0, 5, false, true)).toBe('ni-conflict');
      expect(clusters.clusterOf(0, 0)).not.toBe(clusters.clusterOf(1, 0));
    }
  });

  it("refuses an officer's confirmation of a pair whose own NI numbers differ: the review never shows them", () => {
    const left = toRecordBatch([record(1, { niHash: 'n1' })], 'kettering').batch;
    const right = toRecordBatch([record(2, { niHash: 'n2' })], 'corby').batch;
    const clusters = new PersonClusters([left, right]);
    expect(clusters.merge(0, 0, 1, 0, 3, false, true)).toBe('ni-conflict');
    // One NI number missing is no conflict.
    const bare = toRecordBatch([record(3, {})], 'wellingborough').batch;
    expect(new PersonClusters([left, bare]).merge(0, 0, 1, 0, 3, false, true)).toBe('merged');
  });
});
