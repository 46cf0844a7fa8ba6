// Registry credentials served to the daemon through the session (reference §5).
export * from '../../credentials/docker-config.js';
export * from '../../credentials/credential-helper.js';
export * from '../../credentials/provider.js';
export * from './service.js';
