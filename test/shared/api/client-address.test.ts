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

  it('gives one key to every call that names no address', () => {
    for (const sent of [null, undefined, '', 'unknown', 'evil.example, <script>', '999.1.1.1:80'])
      expect(clientAddressOf(sent)).toBe('unknown');
  });
});
