import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address a call came from, as the key of the limit on calls without a valid token
 * (request-pipeline.ts). Neither the Functions runtime nor the local host hands a function its
 * socket: the platform's front end appends the address it accepted the connection from to
 * `X-Forwarded-For` (`203.0.113.5:51234`), and the local host does the same (http-server.ts).
 * Only that last entry is the front end's own; whatever precedes it the caller wrote.
 *
 * An IPv6 address counts by its /64, the block one subscriber or host is given: anyone holding
 * one could otherwise draw a fresh limit with every request. A header that names no address
 * gives `unknown`, one key for all such calls. The address is a key in memory only: it is
 * personal data, and never logged.
 */
export function clientAddressOf(forwardedFor: string | null | undefined): string {
  let address = forwardedFor?.split(',').at(-1)?.trim() ?? '';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  address = address.replace(/%.*$/, '');
  const mapped = /^::ffff:([\d.]+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return `${firstFourGroups(address)}::/64`;
  return 'unknown';
}

/** The first four 16-bit groups of an IPv6 address, `::` expanded, without leading zeros. */
function firstFourGroups(address: string): string {
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  // An embedded IPv4 address (always last) fills two groups.
  const width = (parts: string[]) => parts.reduce((n, part) => n + (part.includes('.') ? 2 : 1), 0);
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all =
    tail === undefined ? before : [...before, ...Array<string>(8 - width(before) - width(after)).fill('0'), ...after];
  return all
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':');
}
