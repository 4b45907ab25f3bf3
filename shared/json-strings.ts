/**
 * Every JSON string in valid JSON text: group 1 the string as written (quotes and escapes, for
 * JSON.parse), group 2 the `:` after it when it is an object's name. Outside a string a `"` only
 * ever opens one, so matching from the start never lands inside a string. For what a parse does
 * not keep: a name given twice (the API's bodies, json-body.ts; `PARTY_CLIENT_IDS`,
 * party-directory.ts). Use with `matchAll`, which leaves this expression's own position alone.
 */
export const JSON_STRING = /("[^"\\]*(?:\\.[^"\\]*)*")(\s*:)?/g;
