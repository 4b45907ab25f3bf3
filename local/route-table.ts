import type { HttpRegistration } from '../functions/registry.js';

export interface RouteMatch {
  registration: HttpRegistration;
  params: Record<string, string>;
}

interface CompiledRoute {
  registration: HttpRegistration;
  pattern: RegExp;
  names: string[];
  /** Per parameter name, the checks its route constraints make of the decoded value. */
  constraints: Map<string, ((value: string) => boolean)[]>;
}

/**
 * Functions route templates (`v1/people/{personRef}`, `{id:int}`, `{*rest}`, `{name?}`,
 * `{ref:regex(^(?!search$))}`) as regular expressions. Literal segments are preferred over
 * parameters, as ASP.NET routing does.
 */
export class RouteTable {
  private readonly routes: CompiledRoute[];

  constructor(
    registrations: readonly HttpRegistration[],
    private readonly prefix = 'api',
  ) {
    this.routes = registrations
      .map((registration) => compile(registration, prefix))
      .sort((a, b) => specificity(b.registration.route) - specificity(a.registration.route));
  }

  /** `undefined` when no route has this path; `methodNotAllowed` when one has it for other methods. */
  match(method: string, pathname: string): RouteMatch | { methodNotAllowed: string[] } | undefined {
    const path = pathname.replace(/\/+$/, '') || '/';
    const wanted = method.toUpperCase() as HttpRegistration['methods'][number];
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params = decodeParams(route.names, m);
      // A value its constraint refuses is not this route's, whatever the method: the route
      // offers no methods in an Allow, as under the Functions host, where it does not match.
      if (!satisfies(route, params)) continue;
      if (!route.registration.methods.includes(wanted)) {
        allowed.push(...route.registration.methods);
        continue;
      }
      return { registration: route.registration, params };
    }
    return allowed.length > 0 ? { methodNotAllowed: [...new Set(allowed)] } : undefined;
  }
}

function decodeParams(names: readonly string[], match: RegExpExecArray): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const value = match[i + 1];
    if (value !== undefined) params[name] = decodeAsKestrel(value);
  }
  return params;
}

/**
 * A value as Kestrel's UrlDecoder leaves it in the path the Functions host routes on, which
 * ASP.NET routing then hands to the function as it stands: each escape decoded once, as UTF-8,
 * but `%2F`; and one it cannot decode kept as written, not refused — an escape that is no hex
 * pair (`%ZZ`, a `%4` at the end), or bytes that are no UTF-8 character (`%C3%28` is `%C3(`).
 * Refusing it would answer the router's 404 `not-found` where in Azure the function answers
 * (the people view its logged `no-match`).
 */
function decodeAsKestrel(value: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const at = value.indexOf('%', i);
    if (at < 0) return out + value.slice(i);
    out += value.slice(i, at);
    const { text, next } = escapedCharacter(value, at);
    out += text;
    i = next;
  }
  return out;
}

const UTF8_LEAD_MASKS = [0x7f, 0x1f, 0x0f, 0x07] as const;
const UTF8_LEAST = [0, 0x80, 0x800, 0x10000] as const;

/**
 * The character the escapes at `at` encode, and where they end; where they encode none, what
 * Kestrel copies unchanged: the `%` alone when no hex pair follows it, else the escapes up to
 * the byte that broke the sequence (which is then read afresh). It gives up at the same byte
 * Kestrel does, so the two copy the same text.
 */
function escapedCharacter(value: string, at: number): { text: string; next: number } {
  const first = escapedByte(value, at);
  if (first === undefined) return { text: '%', next: at + 1 };
  const length =
    first < 0x80 ? 1 : first >> 5 === 0b110 ? 2 : first >> 4 === 0b1110 ? 3 : first >> 3 === 0b11110 ? 4 : 0;
  if (length === 0) return { text: value.slice(at, at + 3), next: at + 3 };
  let codePoint = first & UTF8_LEAD_MASKS[length - 1]!;
  let next = at + 3;
  for (let remaining = length - 1; remaining > 0; remaining--) {
    const byte = escapedByte(value, next);
    if (byte === undefined || byte >> 6 !== 0b10) return { text: value.slice(at, next), next };
    codePoint = (codePoint << 6) | (byte & 0x3f);
    // A surrogate, or past U+10FFFF: Kestrel stops at the byte that shows it.
    const surrogate = remaining === 2 && codePoint >= 0x360 && codePoint <= 0x37f;
    if (surrogate || (remaining === 3 && codePoint >= 0x110)) return { text: value.slice(at, next), next };
    next += 3;
  }
  // An overlong form, one byte sequence too many for the character, is no UTF-8 either.
  if (codePoint < UTF8_LEAST[length - 1]!) return { text: value.slice(at, next), next };
  return { text: String.fromCodePoint(codePoint), next };
}

/**
 * The byte of a `%` and two hex digits at `at`, or undefined. `%2F` too is undefined: Kestrel
 * keeps it as sent, so that a slash it decoded could not split a segment, and routing does not
 * decode the segment again, so the function gets `abc%2Fdef`, not `abc/def`.
 */
function escapedByte(value: string, at: number): number | undefined {
  if (value[at] !== '%') return undefined;
  const hex = value.slice(at + 1, at + 3);
  if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
  const byte = parseInt(hex, 16);
  return byte === 0x2f ? undefined : byte;
}

function satisfies(route: CompiledRoute, params: Record<string, string>): boolean {
  for (const [name, checks] of route.constraints) {
    const value = params[name];
    if (value !== undefined && !checks.every((check) => check(value))) return false;
  }
  return true;
}

function specificity(route: string): number {
  return route
    .split('/')
    .reduce((score, segment) => score * 4 + (segment.startsWith('{') ? (segment.startsWith('{*') ? 0 : 1) : 2), 1);
}

function compile(registration: HttpRegistration, prefix: string): CompiledRoute {
  const names: string[] = [];
  const constraints = new Map<string, ((value: string) => boolean)[]>();
  const segments = `${prefix}/${registration.route}`.split('/').filter((s) => s.length > 0);
  let source = '';
  for (const segment of segments) {
    const param = parseParameter(segment, registration.route);
    if (!param) {
      source += '/' + segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    names.push(param.name);
    constraints.set(param.name, param.constraints);
    const body = param.catchAll ? '(.*)' : '([^/]+)';
    source += param.optional ? `(?:/${body})?` : `/${body}`;
  }
  return { registration, names, constraints, pattern: new RegExp(`^${source}$`, 'i') };
}

/**
 * A `{...}` segment as ASP.NET's template parser reads it: `*` for a catch-all, the name, then
 * `:constraint` or `:constraint(argument)` any number of times, `?` last for an optional one. An
 * argument runs to the `)` that ends the text or comes before the next `:`, so a regular
 * expression may hold parentheses. A brace inside is written doubled (`\d{{3}}` is `\d{3}`), and
 * one alone refused, as the Functions host refuses that template: read as written, `{{3}}` did not
 * match what it matches there, and a lone `{3}` routed here a template that host will not take.
 * Undefined for a literal segment.
 */
function parseParameter(
  segment: string,
  route: string,
): { name: string; catchAll: boolean; optional: boolean; constraints: ((value: string) => boolean)[] } | undefined {
  if (!segment.startsWith('{')) return undefined;
  const head = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)/.exec(segment);
  if (!head || !segment.endsWith('}')) throw new Error(`Route '${route}': cannot read the segment '${segment}'`);
  const inside = segment.slice(head[0].length, -1);
  if (/[{}]/.test(inside.replace(/\{\{|\}\}/g, '')))
    throw new Error(`Route '${route}': a brace inside '${segment}' must be doubled`);
  let rest = inside.replace(/\{\{/g, '{').replace(/\}\}/g, '}');
  const optional = rest.endsWith('?');
  if (optional) rest = rest.slice(0, -1);
  const constraints: ((value: string) => boolean)[] = [];
  while (rest.length > 0) {
    const name = /^:([a-z]+)/i.exec(rest);
    if (!name) throw new Error(`Route '${route}': cannot read the constraints of '${segment}'`);
    rest = rest.slice(name[0].length);
    let argument: string | undefined;
    if (rest.startsWith('(')) {
      let end = rest.indexOf(')');
      while (end >= 0 && end + 1 < rest.length && rest[end + 1] !== ':') end = rest.indexOf(')', end + 1);
      if (end < 0) throw new Error(`Route '${route}': unclosed constraint argument in '${segment}'`);
      argument = rest.slice(1, end);
      rest = rest.slice(end + 1);
    }
    constraints.push(constraint(name[1]!.toLowerCase(), argument, route));
  }
  return { name: head[2]!, catchAll: head[1] === '*', optional, constraints };
}

/**
 * The constraints lintel's routes use, checked as ASP.NET's are. Any other is refused when the
 * table is built: ignoring it would route here what the Functions host does not.
 */
function constraint(name: string, argument: string | undefined, route: string): (value: string) => boolean {
  if (name === 'int' && argument === undefined) return (value) => /^-?\d+$/.test(value);
  if (name === 'regex' && argument !== undefined) {
    // ASP.NET's regex constraint ignores case and is found anywhere in the value unless anchored.
    const pattern = new RegExp(asDotNetAnchors(argument), 'i');
    return (value) => pattern.test(value);
  }
  throw new Error(`Route '${route}': the local host does not check the constraint '${name}'`);
}

/**
 * A .NET pattern's anchors as JavaScript reads them. .NET's `$` (and `\Z`) match at the end or
 * before a final newline, JavaScript's `$` at the end alone: `^(?!search$)` refused the personRef
 * "search\n" under the Functions host but let it through here, to be logged as a refused lookup.
 * `\A` and `\z`, which JavaScript would read as the letters, are its `^` and `$`. Inside a
 * character class `$` is itself.
 */
function asDotNetAnchors(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      i++;
      if (!inClass && next === 'A') out += '^';
      else if (!inClass && next === 'Z') out += '(?=\\n?$)';
      else if (!inClass && next === 'z') out += '$';
      else out += c + next;
      continue;
    }
    if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') out += source[++i];
      // A `]` first in a class is one of its characters in .NET, where JavaScript would end it.
      if (source[i + 1] === ']') out += '\\' + source[++i];
      continue;
    }
    out += !inClass && c === '$' ? '(?=\\n?$)' : c;
  }
  return out;
}
