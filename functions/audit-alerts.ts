import { listAuditAlerts } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({ name: 'auditAlerts', route: 'v1/audit/alerts', methods: ['GET'], handler: apiHandler(listAuditAlerts) });
