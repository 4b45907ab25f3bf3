import { verifyAuditLog } from '../shared/api/audit-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({ name: 'auditVerify', route: 'v1/audit/verify', methods: ['GET'], handler: apiHandler(verifyAuditLog) });
