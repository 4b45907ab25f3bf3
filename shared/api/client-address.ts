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
  else if (ipv4Mapped(address) === undefined) address = ipv6WithoutPort(address);
  address = address.replace(/%.*$/, '');
  address = ipv4Mapped(address) ?? address;
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return `${groupsOf(address).slice(0, 4).join(':')}::/64`;
  return 'unknown';
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address (`::ffff:0:0/96`) stands for, however it is
 * written (`::ffff:127.0.0.1`, `::ffff:7f00:1`, `0:0:0:0:0:ffff:7f00:1`): a dual-stack socket
 * reports an IPv4 caller so, and by its /64 every such caller would share one limit. Undefined
 * for any other address. Read before a port is looked for: `::ffff:7f00:1` would otherwise lose
 * its last group as one, and only a caller at `::ffff:7f00`, no address on the internet, could
 * choose the group its port then stands for.
 */
function ipv4Mapped(address: string): string | undefined {
  if (!isIPv6(address)) return undefined;
  const groups = groupsOf(address);
  if (groups.slice(0, 5).some((group) => group !== '0') || groups[5] !== 'ffff') return undefined;
  const [high, low] = groups.slice(6).map((group) => parseInt(group, 16));
  return [high! >> 8, high! & 0xff, low! >> 8, low! & 0xff].join('.');
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

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded, in lower-case hex without leading zeros. */
function groupsOf(address: string): string[] {
  const [head = '', tail] = address.split('::');
  // An embedded IPv4 address (always last) is its two groups.
  const groups = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [group];
          const [a, b, c, d] = group.split('.').map(Number);
          return [((a! << 8) | b!).toString(16), ((c! << 8) | d!).toString(16)];
        });
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all =
    tail === undefined ? before : [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after];
  return all.map((group) => parseInt(group, 16).toString(16));
}
