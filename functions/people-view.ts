import { viewPerson } from '../shared/api/people-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({ name: 'peopleView', route: 'v1/people/{personRef}', methods: ['GET'], handler: apiHandler(viewPerson) });
