import { checkDuplicates } from '../shared/api/duplicate-check-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'duplicateChecks',
  route: 'v1/duplicate-checks',
  methods: ['POST'],
  handler: apiHandler(checkDuplicates),
});
