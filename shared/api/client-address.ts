import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address a call came from, as the key of the limit on calls without a valid token
 * (request-pipeline.ts). Neither the Functions runtime nor the local host hands a function its
 * socket: the platform's front end appends the address it accepted the connection from to
 * `X-Forwarded-For` (`203.0.113.5:51234`), and the local host does the same (http-server.ts).
 * Only that last entry is the front end's own; whatever precedes it the caller wrote.
 *
 * An IPv6 address counts by its /64, the block one subscriber or host is given: anyone holding
 * one could otherwise draw a fresh limit with every request. It may come with its port and no
 * brackets (`2001:db8::5:51234`), which no rule splits for certain; the port is read as the last
 * group when it is decimal and what is left is an address (ipv6WithoutPort), because a front end
 * appending `address:port` appends a port every time. A header that names no address gives
 * `unknown`, one key for all such calls. The address is a key in memory only: it is personal
 * data, and never logged.
 */
export function clientAddressOf(forwardedFor: string | null | undefined): string {
  let address = forwardedFor?.split(',').at(-1)?.trim() ?? '';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  else address = ipv6WithoutPort(address);
  address = address.replace(/%.*$/, '');
  const mapped = /^::ffff:([\d.]+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return `${firstFourGroups(address)}::/64`;
  return 'unknown';
}

/**
 * An unbracketed IPv6 address without the port a front end appended, or `address` as it is.
 * Read the other way, a port of four digits or fewer also makes a valid address
 * (`2001:db8::1:2:3:4:1234`), and where `::` stands in the first four groups the port shifts the
 * groups after it into the /64: a caller choosing its port and the low bits of its address could
 * then draw a fresh limit with each. Reading a port that was not there at worst moves those
 * groups the other way, the same way for every call from that address.
 */
function ipv6WithoutPort(address: string): string {
  const port = /^(.*:.*):(\d{1,5})$/.exec(address);
  if (!port || Number(port[2]) > 65535) return address;
  const withoutPort = port[1]!;
  return isIPv6(withoutPort.replace(/%.*$/, '')) ? withoutPort : address;
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
