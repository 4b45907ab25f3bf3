/**
 * The most a JSON body may hold, in bytes. A module of its own: the problem catalogue quotes it,
 * and json-body.ts, which refuses bodies over it, builds its refusals from the catalogue.
 */
export const MAX_JSON_BODY_BYTES = 16 * 1024;
