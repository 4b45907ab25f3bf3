import { listBreachRecords } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditBreaches',
  route: 'v1/audit/breaches',
  methods: ['GET'],
  handler: apiHandler(listBreachRecords),
});
