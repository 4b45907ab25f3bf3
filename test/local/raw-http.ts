import { connect } from 'node:net';

export interface RawResponse {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection before `waitMs` ran out. */
  closedByServer: boolean;
}

/**
 * Sends `head` (and then `body`, if any) over a plain TCP socket, exactly as written — no client
 * library normalising the request — and collects what comes back until the server closes the
 * connection or `waitMs` passes.
 */
export function rawRequest(
  serverUrl: string,
  head: string,
  options: { body?: string; waitMs?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(head);
      if (options.body !== undefined) socket.write(options.body);
    });
    const timer = setTimeout(() => socket.destroy(), options.waitMs ?? 3000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => (closedByServer = true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A server that cuts a connection it refused may reset it; what arrived before still counts.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') closedByServer = true;
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks).toString('utf8'), closedByServer));
    });
  });
}

function parse(text: string, closedByServer: boolean): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const headLines = (split < 0 ? text : text.slice(0, split)).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(headLines[0] ?? '')?.[1];
  const headers: Record<string, string> = {};
  for (const line of headLines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = split < 0 ? '' : text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  return { status: status === undefined ? undefined : Number(status), headers, body, closedByServer };
}

function unchunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    if (lineEnd < 0) return out;
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}
