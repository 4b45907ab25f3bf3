import { personAccessesByIdentifiers } from '../shared/api/dpo-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'auditPersonAccessesSearch',
  route: 'v1/audit/people/accesses',
  methods: ['POST'],
  handler: apiHandler(personAccessesByIdentifiers),
});
