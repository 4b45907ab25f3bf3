import type { IncomingHttpHeaders } from 'node:http';
import functions from '@azure/functions';
import type { HttpRequest, HttpRequestParams, HttpRequestUser } from '@azure/functions';

const { HttpRequest: RuntimeHttpRequest } = functions;

/** Decodes as fetch's `text()` does: UTF-8, a leading BOM dropped, bad bytes replaced. */
const utf8 = new TextDecoder();

export interface LocalHttpRequestInit {
  method: string;
  /** Parsed when first asked for: most requests never read their URL. */
  url: () => URL;
  headers: IncomingHttpHeaders;
  params: HttpRequestParams;
  body: Buffer;
}

/**
 * The request a function receives from the local host. The runtime's own `HttpRequest` wraps a
 * WHATWG `Request` with a body stream, which costs more than the whole API request path behind
 * it; this one answers method, url, headers, query, params and the body readers from the bytes
 * already read. The members nothing on a hot path uses (the body as a stream, blob, formData,
 * clone, user) come from a runtime `HttpRequest` built on first use, so they behave as in Azure.
 */
export class LocalHttpRequest implements HttpRequest {
  readonly method: string;
  readonly params: HttpRequestParams;
  readonly #init: LocalHttpRequestInit;
  /** GET and HEAD carry no body, as the runtime drops one sent with them. */
  readonly #body: Buffer;
  #headers: Headers | undefined;
  #query: URLSearchParams | undefined;
  #runtime: HttpRequest | undefined;
  #bodyUsed = false;

  constructor(init: LocalHttpRequestInit) {
    this.#init = init;
    this.method = init.method;
    this.params = init.params;
    this.#body = init.method === 'GET' || init.method === 'HEAD' ? Buffer.alloc(0) : init.body;
  }

  get url(): string {
    return this.#init.url().href;
  }

  get headers(): Headers {
    this.#headers ??= new IncomingHeaders(this.#init.headers);
    return this.#headers;
  }

  /** Repeated keys keep their last value, as the Functions host's query mapping does. */
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(Object.fromEntries(this.#init.url().searchParams));
    return this.#query;
  }

  get user(): HttpRequestUser | null {
    return this.runtime().user;
  }

  get body(): ReadableStream | null {
    return this.runtime().body;
  }

  get bodyUsed(): boolean {
    return this.#bodyUsed || (this.#runtime?.bodyUsed ?? false);
  }

  async text(): Promise<string> {
    return this.readsThroughRuntime() ? this.#runtime!.text() : utf8.decode(this.consume());
  }

  async json(): Promise<unknown> {
    return this.readsThroughRuntime() ? this.#runtime!.json() : (JSON.parse(utf8.decode(this.consume())) as unknown);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.readsThroughRuntime()) return this.#runtime!.arrayBuffer();
    const bytes = this.consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  blob(): Promise<Blob> {
    return this.runtime().blob();
  }

  formData(): Promise<FormData> {
    return this.runtime().formData();
  }

  clone(): HttpRequest {
    return this.runtime().clone();
  }

  /** Once the runtime request exists and still holds the body, every read goes through it, so the body is read once. */
  private readsThroughRuntime(): boolean {
    return this.#runtime !== undefined && !this.#bodyUsed;
  }

  /** A body can be read once, as with fetch; an empty body is no body and can be read again. */
  private consume(): Buffer {
    if (this.#body.byteLength === 0) return this.#body;
    if (this.#bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.#bodyUsed = true;
    return this.#body;
  }

  private runtime(): HttpRequest {
    if (!this.#runtime) {
      const headers: Record<string, string> = {};
      this.headers.forEach((value, name) => (headers[name] = value));
      this.#runtime = new RuntimeHttpRequest({
        method: this.method,
        url: this.url,
        headers,
        query: Object.fromEntries(this.query),
        params: this.params,
        ...(this.#body.byteLength > 0 && !this.#bodyUsed ? { body: { bytes: this.#body } } : {}),
      });
    }
    return this.#runtime;
  }
}

/**
 * The request's headers as fetch's `Headers`. `get` and `has` — all a handler normally does —
 * read Node's parsed headers directly; anything else (iterating, changing) first copies them
 * into a real `Headers`, which from then on answers everything.
 */
class IncomingHeaders implements Headers {
  readonly #incoming: IncomingHttpHeaders;
  #copy: Headers | undefined;

  constructor(incoming: IncomingHttpHeaders) {
    this.#incoming = incoming;
  }

  get(name: string): string | null {
    if (this.#copy) return this.#copy.get(name);
    const value = this.#incoming[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.#copy ? this.#copy.has(name) : this.#incoming[name.toLowerCase()] !== undefined;
  }

  append(name: string, value: string): void {
    this.copy().append(name, value);
  }

  delete(name: string): void {
    this.copy().delete(name);
  }

  set(name: string, value: string): void {
    this.copy().set(name, value);
  }

  getSetCookie(): string[] {
    return this.copy().getSetCookie();
  }

  forEach(callback: (value: string, key: string, iterable: Headers) => void, thisArg?: unknown): void {
    this.copy().forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  keys(): ReturnType<Headers['keys']> {
    return this.copy().keys();
  }

  values(): ReturnType<Headers['values']> {
    return this.copy().values();
  }

  entries(): ReturnType<Headers['entries']> {
    return this.copy().entries();
  }

  [Symbol.iterator](): ReturnType<Headers['entries']> {
    return this.copy().entries();
  }

  private copy(): Headers {
    if (!this.#copy) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(this.#incoming)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      this.#copy = headers;
    }
    return this.#copy;
  }
}
