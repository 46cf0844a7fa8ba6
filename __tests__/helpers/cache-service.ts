// A stand-in for the runner's cache service (type=gha), on loopback: it
// records who asked, with which token, and refuses everything, so builds use
// `ignore-error=true`. The daemons under test call it themselves, so a
// request here shows what the action handed them.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CacheServiceStandIn {
  /** For ACTIONS_CACHE_URL and ACTIONS_RESULTS_URL. */
  readonly url: string;
  /** For ACTIONS_RUNTIME_TOKEN: a JWT the daemons accept (they read its claims without checking a signature). */
  readonly token: string;
  readonly seen: { url: string; headers: IncomingHttpHeaders; body: string }[];
  /** The environment a job with the cache service has. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startCacheServiceStandIn(): Promise<CacheServiceStandIn> {
  const seen: CacheServiceStandIn['seen'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(503).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // The daemons need the scopes (claim "ac") and a validity (nbf, exp).
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ nbf: now - 60, exp: now + 3600, ac: JSON.stringify([{ Scope: 'refs/heads/main', Permission: 3 }]) })}.c2lnbmF0dXJl`;
  return {
    url,
    token,
    seen,
    env: { ACTIONS_CACHE_URL: url, ACTIONS_RESULTS_URL: url, ACTIONS_RUNTIME_TOKEN: token },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
