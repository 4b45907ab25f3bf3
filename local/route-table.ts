import type { HttpRegistration } from '../functions/registry.js';

export interface RouteMatch {
  registration: HttpRegistration;
  params: Record<string, string>;
}

interface CompiledRoute {
  registration: HttpRegistration;
  pattern: RegExp;
  names: string[];
}

/**
 * Functions route templates (`v1/people/{personRef}`, `{id:int}`, `{*rest}`, `{name?}`) as
 * regular expressions. Literal segments are preferred over parameters, as ASP.NET routing does.
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
      if (!route.registration.methods.includes(wanted)) {
        allowed.push(...route.registration.methods);
        continue;
      }
      const params = decodeParams(route.names, m);
      // A segment that is not valid percent-encoding names no resource: no match, as a 404.
      if (!params) continue;
      return { registration: route.registration, params };
    }
    return allowed.length > 0 ? { methodNotAllowed: [...new Set(allowed)] } : undefined;
  }
}

function decodeParams(names: readonly string[], match: RegExpExecArray): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const value = match[i + 1];
    if (value === undefined) continue;
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return params;
}

function specificity(route: string): number {
  return route
    .split('/')
    .reduce((score, segment) => score * 4 + (segment.startsWith('{') ? (segment.startsWith('{*') ? 0 : 1) : 2), 1);
}

function compile(registration: HttpRegistration, prefix: string): CompiledRoute {
  const names: string[] = [];
  const segments = `${prefix}/${registration.route}`.split('/').filter((s) => s.length > 0);
  let source = '';
  for (const segment of segments) {
    const param = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(\?)?(?::([a-z]+))?\}$/.exec(segment);
    if (!param) {
      source += '/' + segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const [, catchAll, name, optional, constraint] = param;
    names.push(name!);
    const body = catchAll ? '(.*)' : constraint === 'int' ? '(-?\\d+)' : '([^/]+)';
    source += optional ? `(?:/${body})?` : `/${body}`;
  }
  return { registration, names, pattern: new RegExp(`^${source}$`, 'i') };
}
