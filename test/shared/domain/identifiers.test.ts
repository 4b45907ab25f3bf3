import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  containsNationalIdentifier,
  generateNhsNumber,
  generateNiNumber,
  generateUpn,
  isPseudoPostcode,
  isTemporaryUpn,
  matchingPostcode,
  postcodeArea,
  postcodeAtEndOf,
  postcodeDistrict,
  postcodeOutward,
  postcodeSector,
  validateNhsNumber,
  validateNiNumber,
  validatePostcode,
  validateUpn,
} from '../../../shared/domain/identifiers.js';
import type { RandomSource } from '../../../shared/domain/identifiers.js';

/** mulberry32: a tiny seeded PRNG, so generator properties are reproducible from the seed. */
function seeded(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seedArb = fc.integer({ min: 0, max: 0xffffffff });

function replaceAt(s: string, index: number, ch: string): string {
  return s.slice(0, index) + ch + s.slice(index + 1);
}

describe('validateNhsNumber', () => {
  it('accepts a valid number with or without separators and returns the bare digits', () => {
    expect(validateNhsNumber('9434765919')).toEqual({ ok: true, value: '9434765919' });
    expect(validateNhsNumber('943 476 5919')).toEqual({ ok: true, value: '9434765919' });
    expect(validateNhsNumber('943-476-5919')).toEqual({ ok: true, value: '9434765919' });
    expect(validateNhsNumber(' 943 476 5919 ')).toEqual({ ok: true, value: '9434765919' });
  });

  it('rejects a wrong check digit', () => {
    expect(validateNhsNumber('9434765918')).toEqual({ ok: false, reason: 'nhs-number-check-digit' });
  });

  it('rejects a stem whose check digit would be 10, whatever the last digit', () => {
    // Stem 000000006: weighted sum 6·2 = 12, 12 mod 11 = 1, 11 - 1 = 10 -> no valid check digit.
    for (let last = 0; last <= 9; last++) {
      expect(validateNhsNumber(`000000006${last}`)).toEqual({
        ok: false,
        reason: 'nhs-number-check-digit',
      });
    }
  });

  it('rejects wrong lengths and non-digits as a format problem', () => {
    for (const bad of ['943476591', '94347659199', '943476591A', '9434765919x', '943.476.5919']) {
      expect(validateNhsNumber(bad)).toEqual({ ok: false, reason: 'nhs-number-format' });
    }
  });

  it('tells a blank field apart from an invalid one', () => {
    expect(validateNhsNumber('')).toEqual({ ok: false, reason: 'nhs-number-missing' });
    expect(validateNhsNumber('   ')).toEqual({ ok: false, reason: 'nhs-number-missing' });
  });

  it('rejects the all-same-digit placeholders even though they pass modulus 11', () => {
    for (let d = 0; d <= 9; d++) {
      expect(validateNhsNumber(String(d).repeat(10))).toEqual({
        ok: false,
        reason: 'nhs-number-placeholder',
      });
    }
  });

  it('generates numbers that always validate, in the 999 test range when asked', () => {
    fc.assert(
      fc.property(seedArb, fc.boolean(), (seed, testRange) => {
        const nhs = generateNhsNumber(seeded(seed), { testRange });
        expect(validateNhsNumber(nhs)).toEqual({ ok: true, value: nhs });
        if (testRange) expect(nhs.startsWith('999')).toBe(true);
      }),
    );
  });

  it('catches every single-digit change to a valid number', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 9 }), (seed, pos, delta) => {
        const nhs = generateNhsNumber(seeded(seed));
        const changed = replaceAt(nhs, pos, String((nhs.charCodeAt(pos) - 48 + delta) % 10));
        expect(validateNhsNumber(changed)).toEqual({ ok: false, reason: 'nhs-number-check-digit' });
      }),
    );
  });

  it('catches every swap of two different adjacent digits', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 8 }), (seed, pos) => {
        const nhs = generateNhsNumber(seeded(seed));
        fc.pre(nhs[pos] !== nhs[pos + 1]);
        const swapped = nhs.slice(0, pos) + nhs[pos + 1] + nhs[pos] + nhs.slice(pos + 2);
        expect(validateNhsNumber(swapped).ok).toBe(false);
      }),
    );
  });
});

describe('validateUpn', () => {
  it('accepts a published valid UPN and rejects it with another check letter', () => {
    expect(validateUpn('B801200005001')).toEqual({ ok: true, value: 'B801200005001' });
    expect(validateUpn('A801200005001')).toEqual({ ok: false, reason: 'upn-check-letter' });
  });

  it('agrees with check letters worked by hand from the DfE algorithm', () => {
    // 886123424001: 8·2+8·3+6·4+1·5+2·6+3·7+4·8+2·9+4·10+0·11+0·12+1·13 = 205; 205 mod 23 = 21 -> Y
    expect(validateUpn('Y886123424001')).toEqual({ ok: true, value: 'Y886123424001' });
    // Temporary: serial 00 then A (value 0): 205 - 13 = 192; 192 mod 23 = 8 -> J
    expect(validateUpn('J88612342400A')).toEqual({ ok: true, value: 'J88612342400A' });
    // ... and with Z (value 22): 192 + 22·13 = 478; 478 mod 23 = 18 -> V
    expect(validateUpn('V88612342400Z')).toEqual({ ok: true, value: 'V88612342400Z' });
    expect(validateUpn('W88612342400Z')).toEqual({ ok: false, reason: 'upn-check-letter' });
  });

  it('upper-cases and strips spaces', () => {
    expect(validateUpn(' y886 1234 24 001 ')).toEqual({ ok: true, value: 'Y886123424001' });
  });

  it('rejects bad shapes, including the letters I, O and S the DfE never uses', () => {
    for (const bad of [
      'Y88612342400',
      'Y8861234240011',
      '1886123424001',
      'Y886123A24001',
      'I886123424001',
      'O886123424001',
      'S886123424001',
      'J88612342400I',
      'J88612342400O',
      'J88612342400S',
      'Y886-123424001',
    ]) {
      expect(validateUpn(bad)).toEqual({ ok: false, reason: 'upn-format' });
    }
    expect(validateUpn('')).toEqual({ ok: false, reason: 'upn-missing' });
  });

  it('generates permanent and temporary UPNs that validate', () => {
    fc.assert(
      fc.property(seedArb, fc.boolean(), (seed, temporary) => {
        const upn = generateUpn(seeded(seed), { temporary, laNumber: '886' });
        expect(validateUpn(upn)).toEqual({ ok: true, value: upn });
        expect(upn.slice(1, 4)).toBe('886');
        expect(isTemporaryUpn(upn)).toBe(temporary);
      }),
    );
  });

  it('catches every single-digit change in the body', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 9 }), (seed, pos, delta) => {
        const upn = generateUpn(seeded(seed));
        const changed = replaceAt(upn, pos, String((upn.charCodeAt(pos) - 48 + delta) % 10));
        expect(validateUpn(changed)).toEqual({ ok: false, reason: 'upn-check-letter' });
      }),
    );
  });

  it('refuses an LA number that is not three digits', () => {
    expect(() => generateUpn(seeded(1), { laNumber: '88' })).toThrow(RangeError);
  });
});

describe('validateNiNumber', () => {
  it('returns the eight-character matching form and the suffix separately', () => {
    expect(validateNiNumber('AB123456C')).toEqual({ ok: true, value: 'AB123456', suffix: 'C' });
    expect(validateNiNumber('ab 12 34 56 c')).toEqual({ ok: true, value: 'AB123456', suffix: 'C' });
  });

  it('accepts a missing suffix, so a feed without it links to one with it', () => {
    const without = validateNiNumber('AB123456');
    const withSuffix = validateNiNumber('AB123456D');
    expect(without).toEqual({ ok: true, value: 'AB123456', suffix: null });
    expect(withSuffix.ok && without.ok && withSuffix.value === without.value).toBe(true);
  });

  it('rejects disallowed prefix letters', () => {
    for (const first of 'DFIQUV') {
      expect(validateNiNumber(`${first}A123456A`)).toEqual({ ok: false, reason: 'ni-number-prefix' });
    }
    for (const second of 'DFIOQUV') {
      expect(validateNiNumber(`A${second}123456A`)).toEqual({ ok: false, reason: 'ni-number-prefix' });
    }
  });

  it('rejects the unallocated prefixes, including the temporary TN', () => {
    for (const prefix of ['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']) {
      expect(validateNiNumber(`${prefix}123456A`)).toEqual({ ok: false, reason: 'ni-number-prefix' });
    }
    // Temporary numbers were TN + date of birth + M/F.
    expect(validateNiNumber('TN311258F').ok).toBe(false);
    expect(validateNiNumber('TN311258M').ok).toBe(false);
  });

  it('rejects the administrative prefixes whose numbers several people share (NC, PP)', () => {
    // HMRC NIM39110, "Administrative Numbers": reference numbers that look like NINOs but do not use
    // valid prefixes. An NC number is a pension scheme's dummy: NC, six digits from the date of
    // birth, then m or f; PP999999P is the pension schemes' placeholder. A feed that drops the
    // suffix sends NC311258 for everyone born 31/12/58, as TN numbers were.
    expect(validateNiNumber('NC311258')).toEqual({ ok: false, reason: 'ni-number-prefix' });
    expect(validateNiNumber('PP999999')).toEqual({ ok: false, reason: 'ni-number-prefix' });
    for (const dummy of ['NC311258M', 'PP999999P', 'nc 31 12 58', 'PP123456A']) {
      expect(validateNiNumber(dummy).ok).toBe(false);
    }
    // Their letters are allowed elsewhere: only the pair is withheld.
    expect(validateNiNumber('NA311258A').ok).toBe(true);
    expect(validateNiNumber('CP999999A').ok).toBe(true);
  });

  it('rejects bad shapes', () => {
    for (const bad of ['AB12345C', 'AB1234567C', 'AB123456E', 'A1123456C', 'AB12345CC', 'AB_123456_C']) {
      expect(validateNiNumber(bad)).toEqual({ ok: false, reason: 'ni-number-format' });
    }
    // Spaces and hyphens separate the groups, as in an NHS number; the bare form is the same.
    for (const separated of ['AB 12 34 56 C', 'AB-12-34-56-C', 'ab-123456-c', 'AB\u00a012\u00a034\u00a056 C']) {
      expect(validateNiNumber(separated), separated).toEqual({ ok: true, value: 'AB123456', suffix: 'C' });
    }
    expect(validateNiNumber(' ')).toEqual({ ok: false, reason: 'ni-number-missing' });
  });

  it('generates numbers with a suffix that validate', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const ni = generateNiNumber(seeded(seed));
        expect(ni).toMatch(/^[A-Z]{2}[0-9]{6}[A-D]$/);
        expect(validateNiNumber(ni)).toEqual({ ok: true, value: ni.slice(0, 8), suffix: ni[8] });
      }),
    );
  });
});

describe('postcodeAtEndOf', () => {
  it('reads the postcode an address ends with, canonical, and nothing else', () => {
    expect(postcodeAtEndOf('12 Elm Road, Kettering NN16 8AB')).toBe('NN16 8AB');
    expect(postcodeAtEndOf('Flat 3, 1 High St, London sw1a1aa.')).toBe('SW1A 1AA');
    expect(postcodeAtEndOf('2 Low Road, Dudley')).toBeNull();
    // A postcode-like word inside the address is not its postcode.
    expect(postcodeAtEndOf('Unit DY1 1AA Business Park, Dudley')).toBeNull();
    // Not a valid postcode (Q cannot come first).
    expect(postcodeAtEndOf('1 Road, QA1 1AA')).toBeNull();
  });
});

describe('validatePostcode', () => {
  it('normalises to upper case with one space before the inward code', () => {
    expect(validatePostcode('sw1a1aa')).toEqual({ ok: true, value: 'SW1A 1AA' });
    expect(validatePostcode('  SW1A   1AA ')).toEqual({ ok: true, value: 'SW1A 1AA' });
    expect(validatePostcode('me1\t1aa')).toEqual({ ok: true, value: 'ME1 1AA' });
  });

  it('accepts every outward-code form and GIR 0AA', () => {
    for (const pc of [
      'M1 1AE',
      'B33 8TH',
      'CR2 6XH',
      'DN55 1PT',
      'W1A 0AX',
      'EC1A 1BB',
      'GIR 0AA',
      'CT1 2EH',
      'TN23 1PL',
    ]) {
      expect(validatePostcode(pc)).toEqual({ ok: true, value: pc });
    }
    expect(validatePostcode('gir0aa')).toEqual({ ok: true, value: 'GIR 0AA' });
  });

  it('rejects strings that break the positional letter rules or the shape', () => {
    for (const bad of [
      'QA1 1AA', // Q never first
      'AI1 1AA', // I never second
      'W1I 1AA', // I not used third in A9A
      'EC1C 1BB', // C not used fourth in AA9A
      'SW1A 1CA', // C never in the inward code
      'SW1A 1AV', // nor V
      'SW1A1A',
      'SW1A 1AAA',
      '12345',
      'SW1A',
      // A hyphen only where the space goes, and only one.
      'SW-1A1AA',
      'SW1A-1-AA',
      'SW1A--1AA',
      // BFPO numbers are one to four digits, written without leading zeros.
      'BFPO',
      'BFPO 0',
      'BFPO 057',
      'BFPO 12345',
      'BFPO A12',
      // Only the overseas territories' own codes of the UK layout, not any four letters and 1ZZ.
      'FIQQ 1AA',
      'ABCD 1ZZ',
      // Territories whose codes are not of the UK layout (Cayman, Anguilla, Bermuda, Montserrat).
      'KY1-1001',
      'AI-2640',
      'HM 12',
      'MSR 1110',
    ]) {
      expect(validatePostcode(bad)).toEqual({ ok: false, reason: 'postcode-format' });
    }
    expect(validatePostcode('')).toEqual({ ok: false, reason: 'postcode-missing' });
  });

  it('accepts a hyphen where the space goes, giving the canonical form', () => {
    expect(validatePostcode('SW1A-1AA')).toEqual({ ok: true, value: 'SW1A 1AA' });
    expect(validatePostcode('me1 - 1aa')).toEqual({ ok: true, value: 'ME1 1AA' });
    expect(validatePostcode('BFPO-57')).toEqual({ ok: true, value: 'BFPO 57' });
  });

  it('accepts BFPO numbers and the overseas territories of the UK layout, canonical', () => {
    expect(validatePostcode('BFPO 1234')).toEqual({ ok: true, value: 'BFPO 1234' });
    expect(validatePostcode('bfpo1')).toEqual({ ok: true, value: 'BFPO 1' });
    expect(validatePostcode(' BFPO  792 ')).toEqual({ ok: true, value: 'BFPO 792' });
    for (const pc of [
      'FIQQ 1ZZ',
      'SIQQ 1ZZ',
      'ASCN 1ZZ',
      'STHL 1ZZ',
      'TDCU 1ZZ',
      'BBND 1ZZ',
      'BIQQ 1ZZ',
      'PCRN 1ZZ',
      'TKCA 1ZZ',
      'GX11 1AA',
      'BF1 3AA',
    ]) {
      expect(validatePostcode(pc)).toEqual({ ok: true, value: pc });
      expect(validatePostcode(pc.replace(' ', '').toLowerCase())).toEqual({ ok: true, value: pc });
    }
  });

  it('derives blocking keys for BFPO numbers and territory codes that group no two places', () => {
    // A BFPO number names a posting, not a place: nothing coarser than itself groups two of them.
    for (const key of [postcodeOutward, postcodeSector, postcodeDistrict, postcodeArea]) {
      expect(key('bfpo 1234')).toBe('BFPO 1234');
    }
    // A territory's one code is its outward code and district (no sub-district letter to drop).
    expect(postcodeOutward('FIQQ 1ZZ')).toBe('FIQQ');
    expect(postcodeDistrict('FIQQ 1ZZ')).toBe('FIQQ');
    expect(postcodeDistrict('STHL 1ZZ')).toBe('STHL');
    expect(postcodeSector('TKCA 1ZZ')).toBe('TKCA 1');
    expect(postcodeDistrict('GX11 1AA')).toBe('GX11');
    expect(postcodeAtEndOf('1 Ross Road, Stanley, FIQQ 1ZZ')).toBe('FIQQ 1ZZ');
    expect(postcodeAtEndOf('HQ Company, 1 Loamshire Regt, BFPO 61')).toBe('BFPO 61');
    expect(postcodeAtEndOf('12 Elm Road, Kettering NN16-8AB')).toBe('NN16 8AB');
  });

  it('accepts the NHS pseudo-postcodes, canonical, and no other ZZ code', () => {
    // NHS Data Dictionary, Postcode of Usual Address: no fixed abode, address not known, and
    // England/UK, Wales, Scotland, Northern Ireland not otherwise specified.
    for (const pc of ['ZZ99 3VZ', 'ZZ99 3WZ', 'ZZ99 3CZ', 'ZZ99 3GZ', 'ZZ99 1WZ', 'ZZ99 2WZ']) {
      expect(validatePostcode(pc)).toEqual({ ok: true, value: pc });
      expect(validatePostcode(pc.replace(' ', '').toLowerCase())).toEqual({ ok: true, value: pc });
      expect(isPseudoPostcode(pc)).toBe(true);
    }
    expect(validatePostcode('zz99-3vz')).toEqual({ ok: true, value: 'ZZ99 3VZ' });
    for (const bad of ['ZZ99 3VX', 'ZZ98 3VZ', 'ZZ9 3VZ', 'ZZ99 1AA', 'ZZ1 1AA']) {
      expect(validatePostcode(bad)).toEqual({ ok: false, reason: 'postcode-format' });
    }
    for (const real of ['SW1A 1AA', 'BFPO 61', 'FIQQ 1ZZ', 'GIR 0AA']) expect(isPseudoPostcode(real)).toBe(false);
  });

  it('accepts the NHS country pseudo-postcodes by their shape, ZZ99 then a digit, a letter and Z, as pseudo-postcodes', () => {
    // An overseas visitor's postcode of usual address (NHS Data Dictionary: ZZ99 6CZ is India).
    for (const pc of ['ZZ99 6CZ', 'ZZ99 4AZ', 'ZZ99 9ZZ']) {
      expect(validatePostcode(pc.replace(' ', '').toLowerCase())).toEqual({ ok: true, value: pc });
      expect(isPseudoPostcode(pc)).toBe(true);
      expect(matchingPostcode(pc)).toBeNull();
      for (const key of [postcodeOutward, postcodeSector, postcodeDistrict, postcodeArea]) expect(key(pc)).toBeNull();
    }
    expect(postcodeAtEndOf('12 MG Road, Bengaluru, ZZ99 6CZ')).toBe('ZZ99 6CZ');
    for (const bad of ['ZZ99 66Z', 'ZZ99 6CA', 'ZZ99 C6Z', 'ZZ98 6CZ']) {
      expect(validatePostcode(bad)).toEqual({ ok: false, reason: 'postcode-format' });
    }
  });

  it('gives a pseudo-postcode no blocking key: it places no one, so it groups no one', () => {
    for (const key of [postcodeOutward, postcodeSector, postcodeDistrict, postcodeArea]) {
      expect(key('ZZ99 3VZ')).toBeNull();
      expect(key('zz991wz')).toBeNull();
    }
  });

  it('derives blocking keys at each level', () => {
    expect(postcodeOutward('sw1a1aa')).toBe('SW1A');
    expect(postcodeSector('sw1a1aa')).toBe('SW1A 1');
    expect(postcodeDistrict('sw1a1aa')).toBe('SW1');
    expect(postcodeArea('sw1a1aa')).toBe('SW');
    expect(postcodeOutward('DN55 1PT')).toBe('DN55');
    expect(postcodeDistrict('DN55 1PT')).toBe('DN55');
    expect(postcodeSector('ME1 1AA')).toBe('ME1 1');
    expect(postcodeDistrict('W1A 0AX')).toBe('W1');
    expect(postcodeArea('M1 1AE')).toBe('M');
    expect(postcodeDistrict('GIR 0AA')).toBe('GIR');
  });

  it('gives null blocking keys for an invalid postcode', () => {
    expect(postcodeOutward('not a postcode')).toBeNull();
    expect(postcodeSector('')).toBeNull();
    expect(postcodeDistrict('QA1 1AA')).toBeNull();
    expect(postcodeArea('12345')).toBeNull();
  });
});

describe('failure reasons', () => {
  it('are always one of the stable codes and never carry the input', () => {
    const known = new Set([
      'nhs-number-missing',
      'nhs-number-format',
      'nhs-number-check-digit',
      'nhs-number-placeholder',
      'upn-missing',
      'upn-format',
      'upn-check-letter',
      'ni-number-missing',
      'ni-number-format',
      'ni-number-prefix',
      'postcode-missing',
      'postcode-format',
    ]);
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), (input) => {
        for (const result of [
          validateNhsNumber(input),
          validateUpn(input),
          validateNiNumber(input),
          validatePostcode(input),
        ]) {
          if (!result.ok) expect(known.has(result.reason)).toBe(true);
        }
      }),
    );
  });
});

describe('containsNationalIdentifier', () => {
  it('finds a valid NHS number, UPN or NI number alone or inside a reference', () => {
    for (const text of [
      '9434765919',
      '943 476 5919',
      '943-476-5919',
      'NHS:9434765919',
      'nhs9434765919',
      'REF/9434765919/2',
      'JG103759A',
      'jg103759',
      'REF-JG103759A',
      'B801200005001',
      'upn:b801200005001',
      'upnB801200005001',
      'form-20260129-B801200005001',
      // Written with any separator a reference may hold (found by a review).
      '943.476.5919',
      '943/476/5919',
      '943_476_5919',
      'NHS:943:476:5919',
      'JG-10-37-59-A',
      'JG.10.37.59.A',
      'JG 10 37 59 A',
      'B.8012.0000.5001',
      'upn:B-8012-0000-5001',
    ])
      expect(containsNationalIdentifier(text), text).toBe(true);
  });

  it('passes references that only look like one: wrong check digit or letter, unallocated prefix, other lengths', () => {
    for (const text of [
      'form-123',
      'DPO/OPTOUT/2026-0042',
      '9434765918',
      '94347659190',
      '0000000000',
      'A801200005001',
      'QQ123456C',
      'JG1037590',
      'CASE-2026-000123',
    ])
      expect(containsNationalIdentifier(text), text).toBe(false);
  });

  it('passes a reference filed by its date and a serial or a time, whatever the date', () => {
    // A word's last letter and eleven of the digits after it, separators skipped, had read as a
    // UPN whenever that letter was their check letter: one reference in 23 refused (found by a
    // defect hunt, "form-20260129-0029", "form-2026-01-17-1717").
    const refused: string[] = [];
    for (let day = 0; day < 365; day++) {
      const date = new Date(Date.UTC(2026, 0, 1 + day)).toISOString().slice(0, 10);
      const references = [];
      for (let serial = 0; serial < 100; serial++) {
        references.push(`form-${date.replace(/-/g, '')}-${String(serial).padStart(4, '0')}`);
      }
      for (let hour = 0; hour < 24; hour++) {
        for (const minute of ['00', '17', '30', '45']) {
          references.push(`form-${date}-${String(hour).padStart(2, '0')}${minute}`);
        }
      }
      refused.push(...references.filter((reference) => containsNationalIdentifier(reference)));
    }
    expect({ refused: refused.length, first: refused.slice(0, 3) }).toEqual({ refused: 0, first: [] });
    for (const text of ['form-20260129-0029', 'form-2026-01-17-1717', 'case-20260129-0005', 'doc/20260129/0023'])
      expect(containsNationalIdentifier(text), text).toBe(false);
  });

  it('finds every generated identifier, whatever surrounds it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom('', 'REF:', 'x/', 'CASE-'),
        fc.constantFrom('', '/1', '.pdf', '-A'),
        (seed, before, after) => {
          let state = seed;
          const rng = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
          return [generateNhsNumber(rng), generateUpn(rng), generateNiNumber(rng)].every((id) =>
            containsNationalIdentifier(before + id + after),
          );
        },
      ),
    );
  });
});
