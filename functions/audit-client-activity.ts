import { clientActivityInPeriod } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditClientActivity',
  route: 'v1/audit/clients/{clientId}/activity',
  methods: ['GET'],
  handler: apiHandler(clientActivityInPeriod),
});
