import { confirmLinkCandidate } from '../shared/api/link-review-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'linkCandidateConfirm',
  route: 'v1/link-candidates/{candidateId}/confirm',
  methods: ['POST'],
  handler: apiHandler(confirmLinkCandidate),
});
