import { recordConsent } from '../shared/api/consents-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({ name: 'consentsRecord', route: 'v1/consents', methods: ['POST'], handler: apiHandler(recordConsent) });
