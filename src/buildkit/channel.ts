// The gRPC connection to a builder. Native builds, the probe and the envd
// gateway all dial through here, so TLS and channel options are set once.
import * as grpc from '@grpc/grpc-js';
import { grpcTarget, type BuilderEndpoint } from './endpoint.js';

/** BuildKit's own client raises both limits to 16 MiB; grpc-js receives 4 MiB by default. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function hasTls(endpoint: BuilderEndpoint): boolean {
  const t = endpoint.tls;
  return !!t && !!(t.ca || t.cert || t.key || t.serverName);
}

export function channelCredentials(endpoint: BuilderEndpoint): grpc.ChannelCredentials {
  if (endpoint.scheme === 'unix' || !hasTls(endpoint)) return grpc.credentials.createInsecure();
  const t = endpoint.tls!;
  if ((t.cert && !t.key) || (t.key && !t.cert)) {
    throw new Error(`builder ${endpoint.address}: tls-cert and tls-key must be given together`);
  }
  // Verification stays on: without a CA the system roots are used.
  return grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null);
}

export function channelOptions(endpoint: BuilderEndpoint): grpc.ChannelOptions {
  const options: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // No keepalive pings: the daemon answers pings more often than 5 min with GOAWAY.
    'grpc.keepalive_time_ms': -1,
    // A larger window keeps big session transfers from stalling on 64 KiB.
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
  };
  if (endpoint.scheme === 'tcp' && endpoint.tls?.serverName) {
    options['grpc.ssl_target_name_override'] = endpoint.tls.serverName;
    options['grpc.default_authority'] = endpoint.tls.serverName;
  }
  if (endpoint.scheme === 'unix') {
    // The daemon ignores :authority on unix sockets; a fixed one avoids odd paths in logs.
    options['grpc.default_authority'] = 'localhost';
  }
  return options;
}

/** A generic client for raw calls (the envd gateway forwards any method). */
export function createGenericClient(endpoint: BuilderEndpoint): grpc.Client {
  return new grpc.Client(grpcTarget(endpoint), channelCredentials(endpoint), channelOptions(endpoint));
}
