// Registry credentials served to the daemon through the session (reference §5).
export * from './docker-config.js';
export * from './credential-helper.js';
export * from './provider.js';
export * from './service.js';
