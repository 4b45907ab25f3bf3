import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AccessLogEntryError,
  accessLogEntrySchema,
  decodeEntry,
  encodeEntry,
  entryLeafHash,
  type AccessLogEntry,
} from '../../../shared/audit/entry-codec.js';

const entry: AccessLogEntry = {
  seq: 42,
  time: '2025-03-04T10:15:30.123Z',
  requestId: 'req-7f3a',
  partyId: 'rp-orbit',
  clientId: '00000000-0000-0000-0000-00000000c11e',
  roles: ['Lettings.Officer', 'Tenancy.Sustainment'],
  purpose: 'tenancy-sustainment',
  action: 'lookup',
  subjectRef: 'psn:9c1d',
  datasets: ['housing-register'],
  fields: ['bandReason', 'bedroomNeed'],
  decision: 'permit',
  reasonCode: 'granted',
};

describe('encodeEntry', () => {
  it('writes JSON with keys sorted, no whitespace and arrays in their given order', () => {
    expect(encodeEntry(entry).toString('utf8')).toBe(
      '{"action":"lookup","clientId":"00000000-0000-0000-0000-00000000c11e",' +
        '"datasets":["housing-register"],"decision":"permit","fields":["bandReason","bedroomNeed"],' +
        '"partyId":"rp-orbit","purpose":"tenancy-sustainment","reasonCode":"granted",' +
        '"requestId":"req-7f3a","roles":["Lettings.Officer","Tenancy.Sustainment"],"seq":42,' +
        '"subjectRef":"psn:9c1d","time":"2025-03-04T10:15:30.123Z"}',
    );
  });

  it('produces the same bytes whatever order the fields were set in', () => {
    const reversed = Object.fromEntries(Object.entries(entry).reverse()) as AccessLogEntry;
    expect(encodeEntry(reversed).equals(encodeEntry(entry))).toBe(true);
  });

  it('treats the order of listed fields as significant', () => {
    const swapped = { ...entry, fields: ['bedroomNeed', 'bandReason'] };
    expect(encodeEntry(swapped).equals(encodeEntry(entry))).toBe(false);
  });

  it('writes a missing subject as null, and UTF-8 for non-ASCII text', () => {
    const noSubject = { ...entry, subjectRef: null, purpose: 'réseau—ünïcode' };
    const text = encodeEntry(noSubject).toString('utf8');
    expect(text).toContain('"subjectRef":null');
    expect(encodeEntry(noSubject).includes(Buffer.from('réseau—ünïcode', 'utf8'))).toBe(true);
  });

  it('escapes quotes and control characters so no value can break out of its string', () => {
    const tricky = { ...entry, requestId: 'a"b\\c\nd\u0001' };
    expect(encodeEntry(tricky).toString('utf8')).toContain('"requestId":"a\\"b\\\\c\\nd\\u0001"');
  });

  it('gives a leaf hash equal to SHA-256(0x00 || canonical bytes)', () => {
    const expected = createHash('sha256').update(Buffer.of(0)).update(encodeEntry(entry)).digest();
    expect(entryLeafHash(entry).toString('hex')).toBe(expected.toString('hex'));
  });

  it('changes the leaf hash when any single field changes', () => {
    const base = entryLeafHash(entry).toString('hex');
    const variants: AccessLogEntry[] = [
      { ...entry, seq: 43 },
      { ...entry, time: '2025-03-04T10:15:30.124Z' },
      { ...entry, decision: 'deny' },
      { ...entry, subjectRef: null },
      { ...entry, roles: ['Lettings.Officer'] },
      { ...entry, datasets: [] },
    ];
    for (const v of variants) expect(entryLeafHash(v).toString('hex')).not.toBe(base);
  });
});

describe('accessLogEntrySchema', () => {
  it('rejects unknown fields, which would be stored but not protected by the hash', () => {
    const withExtra = { ...entry, note: 'extra' };
    expect(accessLogEntrySchema.safeParse(withExtra).success).toBe(false);
    expect(() => encodeEntry(withExtra as AccessLogEntry)).toThrow(AccessLogEntryError);
  });

  it.each([
    ['no milliseconds', '2025-03-04T10:15:30Z'],
    ['microseconds', '2025-03-04T10:15:30.123456Z'],
    ['an offset instead of Z', '2025-03-04T10:15:30.123+01:00'],
    ['an impossible date', '2025-02-30T10:15:30.123Z'],
    ['29 February in a common year', '2025-02-29T10:15:30.123Z'],
    ['29 February in a century common year', '2100-02-29T10:15:30.123Z'],
    ['a leap second', '2016-12-31T23:59:60.000Z'],
    ['a lower-case z', '2025-03-04T10:15:30.123z'],
  ])('rejects a time with %s, which would not survive a database round-trip', (_label, time) => {
    expect(accessLogEntrySchema.safeParse({ ...entry, time }).success).toBe(false);
  });

  it('accepts 29 February in a leap year', () => {
    expect(accessLogEntrySchema.safeParse({ ...entry, time: '2024-02-29T23:59:59.999Z' }).success).toBe(true);
  });

  it.each([0, -1, 1.5])('rejects seq %s', (seq) => {
    expect(accessLogEntrySchema.safeParse({ ...entry, seq }).success).toBe(false);
  });

  it('names the bad field but never echoes its value', () => {
    const secret = 'Jane Doe 1970-01-01';
    try {
      encodeEntry({ ...entry, seq: secret } as unknown as AccessLogEntry);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AccessLogEntryError);
      const message = (err as Error).message;
      expect(message).toContain('seq');
      expect(message).not.toContain(secret);
    }
  });
});

describe('decodeEntry', () => {
  it('round-trips canonical bytes', () => {
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
  });

  it('refuses valid JSON that is not in canonical form', () => {
    const pretty = Buffer.from(JSON.stringify(entry, null, 2));
    expect(() => decodeEntry(pretty)).toThrow(/not_canonical/);
  });

  it('refuses bytes that are not JSON', () => {
    expect(() => decodeEntry(Buffer.from('{"seq":'))).toThrow(/invalid_json/);
  });
});

/** Straightforward recursive sorted-key JSON, as an independent verifier would write it. */
function referenceCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${referenceCanonical(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('canonical form (property)', () => {
  const text = fc.string({ minLength: 1, maxLength: 20, unit: 'binary' });
  const entryArb: fc.Arbitrary<AccessLogEntry> = fc.record({
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    time: fc
      .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    requestId: text,
    partyId: text,
    clientId: text,
    roles: fc.array(text, { maxLength: 4 }),
    purpose: text,
    action: text,
    subjectRef: fc.option(text, { nil: null }),
    datasets: fc.array(text, { maxLength: 4 }),
    fields: fc.array(text, { maxLength: 6 }),
    decision: text,
    reasonCode: text,
  });

  it('every valid entry decodes back to itself and is a fixed point of re-encoding', () => {
    fc.assert(
      fc.property(entryArb, (e) => {
        const bytes = encodeEntry(e);
        expect(bytes.toString('utf8')).toBe(referenceCanonical(e));
        const decoded = decodeEntry(bytes);
        expect(decoded).toEqual(e);
        expect(encodeEntry(decoded).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('encodeEntryUnchecked', () => {
  it('gives exactly the canonical bytes for any valid entry', async () => {
    const fc = await import('fast-check');
    const { encodeEntry, encodeEntryUnchecked } = await import('../../../shared/audit/entry-codec.js');
    const text = fc.string({ minLength: 1, maxLength: 12, unit: 'binary' });
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.integer({ min: 1, max: 2 ** 40 }),
          time: fc
            .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((d) => d.toISOString()),
          requestId: text,
          partyId: text,
          clientId: text,
          roles: fc.array(text, { maxLength: 3 }),
          purpose: text,
          action: text,
          subjectRef: fc.option(text, { nil: null }),
          datasets: fc.array(text, { maxLength: 3 }),
          fields: fc.array(text, { maxLength: 5 }),
          decision: text,
          reasonCode: text,
        }),
        (entry) => encodeEntryUnchecked(entry).equals(encodeEntry(entry)),
      ),
      { numRuns: 500 },
    );
  });
});
