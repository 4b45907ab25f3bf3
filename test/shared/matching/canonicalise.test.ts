import { describe, expect, it } from 'vitest';
import { generateUpn } from '../../../shared/domain/identifiers.js';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { RecordBatchBuilder, canonicalSystemName, normaliseAddress } from '../../../shared/matching/canonicalise.js';

const pseudonymiser = new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 3) });

describe('RecordBatchBuilder', () => {
  it('pseudonymises the same identifier written two ways to the same hash', () => {
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({ recordId: '1', nhsNumber: '943 476 5919', niNumber: 'ab 12 34 56 c' });
    b.add({ recordId: '2', nhsNumber: '9434765919', niNumber: 'AB123456' });
    const { batch } = b.build();
    expect(batch.nhsHash[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(batch.nhsHash[0]).toBe(batch.nhsHash[1]);
    expect(batch.niHash[0]).toBe(batch.niHash[1]);
    expect(batch.nhsHash[0]).not.toContain('9434765919');
  });

  it('drops invalid values, counts them by reason and keeps the rest of the record', () => {
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({
      recordId: '1',
      givenName: 'Zoë',
      familyName: "O'Brien",
      dob: '31/02/2001',
      postcode: 'me141xx',
      nhsNumber: '9434765918',
    });
    const { batch, report } = b.build();
    expect(batch.nhsHash[0]).toBe('');
    expect(batch.dob[0]).toBe('');
    expect(batch.givenName[0]).toBe('ZOE');
    expect(batch.familyName[0]).toBe('OBRIEN');
    expect(batch.postcode[0]).toBe('ME14 1XX');
    expect(report).toEqual({ 'nhs-number-check-digit': 1, 'date-calendar': 1 });
  });

  it('matches on no NHS pseudo-postcode: no fixed abode is no postcode to the engine, and is counted', () => {
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({ recordId: '1', givenName: 'John', familyName: 'Smith', postcode: 'zz99 3vz' });
    b.add({ recordId: '2', givenName: 'John', familyName: 'Smith', postcode: 'ZZ99 3WZ' });
    const { batch, report } = b.build();
    expect(batch.postcode).toEqual(['', '']);
    expect(report).toEqual({ 'postcode-pseudo': 2 });
  });

  it('matches on no forces postcode: a whole unit shares BFPO 61, so it is no postcode to the engine, and is counted', () => {
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({ recordId: '1', givenName: 'John', familyName: 'Smith', postcode: 'bfpo 61' });
    b.add({ recordId: '2', givenName: 'John', familyName: 'Smith', postcode: 'BF1 4FB' });
    b.add({ recordId: '3', givenName: 'John', familyName: 'Smith', postcode: 'ME15 2YY' });
    const { batch, report } = b.build();
    expect(batch.postcode).toEqual(['', '', 'ME15 2YY']);
    expect(report).toEqual({ 'postcode-forces': 2 });
  });

  it('links on no placeholder given name: "Baby" and "Unknown" are no given name to the engine, and are counted', () => {
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({ recordId: '1', givenName: 'Baby', familyName: 'Smith', dob: '2025-11-20' });
    b.add({ recordId: '2', givenName: 'unknown', familyName: 'Jones' });
    b.add({ recordId: '3', givenName: 'Babette', familyName: 'Smith', dob: '2025-11-20' });
    const { batch, report } = b.build();
    expect(batch.givenName).toEqual(['', '', 'BABETTE']);
    expect(report).toEqual({ 'given-name-placeholder': 2 });
  });

  it('links on no temporary UPN: reissued to other children, it is no UPN to the engine, and is counted', () => {
    const temporary = generateUpn(() => 0.37, { laNumber: '886', temporary: true });
    const permanent = generateUpn(() => 0.37, { laNumber: '886' });
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({ recordId: '1', givenName: 'Amy', upn: temporary });
    b.add({ recordId: '2', givenName: 'Ben', upn: temporary.toLowerCase() });
    b.add({ recordId: '3', givenName: 'Cara', upn: permanent });
    b.add({ recordId: '4', givenName: 'Dan', upn: 'F999999999999' });
    const { batch, report } = b.build();
    expect(batch.upnHash.slice(0, 2)).toEqual(['', '']);
    expect(batch.upnHash[2]).toMatch(/^[0-9a-f]{64}$/);
    expect(batch.upnHash[3]).toBe('');
    expect(report).toEqual({ 'upn-temporary': 2, 'upn-placeholder': 1 });
  });

  it('hashes the same system id differently under two systems, and aligns system columns', () => {
    const b = new RecordBatchBuilder('s', pseudonymiser);
    b.add({ recordId: '1', systemIds: [{ system: 'Mosaic', id: '12345' }] });
    b.add({ recordId: '2' });
    b.add({ recordId: '3', systemIds: [{ system: 'capita one', id: '12345' }] });
    const { batch } = b.build();
    const mosaic = batch.systemIds.get('mosaic');
    const capita = batch.systemIds.get('capita-one');
    expect(mosaic).toHaveLength(3);
    expect(capita).toHaveLength(3);
    expect(mosaic?.[0]).not.toBe('');
    expect(mosaic?.[0]).not.toBe(capita?.[2]);
    expect(capita?.[0]).toBe('');
  });
});

describe('normalisation helpers', () => {
  it('expands street abbreviations so two keyings of one address compare equal', () => {
    expect(normaliseAddress('12 Church Rd')).toBe(normaliseAddress('12 CHURCH ROAD'));
    expect(normaliseAddress('3 St Johns Ave')).toBe('3 ST JOHNS AVENUE');
    expect(normaliseAddress('4 High St')).toBe('4 HIGH STREET');
  });

  it('makes system names fit pseudonym kinds', () => {
    expect(canonicalSystemName(' Capita One ')).toBe('capita-one');
    expect(() => canonicalSystemName('  ')).toThrow(RangeError);
  });
});
