// Who can reach the builder through the gateway, and with which methods.
//
// The gateway holds the job's identity towards the builder (its mTLS client
// certificate). Only the job's own user may connect, and even the job's own
// processes get only the methods envd's builds use; everything else is
// refused before an upstream call exists. The other-user checks run a probe
// as a second local user (created here; needs root or passwordless sudo).
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseEndpoint } from '../../../src/buildkit/endpoint.js';
import { startGateway, type Gateway } from '../../../src/envd/gateway/server.js';
import { ENVD_BUILD_METHODS } from '../../../src/envd/gateway/methods.js';
import { MAX_SOCKET_PATH_BYTES } from '../../../src/envd/gateway/socket.js';
import { frameHeader } from '../../../src/common/grpc-frames.js';
import {
  socketTarget,
  h2Connect,
  identity,
  M,
  makeCerts,
  NOT_FOR_ENVD,
  privateSocketPath,
  startBackend,
  startRawBackend,
  statusOf,
  tempDir,
  unary,
  type Backend,
  type Certs,
  type RawBackend,
} from './helpers.js';

let dir: string;
/** Parent of the gateways' private socket directories; others may traverse it (0711) but not the directories in it. */
let sockets: string;
let certs: Certs;
let rawBackend: RawBackend;
let backend: Backend;
let gwRaw: Gateway;
let gwGrpc: Gateway;
const logs: string[] = [];

beforeAll(async () => {
  dir = tempDir('gw-access-');
  sockets = tempDir('gw-sockets-');
  fs.chmodSync(sockets, 0o711);
  certs = makeCerts(dir);
  rawBackend = await startRawBackend(certs);
  backend = await startBackend({ certs });
  const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
  gwRaw = await startGateway(parseEndpoint(`tcp://127.0.0.1:${rawBackend.port}`, tls), { socketPath: privateSocketPath(sockets), log: (m) => logs.push(m) });
  gwGrpc = await startGateway(parseEndpoint(backend.target, tls), { socketPath: privateSocketPath(sockets), log: (m) => logs.push(m) });
});

afterAll(async () => {
  await gwRaw?.close();
  await gwGrpc?.close();
  await rawBackend?.stop();
  await backend?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(sockets, { recursive: true, force: true });
});

/** One call with an empty message over a fresh h2c connection to `target`; resolves with grpc-status and grpc-message. */
function callPath(target: string, p: string): Promise<{ code: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(target);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': p, 'content-type': 'application/grpc', te: 'trailers' });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', () => undefined);
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      const end = trailers ?? headers;
      resolve({ code: Number(end['grpc-status']), message: decodeURIComponent(String(end['grpc-message'] ?? '')) });
    });
    req.end(frameHeader(0));
  });
}

/**
 * Where a client reaches the gateway by the address it advertises. The
 * refusal tests go this way, not by socket path, so that a gateway listening
 * anywhere else (say loopback TCP) would still be reached and caught
 * forwarding. grpc-js wants tcp targets as host:port.
 */
const advertised = (gateway: Gateway): string => gateway.url.replace(/^tcp:\/\//, '');

/** A unary call with raw bytes; resolves with its status code. */
function rawUnary(client: grpc.Client, p: string): Promise<number> {
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest<Buffer, Buffer>(p, identity, identity, Buffer.alloc(0), () => undefined);
    call.on('status', (st) => resolve(st.code));
  });
}

const C = (m: string) => `/moby.buildkit.v1.Control/${m}`;
const B = (m: string) => `/moby.buildkit.v1.frontend.LLBBridge/${m}`;

describe('methods', () => {
  it('allows exactly the methods envd builds use', () => {
    expect([...ENVD_BUILD_METHODS].sort()).toEqual(
      [C('ListWorkers'), C('Solve'), C('Status'), C('Session'), B('Ping'), B('Solve'), B('Return')].sort(),
    );
  });

  it('forwards each of them to the builder', async () => {
    for (const p of ENVD_BUILD_METHODS) {
      const before = rawBackend.paths.length;
      expect(await callPath(socketTarget(gwRaw), p)).toEqual({ code: 0, message: '' });
      expect(rawBackend.paths.slice(before)).toEqual([p]);
    }
  });

  it.each([
    C('Prune'),
    C('DiskUsage'),
    C('Info'),
    C('ListenBuildHistory'),
    C('UpdateBuildHistory'),
    B('ReadFile'),
    B('ReadDir'),
    B('StatFile'),
    B('Evaluate'),
    B('Inputs'),
    B('Warn'),
    B('ResolveImageConfig'),
    B('ResolveSourceMeta'),
    B('NewContainer'),
    B('ReleaseContainer'),
    B('ExecProcess'),
    '/grpc.health.v1.Health/Check',
    '/moby.filesync.v1.FileSync/DiffCopy',
    '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    '/containerd.services.content.v1.Content/Info',
    // Near misses of allowed paths: the path is passed upstream as given, so only exact matches count.
    '/moby.buildkit.v1.control/Solve',
    `${C('Solve')}/`,
    `${C('Solve')}?x=1`,
    `/${C('Solve')}`,
    '/moby.buildkit.v1.Control/',
  ])('refuses %s with PERMISSION_DENIED without reaching the builder', async (p) => {
    const before = rawBackend.paths.length;
    const r = await callPath(gwRaw.url, p);
    expect(r.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.message).toBe(`envd gateway: ${p} is not one of the methods envd builds use; refused`);
    expect(rawBackend.paths.slice(before)).toEqual([]);
    expect(logs).toContain(`envd gateway: refused ${JSON.stringify(p)}: not a method envd builds use`);
  });

  it("keeps the job's own gRPC client from pruning or reading history through it", async () => {
    const client = new grpc.Client(advertised(gwGrpc), grpc.credentials.createInsecure());
    try {
      const before = backend.record.calls.length;
      const prune = client.makeServerStreamRequest<Buffer, Buffer>(NOT_FOR_ENVD.Prune, identity, identity, Buffer.alloc(0), new grpc.Metadata(), {});
      const pruned: Buffer[] = [];
      prune.on('data', (m: Buffer) => pruned.push(m));
      prune.on('error', () => undefined);
      const history = client.makeServerStreamRequest<Buffer, Buffer>(NOT_FOR_ENVD.ListenBuildHistory, identity, identity, Buffer.alloc(0), new grpc.Metadata(), {});
      history.on('data', () => undefined);
      history.on('error', () => undefined);
      const [pruneStatus, historyStatus] = await Promise.all([statusOf(prune), statusOf(history)]);
      expect(pruneStatus.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(historyStatus.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(pruned).toEqual([]);
      for (const p of [NOT_FOR_ENVD.DiskUsage, NOT_FOR_ENVD.UpdateBuildHistory]) expect(await rawUnary(client, p)).toBe(grpc.status.PERMISSION_DENIED);
      const info = await unary<Record<string, never>, object>(client, ...M.Info, {});
      expect(info.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(backend.record.calls.slice(before)).toEqual([]);

      // The same connection still serves what envd needs.
      const workers = await unary<Record<string, never>, object>(client, ...M.ListWorkers, {});
      expect(workers.error).toBeUndefined();
      expect(backend.record.calls.slice(before)).toEqual([C('ListWorkers')]);
    } finally {
      client.close();
    }
  });
});

describe('where it listens', () => {
  it('only in a directory of ours that nobody else can enter', async () => {
    const endpoint = parseEndpoint(backend.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    const open = fs.mkdtempSync(path.join(dir, 'open-'));
    for (const mode of [0o755, 0o711, 0o701, 0o770]) {
      fs.chmodSync(open, mode);
      await expect(startGateway(endpoint, { socketPath: path.join(open, 'gw.sock') })).rejects.toThrow(
        `envd gateway: socket directory ${open} must be a directory only this user can enter (mode 0700, owner uid ${process.getuid!()}); found mode 0${mode.toString(8)}, owner uid ${process.getuid!()}`,
      );
    }
    // A symlink to a private directory is not accepted either: its target could change.
    const target = path.dirname(privateSocketPath(sockets));
    const link = path.join(dir, 'link');
    fs.symlinkSync(target, link);
    await expect(startGateway(endpoint, { socketPath: path.join(link, 'gw.sock') })).rejects.toThrow(/found not a directory/);
    await expect(startGateway(endpoint, { socketPath: path.join(dir, 'missing', 'gw.sock') })).rejects.toThrow(
      `envd gateway: socket directory ${path.join(dir, 'missing')} cannot be used: ENOENT`,
    );
    await expect(startGateway(endpoint, { socketPath: 'relative/gw.sock' })).rejects.toThrow(/is not absolute/);
    expect(fs.readdirSync(open)).toEqual([]);
    expect(fs.readdirSync(target)).toEqual([]);
  });

  it('refuses a socket path too long for a unix socket instead of letting it be truncated', async () => {
    const endpoint = parseEndpoint(backend.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    const socketDir = path.dirname(privateSocketPath(sockets));
    const name = 'g'.repeat(MAX_SOCKET_PATH_BYTES + 1 - socketDir.length);
    const socketPath = path.join(socketDir, name);
    expect(Buffer.byteLength(socketPath)).toBe(MAX_SOCKET_PATH_BYTES + 2);
    await expect(startGateway(endpoint, { socketPath })).rejects.toThrow(
      `envd gateway: socket path ${socketPath} is ${MAX_SOCKET_PATH_BYTES + 2} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`,
    );
    expect(fs.readdirSync(socketDir)).toEqual([]);
  });

  it('refuses a path where something already exists', async () => {
    const endpoint = parseEndpoint(backend.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    await expect(startGateway(endpoint, { socketPath: gwGrpc.socketPath })).rejects.toThrow(
      `envd gateway: cannot listen on ${gwGrpc.socketPath}: something already exists at that path`,
    );
    // The running gateway is untouched.
    const client = new grpc.Client(socketTarget(gwGrpc), grpc.credentials.createInsecure());
    try {
      expect((await unary<Record<string, never>, object>(client, ...M.ListWorkers, {})).error).toBeUndefined();
    } finally {
      client.close();
    }
  });
});

// ---------------------------------------------------------------- another local user

const PROBE_USER = 'erb-gw-probe';
const isRoot = process.getuid?.() === 0;
const hasSudo = (() => {
  if (isRoot || process.platform !== 'linux') return false;
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const canSwitchUser = process.platform === 'linux' && (isRoot || hasSudo);
if (!canSwitchUser) {
  process.stderr.write(`\n!!! OTHER-USER GATEWAY TESTS SKIPPED: they need Linux and root or passwordless sudo (to add and act as ${PROBE_USER})\n\n`);
}

function privileged(cmd: string, args: string[]): void {
  if (isRoot) execFileSync(cmd, args, { stdio: 'pipe' });
  else execFileSync('sudo', ['-n', cmd, ...args], { stdio: 'pipe' });
}

/** Connects to `url` as PROBE_USER in a separate node process; 'connected' or the error code. */
function probeAs(url: string): Promise<string> {
  const script = [
    "const net = require('net');",
    'const u = process.argv[1];',
    "const s = u.startsWith('unix://') ? net.connect({ path: u.slice(7) }) : net.connect(Number(new URL(u.replace(/^tcp:/, 'http:')).port), '127.0.0.1');",
    "s.on('connect', () => { console.log('connected'); s.destroy(); });",
    "s.on('error', (e) => console.log(e.code || String(e)));",
  ].join('\n');
  const argv = [process.execPath, '-e', script, url];
  const [cmd, args] = isRoot ? ['runuser', ['-u', PROBE_USER, '--', ...argv]] : ['sudo', ['-n', '-u', PROBE_USER, '--', ...argv]];
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd: '/', timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()))),
  );
}

(canSwitchUser ? describe : describe.skip)(`another local user (${PROBE_USER})`, () => {
  let created = false;
  let control: net.Server | undefined;
  let controlUrl = '';

  beforeAll(async () => {
    try {
      execFileSync('id', ['-u', PROBE_USER], { stdio: 'ignore' });
    } catch {
      privileged('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PROBE_USER]);
      created = true;
    }
    // A socket everyone may use: shows the probe itself can connect, so an
    // EACCES below comes from the gateway's permissions and nothing else.
    const publicDir = tempDir('gw-public-');
    fs.chmodSync(publicDir, 0o755);
    const socketPath = path.join(publicDir, 'control.sock');
    control = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => control!.listen(socketPath, resolve));
    fs.chmodSync(socketPath, 0o666);
    controlUrl = `unix://${socketPath}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (control ? control.close(() => resolve()) : resolve()));
    if (controlUrl) fs.rmSync(path.dirname(controlUrl.slice('unix://'.length)), { recursive: true, force: true });
    if (created) privileged('userdel', [PROBE_USER]);
  });

  it('can connect to a socket open to everyone (control)', async () => {
    expect(await probeAs(controlUrl)).toBe('connected');
  });

  it("cannot connect to the gateway's socket", async () => {
    expect(await probeAs(gwGrpc.url)).toBe('EACCES');
  });

  it('cannot connect even if the directory is opened for traversal: the socket itself is 0600', async () => {
    const socketDir = path.dirname(gwGrpc.socketPath);
    fs.chmodSync(socketDir, 0o711);
    try {
      expect(await probeAs(gwGrpc.url)).toBe('EACCES');
    } finally {
      fs.chmodSync(socketDir, 0o700);
    }
  });
});
