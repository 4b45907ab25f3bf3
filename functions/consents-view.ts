import { viewConsent } from '../shared/api/consents-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'consentsView',
  route: 'v1/consents/{consentId}',
  methods: ['GET'],
  handler: apiHandler(viewConsent),
});
