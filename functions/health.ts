import { checkHealth } from '../shared/health/check-health.js';
import { json } from '../shared/http/problem.js';
import { getServices } from '../shared/services.js';
import { respond } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'health',
  route: 'health',
  methods: ['GET'],
  handler: (request, context) =>
    respond(
      context,
      async () => {
        const report = await checkHealth(getServices());
        return json(report.status === 'up' ? 200 : 503, report);
      },
      request,
    ),
});
