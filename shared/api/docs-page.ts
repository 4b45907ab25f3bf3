import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { problem, type HttpResult } from '../http/problem.js';

/**
 * The API reference page: Swagger UI from the `swagger-ui-dist` package, served by lintel
 * itself so it works with no internet access (council networks often have none from the
 * officer's desk). Only the files named here are served, whatever the request asks for; the
 * page loads no inline script, so it runs under a strict Content-Security-Policy.
 */
export const DOCS_PATH = '/api/docs';
export const OPENAPI_PATH = '/api/openapi.json';

const PACKAGE_FILES = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
} as const;

/** Starts Swagger UI against lintel's own document; the online spec validator is switched off. */
const INITIALISER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    displayRequestDuration: true
  });
});
`;

const INITIALISER_FILE = 'lintel-docs.js';

/** Every file name `GET /api/docs/{asset}` answers for. */
export const DOCS_ASSET_NAMES = [...Object.keys(PACKAGE_FILES), INITIALISER_FILE] as readonly string[];

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>lintel partner API reference</title>
  <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <noscript>The reference needs JavaScript; the machine-readable document is at <a href="${OPENAPI_PATH}">${OPENAPI_PATH}</a>.</noscript>
  <div id="swagger-ui"></div>
  <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${DOCS_PATH}/${INITIALISER_FILE}"></script>
</body>
</html>
`;

/** The folder of the installed `swagger-ui-dist` (what its `getAbsoluteFSPath()` returns). */
export function swaggerUiDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

const cache = new Map<string, Buffer>();

function packageFile(name: keyof typeof PACKAGE_FILES): Buffer {
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = readFileSync(join(swaggerUiDirectory(), name));
    cache.set(name, bytes);
  }
  return bytes;
}

export function docsPage(): HttpResult {
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...SECURITY_HEADERS },
    body: PAGE,
  };
}

/** One allow-listed file; any other name is a plain 404 that does not repeat the name asked for. */
export function docsAsset(name: string): HttpResult {
  if (name === INITIALISER_FILE) {
    return {
      status: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', ...SECURITY_HEADERS },
      body: INITIALISER,
    };
  }
  if (!Object.hasOwn(PACKAGE_FILES, name)) return problem('not-found');
  const known = name as keyof typeof PACKAGE_FILES;
  return {
    status: 200,
    headers: { 'content-type': PACKAGE_FILES[known], 'cache-control': 'public, max-age=86400', ...SECURITY_HEADERS },
    body: packageFile(known),
  };
}
