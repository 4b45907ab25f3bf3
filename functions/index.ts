/**
 * The Functions entry point (`main` in package.json). Importing a trigger module registers it;
 * the list below is every function lintel has.
 */
import './health.js';
import './import-blob.js';

export { registrations } from './registry.js';
