/**
 * The HTTP API's contract: the schema of every answer the server sends. The
 * routes declare them (so /api/v1/openapi.json describes them and Fastify
 * serializes by them); the services, the CLI and the console take their view
 * types from here, with type-only imports where no schema is needed.
 */
export * from './common.js';
export * from './accounts.js';
export * from './resources.js';
export * from './jobs.js';
export * from './backups.js';
export * from './sharing.js';
export * from './access-keys.js';
export * from './tasks.js';
export * from './files.js';
