import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PersonRefCodec } from '../../../shared/people/person-ref.js';

describe('PersonRefCodec', () => {
  const codec = new PersonRefCodec(randomBytes(32));

  it('gives a party the same reference for a person every time, and it decodes back', () => {
    const personId = randomUUID();
    const ref = codec.encode('party-a', personId);
    expect(codec.encode('party-a', personId)).toBe(ref);
    expect(codec.decode('party-a', ref)).toBe(personId);
  });

  it("gives two parties unrelated references, and neither decodes the other's", () => {
    const personId = randomUUID();
    const a = codec.encode('party-a', personId);
    const b = codec.encode('party-b', personId);
    expect(a).not.toBe(b);
    expect(codec.decode('party-b', a)).toBeUndefined();
    expect(codec.decode('party-a', b)).toBeUndefined();
  });

  it('keeps references stable past the number it remembers, and across codecs with the same key', () => {
    const key = randomBytes(32);
    const first = new PersonRefCodec(key);
    const people = Array.from({ length: 10_050 }, () => randomUUID());
    const refs = people.map((p) => first.encode('party-a', p));
    // The earliest refs have been forgotten by now; encoding again must give the same text.
    expect(first.encode('party-a', people[0]!)).toBe(refs[0]);
    const second = new PersonRefCodec(key);
    expect(second.encode('party-a', people[1]!)).toBe(refs[1]);
    expect(second.decode('party-a', refs[10_049]!)).toBe(people[10_049]);
  });

  it('keeps references issued for the audit views out of lookups, and lets the audit views read both', () => {
    const personId = randomUUID();
    const lookup = codec.encode('party-a', personId);
    const audit = codec.encode('party-a', personId, 'audit');
    expect(audit).not.toBe(lookup);
    expect(codec.decode('party-a', audit)).toBeUndefined();
    expect(codec.decode('party-a', audit, ['audit', 'lookup'])).toBe(personId);
    expect(codec.decode('party-a', lookup, ['audit', 'lookup'])).toBe(personId);
    expect(codec.decode('party-b', audit, ['audit', 'lookup'])).toBeUndefined();
  });
});
