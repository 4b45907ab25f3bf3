import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { parsePartyDirectory, PartyDirectoryError, resolveCaller } from '../../../shared/agreements/party-directory.js';
import { AGREEMENTS_DIR } from './agreement-files.js';

const agreements = loadAgreements(AGREEMENTS_DIR, { now: new Date('2026-03-01') });
const ICF = '0f1e2d3c-4b5a-6978-8a9b-acbdcedfe0f1';
const DUDLEY = '11111111-2222-3333-4444-555555555555';

describe('PARTY_CLIENT_IDS', () => {
  const directory = parsePartyDirectory(
    JSON.stringify({ [ICF]: 'icf-research', [DUDLEY]: 'dudley-housing-options', 'local-dev-client': 'la-housing' }),
    agreements,
  );

  it('maps a client id to its party, ignoring the case of a GUID', () => {
    expect(directory.partyIdFor(ICF)).toBe('icf-research');
    expect(directory.partyIdFor(ICF.toUpperCase())).toBe('icf-research');
    expect(directory.partyIdFor('local-dev-client')).toBe('la-housing');
    expect(directory.partyIdFor('LOCAL-DEV-CLIENT')).toBeUndefined();
    expect(directory.clientIdsFor('icf-research')).toEqual([ICF]);
  });

  it('rejects a party that no agreement knows, naming the party', () => {
    expect(() => parsePartyDirectory(JSON.stringify({ [ICF]: 'icf' }), agreements)).toThrowError(
      new PartyDirectoryError("party 'icf' is not a party to any loaded agreement"),
    );
  });

  it('rejects a setting that is not a JSON object of strings', () => {
    expect(() => parsePartyDirectory('{not json', agreements)).toThrowError(/PARTY_CLIENT_IDS: is not valid JSON/);
    expect(() => parsePartyDirectory('["icf-research"]', agreements)).toThrowError(/expected an object/);
    expect(() => parsePartyDirectory(JSON.stringify({ [ICF]: 42 }), agreements)).toThrowError(/expected an object/);
  });

  it('rejects one GUID listed twice in different case', () => {
    expect(() =>
      parsePartyDirectory(JSON.stringify({ [ICF]: 'icf-research', [ICF.toUpperCase()]: 'la-housing' }), agreements),
    ).toThrowError(/listed twice/);
  });

  // JSON.parse keeps the last of a name given twice: a line copied for a new party with the client
  // id left unchanged moved the partner's client to the new party, which it then called as.
  it('rejects one client id written twice, naming both parties, not taking the second', () => {
    const setting = `{"${ICF}": "icf-research", "${DUDLEY}": "dudley-housing-options", "${ICF}": "la-housing"}`;
    expect(() => parsePartyDirectory(setting, agreements)).toThrowError(
      new PartyDirectoryError("a client id is listed twice (mapped to 'icf-research' and 'la-housing')"),
    );
    expect(() => parsePartyDirectory(setting, agreements, { checkParties: false })).toThrowError(/listed twice/);
  });

  it('reads a client id or party written with JSON escapes as the same one', () => {
    const escaped = parsePartyDirectory(
      `{"local-dev-\\u0063lient": "la-\\u0068ousing", "a\\"b": "icf-research"}`,
      agreements,
    );
    expect(escaped.partyIdFor('local-dev-client')).toBe('la-housing');
    expect(escaped.partyIdFor('a"b')).toBe('icf-research');
  });

  it('recognises nobody when the setting is absent', () => {
    expect(parsePartyDirectory(undefined, agreements).partyIdFor(ICF)).toBeUndefined();
  });
});

describe('resolveCaller', () => {
  const directory = parsePartyDirectory(
    JSON.stringify({ [ICF]: 'icf-research', [DUDLEY]: 'dudley-housing-options' }),
    agreements,
  );

  it('gives the party and the roles it holds', () => {
    expect(resolveCaller({ clientId: DUDLEY, roles: ['housing-officer', 'dpo'] }, directory, agreements)).toEqual({
      partyId: 'dudley-housing-options',
      roles: ['housing-officer', 'dpo'],
    });
  });

  it("drops roles the party does not hold, so a token cannot claim another partner's role", () => {
    expect(
      resolveCaller(
        { clientId: ICF, roles: ['researcher', 'senior-officer', 'housing-officer'] },
        directory,
        agreements,
      ),
    ).toEqual({
      partyId: 'icf-research',
      roles: ['researcher'],
    });
  });

  it('is null for a client id not mapped to a party', () => {
    expect(resolveCaller({ clientId: 'someone-else', roles: ['researcher'] }, directory, agreements)).toBeNull();
  });
});
