// A token service for a real registry started with `auth.token` (see
// registry.ts): it issues ES256 JWTs signed with a throw-away certificate the
// registry trusts, granting what the registry's challenge scope asks for when
// the Basic credentials (or the refresh token) are right, and nothing for
// anonymous callers except pull. The registry itself verifies the tokens, so
// a client that gets the flow wrong is refused by the real registry.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenRequestRecord {
  readonly method: string;
  /** `basic:<user>`, `refresh`, or `anonymous`. */
  readonly who: string;
  readonly service: string;
  readonly scopes: readonly string[];
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM file of the signing certificate, for the registry's rootcertbundle. */
  readonly certFile: string;
  /** The refresh token that the POST grant accepts (an identity token in docker's terms). */
  readonly refreshToken: string;
  readonly requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export async function startTokenServer(user: string, password: string): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'token-server-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=test-token-issuer'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  const service = 'test-registry';
  const issuer = 'test-issuer';
  const refreshToken = randomBytes(16).toString('hex');
  const requests: TokenRequestRecord[] = [];

  const issue = (subject: string, scopes: readonly string[], grant: (actions: string[]) => string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      // repository:<name>:<actions>; the name may itself contain ':' only before the last one.
      const last = s.lastIndexOf(':');
      const first = s.indexOf(':');
      return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: grant(s.slice(last + 1).split(',')) };
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  };

  const body = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => resolve(text));
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let who = 'anonymous';
      let params = url.searchParams;
      if (req.method === 'POST') {
        params = new URLSearchParams(await body(req));
        if (params.get('grant_type') !== 'refresh_token' || params.get('refresh_token') !== refreshToken) {
          requests.push({ method: 'POST', who: 'bad-refresh', service: params.get('service') ?? '', scopes: [] });
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
          return;
        }
        who = 'refresh';
      } else {
        const auth = req.headers.authorization;
        if (auth) {
          const [u, ...rest] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
          if (u !== user || rest.join(':') !== password) {
            requests.push({ method: 'GET', who: `bad:${u}`, service: params.get('service') ?? '', scopes: params.getAll('scope') });
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
            return;
          }
          who = `basic:${u}`;
        }
      }
      // The POST grant sends its scopes space-separated in one field.
      const scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      requests.push({ method: req.method ?? '', who, service: params.get('service') ?? '', scopes });
      const token = issue(who, scopes, (actions) => (who === 'anonymous' ? actions.filter((a) => a === 'pull') : actions));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(who === 'refresh' ? { access_token: token } : { token }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    refreshToken,
    requests,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
