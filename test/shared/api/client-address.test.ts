import { describe, expect, it } from 'vitest';
import { clientAddressOf } from '../../../shared/api/client-address.js';

describe('client address', () => {
  it("reads the front end's own entry, the last, without its port", () => {
    expect(clientAddressOf('203.0.113.5:51234')).toBe('203.0.113.5');
    expect(clientAddressOf('10.0.0.1, 9.9.9.9,203.0.113.5:51234')).toBe('203.0.113.5');
    expect(clientAddressOf('203.0.113.5')).toBe('203.0.113.5');
    expect(clientAddressOf('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    expect(clientAddressOf('[2001:db8:0:1::5]:443')).toBe('2001:db8:0:1::/64');
    expect(clientAddressOf('2001:0db8:0000:0001:ffff:0:0:9')).toBe('2001:db8:0:1::/64');
    expect(clientAddressOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddressOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddressOf('::1')).toBe('0:0:0:0::/64');
  });

  it('counts an unbracketed IPv6 address with its port by its /64', () => {
    expect(clientAddressOf('2001:db8:0:1::5:51234')).toBe('2001:db8:0:1::/64');
    expect(clientAddressOf('10.0.0.1, 2001:db8:0:1:0:0:0:5:443')).toBe('2001:db8:0:1::/64');
    expect(clientAddressOf('2001:db8::1:443')).toBe('2001:db8:0:0::/64');
    expect(clientAddressOf('fe80::1%eth0:51234')).toBe('fe80:0:0:0::/64');
    expect(clientAddressOf('::ffff:203.0.113.5:51234')).toBe('203.0.113.5');
    // With a port of four digits it reads as an address too, whose /64 takes in the group the
    // caller chose after `::`: one limit for each it chose.
    expect(clientAddressOf('2001:db8::7:2:3:4:1234')).toBe('2001:db8:0:0::/64');
    expect(clientAddressOf('2001:db8::8:2:3:4:1234')).toBe('2001:db8:0:0::/64');
  });

  it('reads an IPv4-mapped IPv6 address written in hex as its IPv4 address, with or without its port', () => {
    // Else every such caller would share the one /64 of ::ffff:0:0 (0:0:0:0::/64).
    expect(clientAddressOf('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(clientAddressOf('[::ffff:cb00:7105]:51234')).toBe('203.0.113.5');
    expect(clientAddressOf('[::FFFF:CB00:7105]')).toBe('203.0.113.5');
    expect(clientAddressOf('::ffff:cb00:7106:51234')).toBe('203.0.113.6');
    expect(clientAddressOf('10.0.0.1, 0:0:0:0:0:ffff:cb00:7107')).toBe('203.0.113.7');
    expect(clientAddressOf('0:0::ffff:203.0.113.8:443')).toBe('203.0.113.8');
    // Not mapped: another prefix before ffff, or ffff elsewhere, is an IPv6 address.
    expect(clientAddressOf('2001:db8::ffff:7f00:1')).toBe('2001:db8:0:0::/64');
    expect(clientAddressOf('::1:ffff:7f00:1')).toBe('0:0:0:0::/64');
  });

  it('keeps a full IPv6 address whose last group could read as a port', () => {
    expect(clientAddressOf('2001:db8:0:1:0:0:0:5')).toBe('2001:db8:0:1::/64');
    expect(clientAddressOf('2001:db8:0:2::443')).toBe('2001:db8:0:2::/64');
  });

  it('gives one key to every call that names no address', () => {
    for (const sent of [
      null,
      undefined,
      '',
      'unknown',
      'evil.example, <script>',
      '999.1.1.1:80',
      '2001:db8::1:99999',
      '1:2:3:4:5:6:7:8:9:443',
    ])
      expect(clientAddressOf(sent)).toBe('unknown');
  });
});
