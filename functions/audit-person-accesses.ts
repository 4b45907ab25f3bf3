import { personAccessesByRef } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditPersonAccesses',
  route: 'v1/audit/people/{personRef}/accesses',
  methods: ['GET'],
  handler: apiHandler(personAccessesByRef),
});
