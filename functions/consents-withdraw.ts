import { withdrawConsent } from '../shared/api/consents-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'consentsWithdraw',
  route: 'v1/consents/{consentId}',
  methods: ['DELETE'],
  handler: apiHandler(withdrawConsent),
});
