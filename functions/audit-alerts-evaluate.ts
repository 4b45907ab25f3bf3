import { evaluateWatchRules } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditAlertsEvaluate',
  route: 'v1/audit/alerts/evaluate',
  methods: ['POST'],
  handler: apiHandler(evaluateWatchRules),
});
