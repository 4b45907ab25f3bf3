import { viewPerson } from '../shared/api/people-api.js';
import { apiHandler } from './http-result.js';
import { registerHttp } from './registry.js';

// Without the constraint a GET on the POST-only v1/people/search would be a view of the ref
// "search" (routing prefers the literal only among routes taking the method), answered no-match
// and logged as a refused lookup. No ref is "search" (person-ref.ts issues 40+ base64url
// characters), so excluding it loses nothing; the Functions host reads the same template.
registerHttp({
  name: 'peopleView',
  route: 'v1/people/{personRef:regex(^(?!search$))}',
  methods: ['GET'],
  handler: apiHandler(viewPerson),
});
