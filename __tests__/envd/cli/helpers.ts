// Shared bits for the envd CLI tests: temp dirs, the stand-in envd, a local
// HTTP server and a stdout capture (the action's log goes to stdout).
import { jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fake-envd.mjs');

export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `erb-${prefix}-`));
}

/** Copies the stand-in into `dir` as an executable named `envd`. */
export async function installFakeEnvd(dir: string): Promise<string> {
  const bin = path.join(dir, 'envd');
  await fsp.copyFile(FIXTURE, bin);
  await fsp.chmod(bin, 0o755);
  return bin;
}

export interface FakeEnvdCall {
  argv: string[];
  cwd: string;
  env: Record<string, string | null>;
}

export function readCalls(logFile: string): FakeEnvdCall[] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeEnvdCall);
}

/** Sets env vars for one test; the returned function restores the old values. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Swallows and records what the action logs (src/github/runner.ts), so tests can assert on warnings. */
export function captureStdout(): { text: () => string; restore: () => void } {
  let buf = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    buf += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write);
  return { text: () => buf, restore: () => spy.mockRestore() };
}

/** A Writable that keeps everything written to it. */
export function sink(): Writable & { text: () => string } {
  let buf = '';
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => buf;
  return w;
}

export interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
}

export type Route = (req: http.IncomingMessage, res: http.ServerResponse, hitNo: number) => void;

/** node:http on 127.0.0.1 with per-path handlers; unknown paths answer 404. */
export async function startServer(routes: Record<string, Route>): Promise<{
  url: string;
  hits: Hit[];
  hitsFor: (p: string) => number;
  close: () => Promise<void>;
}> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0] ?? '/';
    hits.push({ path: p, headers: req.headers });
    const route = routes[p];
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    route(req, res, hits.filter((h) => h.path === p).length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    hitsFor: (p) => hits.filter((h) => h.path === p).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const send =
  (body: string | Buffer, status = 200): Route =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/octet-stream' }).end(body);
  };
