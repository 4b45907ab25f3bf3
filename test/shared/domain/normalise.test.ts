import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  canonicalGivenName,
  dateVariants,
  digitDifferences,
  familyNameKey,
  familyNameKeyColumn,
  familyNameSpellings,
  firstThree,
  givenNamesEquivalent,
  isDayMonthTransposition,
  nameTokens,
  normaliseDate,
  normaliseName,
} from '../../../shared/domain/normalise.js';

describe('normaliseName', () => {
  it('drops diacritics, whether the input is composed or decomposed', () => {
    expect(normaliseName('Zoë Brontë')).toBe('ZOE BRONTE');
    expect(normaliseName('Jose\u0301')).toBe('JOSE');
    expect(normaliseName('José')).toBe('JOSE');
    expect(normaliseName('Łukasz Żółć')).toBe('LUKASZ ZOLC');
  });

  it('transliterates letters that have no decomposition', () => {
    expect(normaliseName('Øyvind')).toBe('OYVIND');
    expect(normaliseName('Straße')).toBe('STRASSE');
    expect(normaliseName('Æthelflæd')).toBe('AETHELFLAED');
    expect(normaliseName('Đorđe')).toBe('DORDE');
  });

  it('removes every apostrophe variant without leaving a gap', () => {
    for (const name of ["O'Brien", 'O’Brien', 'O‘Brien', 'O`Brien', 'O´Brien', 'Oʼbrien', 'OBrien']) {
      expect(normaliseName(name)).toBe('OBRIEN');
    }
  });

  it('removes a middle dot between letters as it does an apostrophe, so "Gal·la" is "Galla"', () => {
    // The Catalan punt volat (U+00B7), its canonical equivalent the Greek ano teleia (U+0387), and
    // the look-alikes typed for it: the hyphenation point (U+2027), the modifier letter U+02D1.
    // Ŀ and ŀ (U+013F, U+0140), the older Catalan spelling, decompose (NFKD) to l and that dot.
    for (const name of ['Gal·la', 'Gal\u0387la', 'Gal\u2027la', 'Gal\u02D1la', 'Gaŀla', 'GAĿLA', 'Galla']) {
      expect(normaliseName(name)).toBe('GALLA');
    }
    expect(nameTokens('Marcel·lí Gal·la')).toEqual(['MARCELLI', 'GALLA']);
    expect(firstThree('L·lúcia')).toBe('LLU');
    // The katakana middle dot separates the words of a name written in katakana (John Smith).
    expect(nameTokens('ジョン・スミス')).toEqual(['ジョン', 'スミス']);
  });

  it('turns every hyphen variant into a single space', () => {
    for (const name of [
      'Smith-Jones',
      'Smith‐Jones',
      'Smith‑Jones',
      'Smith‒Jones',
      'Smith–Jones',
      'Smith—Jones',
      'Smith−Jones',
      'Smith - Jones',
      'smith jones',
    ]) {
      expect(normaliseName(name)).toBe('SMITH JONES');
    }
  });

  it('collapses whitespace, drops other punctuation and invisible characters', () => {
    expect(normaliseName('  mary \t  ann\n')).toBe('MARY ANN');
    expect(normaliseName('St. John')).toBe('ST JOHN');
    expect(normaliseName('Smith, John (Jnr)')).toBe('SMITH JOHN JNR');
    expect(normaliseName('Smi\u00ADth')).toBe('SMITH');
    expect(normaliseName('\uFEFFSmith\u200B')).toBe('SMITH');
    expect(normaliseName('...')).toBe('');
  });

  it('keeps letters of other scripts rather than emptying the name', () => {
    expect(normaliseName('محمد')).not.toBe('');
    expect(normaliseName('محمد')).not.toBe(normaliseName('علي'));
    expect(normaliseName('Андрей')).toBe('АНДРЕИ');
  });

  it('keeps the marks that are part of a letter in other scripts, and drops optional vowel points', () => {
    // A Devanagari vowel sign is a letter of the name: राम is Ram, रमा Rama.
    expect(normaliseName('राम')).not.toBe(normaliseName('रमा'));
    // The voicing of a kana: ゴトウ is Gotō, コトウ Kotō.
    expect(normaliseName('ゴトウ')).not.toBe(normaliseName('コトウ'));
    expect(normaliseName('ゴトウ')).toBe('ゴトウ');
    // Arabic harakat and Hebrew niqqud are written by one feed and left out by another.
    expect(normaliseName('مُحَمَّد')).toBe(normaliseName('محمد'));
    expect(normaliseName('שָׂרָה')).toBe(normaliseName('שרה'));
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 24 }), (s) => {
        const once = normaliseName(s);
        expect(normaliseName(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent, and gives canonically equivalent spellings one form, for every character', () => {
    // Random strings rarely hit the characters that matter: ŉ decomposes (NFKD) to an apostrophe
    // and n; Greek varia and oxia (U+1FEF, U+1FFD) are canonically the grave and acute accents,
    // which are apostrophes here. Every code point, between letters as it would stand in a name.
    const failures: string[] = [];
    for (let cp = 0x20; cp <= 0x2ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const name = `O${String.fromCodePoint(cp)}Brien`;
      const once = normaliseName(name);
      if (
        normaliseName(once) !== once ||
        normaliseName(name.normalize('NFC')) !== once ||
        normaliseName(name.normalize('NFD')) !== once
      ) {
        failures.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('only ever returns single-spaced, trimmed, upper-case text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 24 }), (s) => {
        const out = normaliseName(s);
        expect(out).toBe(out.trim());
        expect(out).not.toMatch(/ {2}|[a-z'’-]/);
      }),
    );
  });

  it('gives plain ASCII names the same result on its fast path as on the full one', () => {
    // A leading zero-width space fails the fast path's test and is then removed as invisible.
    const word = fc.string({ unit: fc.constantFrom(..."abcXYZ0129 -'"), minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(word, (s) => {
        expect(normaliseName(s)).toBe(normaliseName(`\u200B${s}`));
      }),
      { numRuns: 2000 },
    );
    expect(normaliseName('Keith Jones')).toBe('KEITH JONES');
  });
});

describe('nameTokens', () => {
  it('splits a normalised name into tokens', () => {
    expect(nameTokens(' Anne-Marie  de la Cruz ')).toEqual(['ANNE', 'MARIE', 'DE', 'LA', 'CRUZ']);
    expect(nameTokens('  ')).toEqual([]);
  });
});

describe('familyNameKey and familyNameSpellings', () => {
  it('compares a family name with or without a space after O, D, Mc or Mac as one name', () => {
    for (const [spaced, joined] of [
      ['O Brien', "O'Brien"],
      ['D Souza', "D'Souza"],
      ['Mc Donald', 'McDonald'],
      ['Mac Donald Smith', 'MacDonald-Smith'],
    ] as const) {
      expect(familyNameKey(normaliseName(spaced))).toBe(familyNameKey(normaliseName(joined)));
    }
    expect(familyNameKey('O BRIEN')).toBe('OBRIEN');
  });

  it('leaves a first word that is a name of its own, and a lone prefix, as they are', () => {
    for (const name of ['VAN DYKE', 'LE ROUX', 'DE SOUZA', 'ST JOHN', 'A SMITH', 'O', 'MAC', 'SMITH']) {
      expect(familyNameKey(name)).toBe(name);
    }
  });

  it('lists every stored spelling with the same key, at most two', () => {
    expect(familyNameSpellings('O BRIEN')).toEqual(['OBRIEN', 'O BRIEN']);
    expect(familyNameSpellings('OBRIEN')).toEqual(['OBRIEN', 'O BRIEN']);
    expect(familyNameSpellings('MACDONALD')).toEqual(['MACDONALD', 'MAC DONALD']);
    expect(familyNameSpellings('MC DONALD')).toEqual(['MCDONALD', 'MC DONALD']);
    expect(familyNameSpellings('VAN DYKE')).toEqual(['VAN DYKE']);
    expect(familyNameSpellings('SMITH')).toEqual(['SMITH']);
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z]{1,6}( [A-Z]{1,6}){0,2}$/), (name) => {
        const key = familyNameKey(name);
        expect(familyNameKey(key)).toBe(key);
        const spellings = familyNameSpellings(name);
        expect(spellings.length).toBeLessThanOrEqual(2);
        expect(spellings).toContain(name);
        for (const spelling of spellings) expect(familyNameKey(spelling)).toBe(key);
      }),
    );
  });

  it('gives a column back unchanged, not copied, when no name in it changes', () => {
    const plain = ['SMITH', 'OBRIEN', 'VAN DYKE'];
    expect(familyNameKeyColumn(plain)).toBe(plain);
    expect(familyNameKeyColumn(['SMITH', 'O BRIEN'])).toEqual(['SMITH', 'OBRIEN']);
  });
});

describe('firstThree', () => {
  it('takes the first three letters of the normalised first name, ignoring spaces', () => {
    expect(firstThree('Élodie')).toBe('ELO');
    expect(firstThree('jo-anne')).toBe('JOA');
    expect(firstThree('Jo Anne')).toBe('JOA');
    expect(firstThree("D'Arcy")).toBe('DAR');
    expect(firstThree('Al')).toBe('AL');
    expect(firstThree('')).toBe('');
    expect(firstThree('2 Ed')).toBe('ED');
  });

  it('takes letters only, leaving out the marks a name keeps (the key is three characters wide)', () => {
    expect(firstThree('सीताराम')).toBe('सतर');
    // A kana with its voicing is one letter once composed again.
    expect(firstThree('ゴトウ')).toBe('ゴトウ');
  });
});

describe('canonicalGivenName', () => {
  it('maps common UK nicknames to the formal name', () => {
    const cases: [string, string][] = [
      ['Bill', 'WILLIAM'],
      ['will', 'WILLIAM'],
      ['Bob', 'ROBERT'],
      ['Liz', 'ELIZABETH'],
      ['Beth', 'ELIZABETH'],
      ['Peggy', 'MARGARET'],
      ['Jim', 'JAMES'],
      ['Kate', 'CATHERINE'],
      ['Katie', 'CATHERINE'],
      ['Katherine', 'CATHERINE'],
      ['Mike', 'MICHAEL'],
      ['Tom', 'THOMAS'],
      ['Dave', 'DAVID'],
      ['Chris', 'CHRISTOPHER'],
      ['Sam', 'SAMUEL'],
      ['Alex', 'ALEXANDER'],
      ['Jenny', 'JENNIFER'],
      ['Dan', 'DANIEL'],
      ['Joe', 'JOSEPH'],
      ['Ben', 'BENJAMIN'],
      ['Nick', 'NICHOLAS'],
      ['Harry', 'HENRY'],
      ['Jack', 'JOHN'],
      ['Sue', 'SUSAN'],
      ['Debbie', 'DEBORAH'],
      ['Becky', 'REBECCA'],
      ['Mandy', 'AMANDA'],
      ['Vicky', 'VICTORIA'],
      ['Mohammed', 'MUHAMMAD'],
    ];
    for (const [nickname, formal] of cases) expect(canonicalGivenName(nickname)).toBe(formal);
  });

  it('leaves formal and unknown names as their normalised selves', () => {
    expect(canonicalGivenName('William')).toBe('WILLIAM');
    expect(canonicalGivenName('Zoë')).toBe('ZOE');
    expect(canonicalGivenName('Oluwaseun')).toBe('OLUWASEUN');
  });
});

describe('givenNamesEquivalent', () => {
  it('recognises nickname pairs in either direction', () => {
    expect(givenNamesEquivalent('Bill', 'William')).toBe(true);
    expect(givenNamesEquivalent('william', 'WILL')).toBe(true);
    expect(givenNamesEquivalent('Bill', 'Will')).toBe(true);
    expect(givenNamesEquivalent('Zoë', 'ZOE')).toBe(true);
  });

  it('uses every reading of an ambiguous nickname', () => {
    expect(givenNamesEquivalent('Alex', 'Alexander')).toBe(true);
    expect(givenNamesEquivalent('Alex', 'Alexandra')).toBe(true);
    expect(givenNamesEquivalent('Sam', 'Samantha')).toBe(true);
    expect(givenNamesEquivalent('Alexander', 'Alexandra')).toBe(false);
  });

  it('does not equate unrelated or blank names', () => {
    expect(givenNamesEquivalent('Bill', 'Robert')).toBe(false);
    expect(givenNamesEquivalent('Oluwaseun', 'Olu')).toBe(false);
    expect(givenNamesEquivalent('', '')).toBe(false);
  });
});

describe('normaliseDate', () => {
  it('accepts ISO and day-first layouts and returns ISO', () => {
    expect(normaliseDate('2001-03-04')).toEqual({ ok: true, value: '2001-03-04' });
    expect(normaliseDate('04/03/2001')).toEqual({ ok: true, value: '2001-03-04' });
    expect(normaliseDate('4/3/2001')).toEqual({ ok: true, value: '2001-03-04' });
    expect(normaliseDate('4-3-2001')).toEqual({ ok: true, value: '2001-03-04' });
    expect(normaliseDate(' 04.03.2001 ')).toEqual({ ok: true, value: '2001-03-04' });
  });

  it('rejects dates that do not exist, with Gregorian leap years', () => {
    expect(normaliseDate('29/02/2000')).toEqual({ ok: true, value: '2000-02-29' });
    expect(normaliseDate('29/02/2024')).toEqual({ ok: true, value: '2024-02-29' });
    for (const bad of [
      '29/02/1900',
      '29/02/2023',
      '31/02/2001',
      '31/04/2001',
      '2001-13-01',
      '00/01/2001',
      '2001-01-00',
      '32/01/2001',
      '0000-01-01',
    ]) {
      expect(normaliseDate(bad)).toEqual({ ok: false, reason: 'date-calendar' });
    }
  });

  it('refuses layouts it would have to guess at', () => {
    for (const bad of [
      '04/03/01',
      '2001/03/04',
      '04-03/2001',
      '2001-3-4',
      '4 March 2001',
      '20010304',
      '04/03/2001 10:00',
    ]) {
      expect(normaliseDate(bad)).toEqual({ ok: false, reason: 'date-format' });
    }
    expect(normaliseDate('  ')).toEqual({ ok: false, reason: 'date-missing' });
  });

  it('round-trips every real date written day first', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }),
        (d) => {
          const iso = d.toISOString().slice(0, 10);
          const [y, m, day] = iso.split('-');
          expect(normaliseDate(`${day}/${m}/${y}`)).toEqual({ ok: true, value: iso });
          expect(normaliseDate(iso)).toEqual({ ok: true, value: iso });
        },
      ),
    );
  });
});

describe('date comparison helpers', () => {
  it('spots a day-month transposition', () => {
    expect(isDayMonthTransposition('2001-03-04', '2001-04-03')).toBe(true);
    expect(isDayMonthTransposition('2001-03-04', '2002-04-03')).toBe(false);
    expect(isDayMonthTransposition('2001-03-03', '2001-03-03')).toBe(false);
    expect(isDayMonthTransposition('2001-03-04', '2001-03-05')).toBe(false);
    expect(isDayMonthTransposition('04/03/2001', '03/04/2001')).toBe(false);
  });

  it('counts differing digits', () => {
    expect(digitDifferences('2001-03-04', '2001-03-04')).toBe(0);
    expect(digitDifferences('2001-03-04', '2001-03-07')).toBe(1);
    expect(digitDifferences('2001-03-04', '2001-04-03')).toBe(2);
    expect(digitDifferences('1985-03-04', '1958-03-04')).toBe(2);
    expect(digitDifferences('2001-03-04', '2001-03-0')).toBe(1);
  });

  it('offers the transposed date as a blocking variant only when it is a real, different date', () => {
    expect(dateVariants('2001-03-04')).toEqual(['2001-03-04', '2001-04-03']);
    expect(dateVariants('2001-03-03')).toEqual(['2001-03-03']);
    expect(dateVariants('2001-03-25')).toEqual(['2001-03-25']);
    expect(dateVariants('2001-02-31')).toEqual([]);
    expect(dateVariants('04/03/2001')).toEqual([]);
  });
});
