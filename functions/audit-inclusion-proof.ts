import { auditInclusionProof } from '../shared/api/audit-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditInclusionProof',
  route: 'v1/audit/proofs/inclusion',
  methods: ['GET'],
  handler: apiHandler(auditInclusionProof),
});
