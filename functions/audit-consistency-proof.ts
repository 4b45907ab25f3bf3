import { auditConsistencyProof } from '../shared/api/audit-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditConsistencyProof',
  route: 'v1/audit/proofs/consistency',
  methods: ['GET'],
  handler: apiHandler(auditConsistencyProof),
});
