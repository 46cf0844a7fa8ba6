// A loopback HTTP front for a real registry that refuses some manifest puts
// the way distribution on filesystem storage does when it loses the race
// between two uploads of one blob (its rewritten link reads as nothing):
// 400 with DIGEST_INVALID and MANIFEST_BLOB_UNKNOWN. Everything else passes
// through unchanged, so the daemons and the action talk to the real
// registry; the race itself is timing-dependent, this makes it happen on cue.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RacingRegistry {
  /** host:port to push to. */
  readonly address: string;
  /** The manifest puts refused so far (request paths). */
  readonly refused: string[];
  close(): Promise<void>;
}

/** A manifest put, by tag or by digest. */
const MANIFEST_PUT = /^\/v2\/.+\/manifests\/[^/?]+$/;

/**
 * Fronts `upstream` (host:port, plain HTTP). `refuse(n)` is asked for the
 * n-th manifest put (from 1) and says whether to refuse it.
 */
export async function startRacingRegistry(upstream: string, refuse: (n: number) => boolean): Promise<RacingRegistry> {
  const refused: string[] = [];
  let puts = 0;
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'PUT' && MANIFEST_PUT.test(req.url ?? '') && refuse(++puts)) {
      refused.push(req.url!);
      req.resume();
      req.on('end', () => {
        const digest = 'sha256:' + '0'.repeat(64);
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({
            errors: [
              { code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' },
              { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: digest },
            ],
          }),
        );
      });
      return;
    }
    // The Host header stays the client's: the registry's Location headers then point back here.
    const forward = httpRequest({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
