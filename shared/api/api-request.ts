/**
 * The request as the product sees it. Structurally a subset of the Functions runtime's
 * `HttpRequest`, so handlers pass theirs straight through and tests can build one by hand.
 */
export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}
