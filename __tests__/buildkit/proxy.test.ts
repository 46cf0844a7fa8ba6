// Builder connections through an HTTP proxy: which environment picks the
// proxy and which hosts bypass it, and real calls through a real CONNECT
// proxy to a stand-in daemon.
import { ControlClient, GrpcError } from '../../src/buildkit/control.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import { probeBuilder } from '../../src/buildkit/probe.js';
import { proxyFor } from '../../src/buildkit/proxy.js';
import { Status } from '../../src/common/grpc-status.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';
import { startFakeBuilder, type FakeBuilder } from '../helpers/fake-builder.js';

describe('proxyFor', () => {
  it('takes grpc_proxy first, then https_proxy, then http_proxy', () => {
    expect(proxyFor('h', { grpc_proxy: 'http://g:1', https_proxy: 'http://s:2', http_proxy: 'http://p:3' })?.host).toBe('g:1');
    expect(proxyFor('h', { https_proxy: 'http://s:2', http_proxy: 'http://p:3' })?.host).toBe('s:2');
    expect(proxyFor('h', { http_proxy: 'p:3' })?.host).toBe('p:3');
    expect(proxyFor('h', { HTTPS_PROXY: 'http://u:4', http_proxy: 'http://p:3' })?.host).toBe('u:4');
    expect(proxyFor('h', { HTTPS_PROXY: 'http://u:4', NO_PROXY: 'h' })).toBeUndefined();
    expect(proxyFor('h', {})).toBeUndefined();
  });

  it('lets no_grpc_proxy or no_proxy exempt hosts, their subdomains and addresses', () => {
    const env = (no_proxy: string) => ({ https_proxy: 'http://proxy:3128', no_proxy });
    expect(proxyFor('buildkit.internal', env('buildkit.internal'))).toBeUndefined();
    expect(proxyFor('a.buildkit.internal', env('buildkit.internal'))).toBeUndefined();
    expect(proxyFor('a.buildkit.internal', env('.buildkit.internal'))).toBeUndefined();
    expect(proxyFor('a.buildkit.internal', env('*.buildkit.internal:1234'))).toBeUndefined();
    expect(proxyFor('notbuildkit.internal', env('buildkit.internal'))).toBeDefined();
    expect(proxyFor('10.0.0.5', env('localhost, 10.0.0.5'))).toBeUndefined();
    expect(proxyFor('10.0.0.50', env('10.0.0.5'))).toBeDefined();
    expect(proxyFor('::1', env('[::1]'))).toBeUndefined();
    expect(proxyFor('anything', env('*'))).toBeUndefined();
    expect(proxyFor('h', { https_proxy: 'http://proxy:3128', no_grpc_proxy: 'h', no_proxy: 'other' })).toBeUndefined();
  });

  it('refuses proxies it cannot tunnel through, with one line', () => {
    expect(() => proxyFor('h', { https_proxy: 'https://proxy:3128' })).toThrow('proxy proxy:3128: only http:// proxies can tunnel to a builder, not https:');
    expect(() => proxyFor('h', { https_proxy: 'http://' })).toThrow(/is not a URL/);
  });
});

describe('calls through a CONNECT proxy', () => {
  let builder: FakeBuilder;
  let proxy: ConnectProxy;
  let client: ControlClient | undefined;
  const saved = { ...process.env };

  beforeEach(async () => {
    builder = await startFakeBuilder();
    proxy = await startConnectProxy();
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    process.env = { ...saved };
    await proxy.close();
    await builder.close();
  });

  /** A client with its own keepalive, so it does not share a connection with another test's. */
  function dial(keepaliveMs: number): ControlClient {
    client = new ControlClient(parseEndpoint(builder.address), { keepalive: { timeMs: keepaliveMs, timeoutMs: 20_000 } });
    return client;
  }

  it('reaches the builder through the proxy, with the credentials of its URL', async () => {
    const url = new URL(proxy.url);
    url.username = 'ci';
    url.password = 'p@ss';
    process.env.https_proxy = url.toString();
    delete process.env.no_proxy;
    const workers = await dial(400_001).listWorkers(new Date(Date.now() + 10_000));
    expect(workers.record?.[0]?.ID).toBe('fake');
    const target = builder.address.slice('tcp://'.length);
    expect(proxy.tunnels).toEqual([{ target, authorization: `Basic ${Buffer.from('ci:p@ss').toString('base64')}` }]);
  });

  it('goes directly when no_proxy names the builder', async () => {
    process.env.https_proxy = proxy.url;
    process.env.no_proxy = '127.0.0.1';
    const workers = await dial(400_002).listWorkers(new Date(Date.now() + 10_000));
    expect(workers.record?.[0]?.ID).toBe('fake');
    expect(proxy.tunnels).toEqual([]);
  });

  it('fails the call with one line naming the proxy when it refuses the tunnel', async () => {
    process.env.https_proxy = proxy.url;
    delete process.env.no_proxy;
    proxy.refuseWith = 403;
    const err = await dial(400_003)
      .listWorkers(new Date(Date.now() + 10_000))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(Status.UNAVAILABLE);
    const target = builder.address.slice('tcp://'.length);
    expect((err as GrpcError).details).toBe(`proxy ${new URL(proxy.url).host} refused to open a tunnel to ${target} (HTTP 403)`);
  });

  it("fails the probe at once with the proxy's own line, not as a refused builder", async () => {
    process.env.https_proxy = proxy.url;
    delete process.env.no_proxy;
    proxy.refuseWith = 403;
    const target = builder.address.slice('tcp://'.length);
    // A 10-minute connect timeout: only a failure taken as definite ends the probe.
    await expect(probeBuilder(parseEndpoint(builder.address), 600_000)).rejects.toThrow(
      `builder ${builder.address} is not usable: proxy ${new URL(proxy.url).host} refused to open a tunnel to ${target} (HTTP 403)`,
    );
    expect(proxy.tunnels).toHaveLength(1);
  });

  it('names the proxy when it cannot be reached', async () => {
    const gone = new URL(proxy.url);
    await proxy.close();
    proxy = await startConnectProxy(); // afterEach closes this one
    process.env.https_proxy = gone.toString();
    delete process.env.no_proxy;
    await expect(probeBuilder(parseEndpoint(builder.address), 600_000)).rejects.toThrow(
      `builder ${builder.address} is not usable: proxy ${gone.host}: connect ECONNREFUSED ${gone.host}`,
    );
  });
});
