import { openBreachFromAlert } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditBreachOpen',
  route: 'v1/audit/alerts/{alertId}/breach',
  methods: ['POST'],
  handler: apiHandler(openBreachFromAlert),
});
