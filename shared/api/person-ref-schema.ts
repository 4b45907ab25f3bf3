import { z } from 'zod';
import { PERSON_REF_PATTERN } from '../people/person-ref.js';

/**
 * A person reference as a response holds one and a path takes one: documented as a bare string,
 * a client generated from the document accepted any text where the API only answers this shape.
 */
export const personRefSchema = z.string().regex(PERSON_REF_PATTERN);
