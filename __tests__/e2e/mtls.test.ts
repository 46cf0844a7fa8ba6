// mTLS to a real buildkitd that requires client certificates. Needs
// BUILDKIT_TLS_HOST (tcp://host:port of such a daemon) and BUILDKIT_TLS_DIR
// holding ca.pem, cert.pem and key.pem (client), plus other-ca.pem, a CA that
// did not sign the daemon, for the negative case.
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startConnectProxy } from '../helpers/connect-proxy.js';
import { runAction } from '../helpers/run-action.js';
import { makeContext } from './env.js';

jest.setTimeout(180_000);

const HOST = process.env.BUILDKIT_TLS_HOST ?? '';
const DIR = process.env.BUILDKIT_TLS_DIR ?? '';
const SERVER_NAME = process.env.BUILDKIT_TLS_SERVER_NAME ?? 'buildkitd.internal';
if (!HOST || !DIR) {
  process.stderr.write('\n!!! mTLS END-TO-END SKIPPED: set BUILDKIT_TLS_HOST and BUILDKIT_TLS_DIR (ca.pem, cert.pem, key.pem, other-ca.pem)\n\n');
}

(HOST && DIR ? describe : describe.skip)('mTLS to a real buildkitd', () => {
  const context = () => makeContext({ Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n' });

  test('builds with file paths for CA, cert and key and a server name', async () => {
    const ctx = context();
    const run = await runAction(
      { builder: HOST, 'tls-ca': join(DIR, 'ca.pem'), 'tls-cert': join(DIR, 'cert.pem'), 'tls-key': join(DIR, 'key.pem'), 'tls-server-name': SERVER_NAME, context: ctx },
      { env: { GITHUB_WORKSPACE: ctx } },
    );
    expect(run.code).toBe(0);
    expect(run.outputs.digest).toMatch(/^sha256:/);
  });

  test('builds through an HTTP proxy, with TLS to the daemon inside the CONNECT tunnel', async () => {
    const proxy = await startConnectProxy();
    try {
      const ctx = context();
      const run = await runAction(
        { builder: HOST, 'tls-ca': join(DIR, 'ca.pem'), 'tls-cert': join(DIR, 'cert.pem'), 'tls-key': join(DIR, 'key.pem'), 'tls-server-name': SERVER_NAME, context: ctx },
        { env: { GITHUB_WORKSPACE: ctx, https_proxy: proxy.url } },
      );
      expect(run.code).toBe(0);
      expect(run.outputs.digest).toMatch(/^sha256:/);
      // Every connection to the daemon went through the proxy (the probe's is reused by the build).
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      expect(new Set(proxy.tunnels.map((t) => t.target))).toEqual(new Set([HOST.slice('tcp://'.length)]));
    } finally {
      await proxy.close();
    }
  });

  test('accepts PEM content instead of paths, and masks the key', async () => {
    const ctx = context();
    const key = readFileSync(join(DIR, 'key.pem'), 'utf8');
    const run = await runAction(
      { builder: HOST, 'tls-ca': readFileSync(join(DIR, 'ca.pem'), 'utf8'), 'tls-cert': readFileSync(join(DIR, 'cert.pem'), 'utf8'), 'tls-key': key, 'tls-server-name': SERVER_NAME, context: ctx },
      { env: { GITHUB_WORKSPACE: ctx } },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('::add-mask::');
    const keyBody = key.split('\n')[1]!;
    const visible = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(visible.join('\n')).not.toContain(keyBody);
  });

  test.each([
    ['a CA that did not sign the daemon', { 'tls-ca': 'other-ca.pem', 'tls-cert': 'cert.pem', 'tls-key': 'key.pem' }, /TLS handshake failed .*: (unable to verify|self.signed|certificate)/i],
    // TLS 1.2 daemons alert "bad certificate", TLS 1.3 ones "certificate required".
    ['no client certificate', { 'tls-ca': 'ca.pem' }, /TLS handshake failed .*: (sslv3 alert bad certificate|tlsv13 alert certificate required)$/],
  ])('fails within the timeout with one clear line: %s', async (_name, files, message) => {
    const ctx = context();
    const inputs: Record<string, string> = { builder: HOST, 'tls-server-name': SERVER_NAME, fallback: 'never', 'connect-timeout': '5s', context: ctx };
    for (const [k, f] of Object.entries(files)) inputs[k] = join(DIR, f);
    const started = Date.now();
    const run = await runAction(inputs, { env: { GITHUB_WORKSPACE: ctx } });
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(errors[0]).toContain(HOST);
  });
});
