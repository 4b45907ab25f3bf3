import { docsAsset, docsPage } from '../shared/api/docs-page.js';
import { respond } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'docs',
  route: 'docs',
  // HEAD as well, as on every route that holds no personal data (health.ts).
  methods: ['GET', 'HEAD'],
  handler: (request, context) => respond(context, async () => docsPage(), request),
});

registerHttp({
  name: 'docsAsset',
  route: 'docs/{asset}',
  // HEAD as well, as on every route that holds no personal data (health.ts).
  methods: ['GET', 'HEAD'],
  handler: (request, context) => respond(context, async () => docsAsset(request.params.asset ?? ''), request),
});
