import { listLinkCandidates } from '../shared/api/link-review-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'linkCandidates',
  route: 'v1/link-candidates',
  methods: ['GET'],
  handler: apiHandler(listLinkCandidates),
});
