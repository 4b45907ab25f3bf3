import { checkHealth } from '../shared/health/check-health.js';
import { json } from '../shared/http/problem.js';
import { getServices } from '../shared/services.js';
import { respond } from './http-result.js';
import { registerHttp } from './registry.js';

registerHttp({
  name: 'health',
  route: 'health',
  // HEAD as well (RFC 9110 §9.3.2: the host sends the headers of GET, no body): monitors use it.
  methods: ['GET', 'HEAD'],
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
