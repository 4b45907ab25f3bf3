import { z } from 'zod';

/**
 * An ISO 8601 time with its offset (RFC 3339), as a request gives one and a response holds one:
 * documented as a bare string, a time was no `date-time` to a client generated from the document.
 */
export const isoTime = z.iso.datetime({ offset: true });
