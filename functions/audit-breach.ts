import { viewBreachRecord } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditBreach',
  route: 'v1/audit/breaches/{breachId}',
  methods: ['GET'],
  handler: apiHandler(viewBreachRecord),
});
