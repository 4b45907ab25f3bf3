import { searchPeople } from '../shared/api/people-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({ name: 'peopleSearch', route: 'v1/people/search', methods: ['POST'], handler: apiHandler(searchPeople) });
