import { recordStepOnBreach } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditBreachStep',
  route: 'v1/audit/breaches/{breachId}/steps',
  methods: ['POST'],
  handler: apiHandler(recordStepOnBreach),
});
