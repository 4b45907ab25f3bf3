import { viewLinkCandidate } from '../shared/api/link-review-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'linkCandidate',
  route: 'v1/link-candidates/{candidateId}',
  methods: ['GET'],
  handler: apiHandler(viewLinkCandidate),
});
