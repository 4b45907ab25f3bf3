import { rejectLinkCandidate } from '../shared/api/link-review-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'linkCandidateReject',
  route: 'v1/link-candidates/{candidateId}/reject',
  methods: ['POST'],
  handler: apiHandler(rejectLinkCandidate),
});
