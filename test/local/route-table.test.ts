import { describe, expect, it } from 'vitest';
import type { HttpRegistration } from '../../functions/registry.js';
import { RouteTable } from '../../local/route-table.js';

function route(name: string, path: string, methods: HttpRegistration['methods']): HttpRegistration {
  return { kind: 'http', name, route: path, methods, handler: async () => ({}) };
}

describe('route table', () => {
  it('leaves a route out when its regex constraint refuses the value, for every method', () => {
    const table = new RouteTable([
      route('search', 'v1/people/search', ['POST']),
      route('view', 'v1/people/{personRef:regex(^(?!search$))}', ['GET']),
    ]);
    expect(table.match('GET', '/api/v1/people/search')).toEqual({ methodNotAllowed: ['POST'] });
    expect(table.match('PATCH', '/api/v1/people/SEARCH')).toEqual({ methodNotAllowed: ['POST'] });
    expect(table.match('GET', '/api/v1/people/searcher')).toMatchObject({ params: { personRef: 'searcher' } });
  });

  it('reads constraints as ASP.NET does: several, with arguments, before the optional mark', () => {
    const table = new RouteTable([route('r', 'r/{id:int:regex(^(1|2)\\d*$)?}', ['GET'])]);
    expect(table.match('GET', '/api/r/12')).toMatchObject({ params: { id: '12' } });
    expect(table.match('GET', '/api/r/32')).toBeUndefined();
    expect(table.match('GET', '/api/r/1x')).toBeUndefined();
    expect(table.match('GET', '/api/r')).toMatchObject({ params: {} });
  });

  it('reads a brace in a constraint as ASP.NET does: doubled to be one, refused alone', () => {
    // The Functions host reads `{{3}}` as the quantifier `{3}`, and refuses the template when a
    // brace inside a parameter is not doubled: a route tried locally must route the same there.
    const table = new RouteTable([route('r', 'r/{id:regex(^\\d{{3}}$)}', ['GET'])]);
    expect(table.match('GET', '/api/r/123')).toMatchObject({ params: { id: '123' } });
    expect(table.match('GET', '/api/r/1234')).toBeUndefined();
    expect(() => new RouteTable([route('r', 'r/{id:regex(^\\d{3}$)}', ['GET'])])).toThrow(/brace/);
    expect(() => new RouteTable([route('r', 'r/{id:regex(^a}$)}', ['GET'])])).toThrow(/brace/);
  });

  it("reads a regex constraint's anchors as .NET does: `$` and `\\Z` also before a final newline", () => {
    const table = new RouteTable([
      route('search', 'v1/people/search', ['POST']),
      route('view', 'v1/people/{personRef:regex(^(?!search$))}', ['GET']),
      route('r', 'r/{id:regex(\\Aa[]$]\\z)}', ['GET']),
      route('z', 'z/{id:regex(^b\\Z)}', ['GET']),
    ]);
    expect(table.match('GET', '/api/v1/people/search%0A')).toBeUndefined();
    expect(table.match('GET', '/api/v1/people/search%0A%0A')).toMatchObject({ params: { personRef: 'search\n\n' } });
    expect(table.match('GET', '/api/r/a%24')).toMatchObject({ params: { id: 'a$' } });
    expect(table.match('GET', '/api/r/a%5D')).toMatchObject({ params: { id: 'a]' } });
    expect(table.match('GET', '/api/r/a%5D%0A')).toBeUndefined();
    expect(table.match('GET', '/api/z/b%0A')).toMatchObject({ params: { id: 'b\n' } });
    expect(table.match('GET', '/api/z/bb')).toBeUndefined();
  });

  it('refuses a constraint it does not check rather than ignore it', () => {
    expect(() => new RouteTable([route('r', 'r/{id:guid}', ['GET'])])).toThrow(/guid/);
  });
});
