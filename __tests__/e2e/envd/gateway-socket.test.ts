// The real envd CLI through the gateway's unix socket, wired the way main
// wires it (private home, socket inside it, `envd context create --builder
// unix`), against a real buildkitd. Checks that envd really dials the socket,
// that every method it calls is on the gateway's allow-list (nothing is
// refused), and that the pushed digest is the one the gateway captured.
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseEndpoint } from '../../../src/buildkit/endpoint.js';
import { runEnvdBuild } from '../../../src/envd/build.js';
import { createEnvdContext, createEnvdHome, envdEnv, gatewaySocketPath, removeEnvdContext } from '../../../src/envd/context.js';
import { startGateway } from '../../../src/envd/gateway/server.js';
import { pushEnvdBaseImage } from './base-image.js';
import { sink } from '../../envd/cli/helpers.js';
import { BUILDKIT_HOST, E2E_REGISTRY, makeContext, registryDigest, uniqueRepo } from '../env.js';

jest.setTimeout(300_000);

const ENVD_BIN = process.env.ENVD_BIN ?? '';
const ready = !!(ENVD_BIN && BUILDKIT_HOST && E2E_REGISTRY);
if (!ready) {
  process.stderr.write('\n!!! REAL ENVD THROUGH THE GATEWAY SOCKET SKIPPED: needs ENVD_BIN, BUILDKIT_HOST and E2E_REGISTRY (scripts/peers.sh env VERSION)\n\n');
}

(ready ? describe : describe.skip)('the real envd CLI through the gateway socket', () => {
  let base = '';

  beforeAll(async () => {
    base = await pushEnvdBaseImage('envd-gw-base');
  });

  test('envd dials the unix socket, uses only allowed methods, and the pushed digest is captured', async () => {
    const marker = `m${Date.now().toString(36)}`;
    const context = makeContext({
      'data.txt': `${marker}\n`,
      'build.envd': [
        '# syntax=v1',
        '',
        'def build():',
        `    base(image="${base}", dev=False)`,
        '    io.copy(source="data.txt", target="/opt/data.txt")',
        '    run(commands=["echo built-$(cat /opt/data.txt)"])',
        '',
      ].join('\n'),
    });
    const repo = uniqueRepo('envd-gw');
    const logs: string[] = [];
    const out = sink();
    const record = await createEnvdHome({ envdPath: ENVD_BIN });
    const gateway = await startGateway(parseEndpoint(BUILDKIT_HOST), { socketPath: gatewaySocketPath(record), log: (m) => logs.push(m) });
    try {
      expect(statSync(record.home).mode & 0o777).toBe(0o700);
      expect(statSync(gateway.socketPath).mode & 0o777).toBe(0o600);
      await createEnvdContext(record, { builderSocket: gateway.socketPath, connectTimeoutMs: 30_000, out });
      // envd itself reports the builder as the socket.
      const contexts = execFileSync(ENVD_BIN, ['context', 'ls'], { env: envdEnv(record, 30_000) }).toString();
      expect(contexts).toContain(`unix://${gateway.socketPath}`);

      await runEnvdBuild(
        record,
        {
          context,
          file: join(context, 'build.envd'),
          envdFunction: 'build',
          tags: [`${E2E_REGISTRY}/${repo}:1`],
          push: true,
          cacheFrom: [],
          cacheTo: [],
          connectTimeoutMs: 30_000,
        },
        { out },
      );
    } finally {
      await gateway.close();
      await removeEnvdContext(record);
    }
    expect(out.text()).toContain(`built-${marker}`);
    expect(logs.filter((l) => /refused/.test(l))).toEqual([]);
    const digest = gateway.solves().find((s) => s.status.code === 0 && s.exporterResponse['containerimage.digest'])?.exporterResponse['containerimage.digest'];
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(digest);
    expect(existsSync(record.home)).toBe(false);
  });
});
