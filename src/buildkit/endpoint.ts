// Parsing and describing builder addresses: `tcp://host:port` or `unix:///path`.

export interface TlsConfig {
  /** PEM of the CA that signed the daemon's certificate. */
  readonly ca?: Buffer;
  /** PEM client certificate and key for mTLS. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Name to verify the daemon's certificate against (and send as :authority). */
  readonly serverName?: string;
}

export interface BuilderEndpoint {
  /** The address as the user wrote it, for messages. */
  readonly address: string;
  readonly scheme: 'tcp' | 'unix';
  /** tcp: host and port. */
  readonly host?: string;
  readonly port?: number;
  /** unix: absolute socket path. */
  readonly socketPath?: string;
  readonly tls?: TlsConfig;
}

/** Parses `tcp://host:port` or `unix:///abs/path`; throws a one-line error otherwise. */
export function parseEndpoint(address: string, tls?: TlsConfig): BuilderEndpoint {
  const trimmed = address.trim();
  if (trimmed.startsWith('unix://')) {
    const socketPath = trimmed.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new Error(`builder "${address}": a unix endpoint needs an absolute path, like unix:///run/buildkit/buildkitd.sock`);
    }
    return { address: trimmed, scheme: 'unix', socketPath, ...(tls ? { tls } : {}) };
  }
  if (trimmed.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new Error(`builder "${address}": not a valid tcp://host:port address`);
    }
    const port = Number(url.port);
    if (!url.hostname || !url.port || !Number.isInteger(port) || port < 1 || port > 65535 || (url.pathname && url.pathname !== '/')) {
      throw new Error(`builder "${address}": expected tcp://host:port with a port between 1 and 65535`);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return { address: trimmed, scheme: 'tcp', host, port, ...(tls ? { tls } : {}) };
  }
  throw new Error(`builder "${address}": unsupported address; use tcp://host:port or unix:///path/to/buildkitd.sock`);
}

/** `host:port` of a tcp endpoint (IPv6 in brackets), `unix:///path` of a unix one. */
export function grpcTarget(endpoint: BuilderEndpoint): string {
  if (endpoint.scheme === 'unix') return `unix://${endpoint.socketPath}`;
  const host = endpoint.host!.includes(':') ? `[${endpoint.host}]` : endpoint.host!;
  return `${host}:${endpoint.port}`;
}

/**
 * The TLS settings to dial `endpoint` with, or undefined for a plain
 * connection: unix sockets, and tcp without any TLS setting. Throws when only
 * one of the client certificate and key is given. Used by every connection
 * to a builder (connection.ts): our calls' and the envd gateway's.
 */
export function clientTls(endpoint: BuilderEndpoint): TlsConfig | undefined {
  const t = endpoint.tls;
  if (endpoint.scheme === 'unix' || !t || !(t.ca || t.cert || t.key || t.serverName)) return undefined;
  if ((t.cert && !t.key) || (t.key && !t.cert)) {
    throw new Error(`builder ${endpoint.address}: tls-cert and tls-key must be given together`);
  }
  return t;
}

/**
 * The :authority a connection to `endpoint` sends: the TLS server name when
 * one is set, 'localhost' on unix sockets (the daemon ignores it there; a
 * fixed one avoids odd paths in logs), else host:port.
 */
export function builderAuthority(endpoint: BuilderEndpoint): string {
  if (endpoint.scheme === 'unix') return 'localhost';
  if (endpoint.tls?.serverName) return endpoint.tls.serverName;
  return grpcTarget(endpoint);
}
