// Reaching a tcp builder through an HTTP proxy with CONNECT, as gRPC clients
// (buildctl's included) do when grpc_proxy, https_proxy or http_proxy is set
// (or HTTPS_PROXY, HTTP_PROXY), unless no_grpc_proxy or no_proxy (NO_PROXY)
// names the builder's host. TLS to the
// builder runs inside the tunnel, end to end: the proxy sees only bytes.
import type * as http from 'node:http';
import * as net from 'node:net';
import { Duplex } from 'node:stream';

/** The proxy to reach `host` through, from the environment; undefined to connect directly. */
export function proxyFor(host: string, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const raw = env.grpc_proxy || env.https_proxy || env.HTTPS_PROXY || env.http_proxy || env.HTTP_PROXY;
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new Error(`proxy "${raw}" (from grpc_proxy/https_proxy/http_proxy) is not a URL`);
  }
  if (url.protocol !== 'http:') throw new Error(`proxy ${url.host}: only http:// proxies can tunnel to a builder, not ${url.protocol}`);
  const exempt = env.no_grpc_proxy ?? env.no_proxy ?? env.NO_PROXY ?? '';
  return bypasses(host, exempt) ? undefined : url;
}

/**
 * no_proxy as curl and Go read it: `*` for every host; otherwise names and
 * addresses separated by commas, where a name also covers its subdomains
 * (with or without a leading dot). A `:port` suffix is ignored.
 */
function bypasses(host: string, list: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  for (const raw of list.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    entry = entry.replace(/^\[(.*)\](:\d+)?$/, '$1');
    if (!net.isIP(entry)) entry = entry.replace(/:\d+$/, '').replace(/^\*?\./, '');
    if (h === entry || (!net.isIP(h) && h.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/**
 * A socket to `host:port` through `proxy`, usable at once: what is written
 * before the proxy has opened the tunnel waits for it. Fails (as a socket
 * error naming the proxy) when the proxy cannot be reached or refuses.
 */
export class ProxyTunnel extends Duplex {
  private socket: net.Socket | undefined;
  private waiting: (() => void) | undefined;
  private readonly request: http.ClientRequest;

  constructor(proxy: URL, host: string, port: number) {
    super();
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
    const headers: http.OutgoingHttpHeaders = { host: target };
    if (proxy.username) {
      const user = decodeURIComponent(proxy.username);
      const password = decodeURIComponent(proxy.password);
      headers['proxy-authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    const where = `proxy ${proxy.host}`;
    // Loaded only when a proxy is in use: node:http costs every other run its start-up.
    this.request = process.getBuiltinModule('node:http').request({
      host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: proxy.port || 80,
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
    });
    this.request.once('connect', (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        this.destroy(new Error(`${where} refused to open a tunnel to ${target} (HTTP ${res.statusCode})`));
        return;
      }
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on('data', (d: Buffer) => {
        if (!this.push(d)) socket.pause();
      });
      socket.on('end', () => this.push(null));
      socket.on('error', (err) => this.destroy(err));
      socket.on('close', () => this.destroy());
      if (head.length > 0) this.push(head);
      const go = this.waiting;
      this.waiting = undefined;
      go?.();
    });
    this.request.once('response', (res: http.IncomingMessage) => {
      res.resume();
      this.destroy(new Error(`${where} answered CONNECT to ${target} with HTTP ${res.statusCode}`));
    });
    this.request.once('error', (err) => this.destroy(new Error(`${where}: ${err.message}`)));
    this.request.end();
  }

  override _read(): void {
    this.socket?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket) this.socket.write(chunk, done);
    else this.waiting = () => this._write(chunk, _enc, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.socket) this.socket.end(done);
    else this.waiting = () => this._final(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket?.destroy();
    this.request.destroy();
    done(err);
  }
}
