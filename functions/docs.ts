import { docsAsset, docsPage } from '../shared/api/docs-page.js';
import { respond } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'docs',
  route: 'docs',
  methods: ['GET'],
  handler: (request, context) => respond(context, async () => docsPage(), request),
});

registerHttp({
  name: 'docsAsset',
  route: 'docs/{asset}',
  methods: ['GET'],
  handler: (request, context) => respond(context, async () => docsAsset(request.params.asset ?? ''), request),
});
