// What the probe asks a daemon (grpc-js serving the Control service: a server
// that is not ours). ListWorkers makes buildkitd look for emulators, running a
// helper per architecture, so it is asked only when the workers are wanted, or
// when a daemon before v0.11 has no Info to tell its version.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Services, type InfoResponse, type ListWorkersResponse } from '../../src/protocol/index.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import { probeBuilder } from '../../src/buildkit/probe.js';
import { serviceDefinition } from '../helpers/service-definition.js';

const WORKERS: ListWorkersResponse = {
  record: [{ ID: 'w1', platforms: [{ OS: 'linux', Architecture: 'arm64' }], BuildkitVersion: { package: 'github.com/moby/buildkit', version: 'v0.10.6', revision: 'r' } }],
};

interface Daemon {
  readonly address: string;
  readonly calls: string[];
  close(): Promise<void>;
}

/** A daemon with Info (v0.11+), or without (older: UNIMPLEMENTED). */
async function startDaemon(hasInfo: boolean): Promise<Daemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'erb-probe-'));
  const calls: string[] = [];
  const server = new grpc.Server();
  server.addService(serviceDefinition(Services.Control), {
    Info(_call: unknown, cb: grpc.sendUnaryData<InfoResponse>) {
      calls.push('Info');
      if (hasInfo) cb(null, { buildkitVersion: { package: 'github.com/moby/buildkit', version: 'v0.34.2', revision: 'abc' } });
      else cb({ code: grpc.status.UNIMPLEMENTED, details: 'unknown method Info' });
    },
    ListWorkers(_call: unknown, cb: grpc.sendUnaryData<ListWorkersResponse>) {
      calls.push('ListWorkers');
      cb(null, WORKERS);
    },
  });
  const socket = path.join(dir, 'd.sock');
  await new Promise<number>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `unix://${socket}`,
    calls,
    close: async () => {
      server.forceShutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

describe('probeBuilder', () => {
  it('asks only Info when the workers are not wanted', async () => {
    daemon = await startDaemon(true);
    const info = await probeBuilder(parseEndpoint(daemon.address), 5000, undefined, { workers: false });
    expect(info.version?.version).toBe('v0.34.2');
    expect(info.workers).toBeUndefined();
    expect(daemon.calls).toEqual(['Info']);
  });

  it('asks Info and ListWorkers by default, and returns the workers', async () => {
    daemon = await startDaemon(true);
    const info = await probeBuilder(parseEndpoint(daemon.address), 5000);
    expect(info.version?.version).toBe('v0.34.2');
    expect(info.workers?.map((w) => w.ID)).toEqual(['w1']);
    expect([...daemon.calls].sort()).toEqual(['Info', 'ListWorkers']);
  });

  it('learns the version of a daemon without Info from ListWorkers, even when the workers are not wanted', async () => {
    daemon = await startDaemon(false);
    const info = await probeBuilder(parseEndpoint(daemon.address), 5000, undefined, { workers: false });
    expect(info.version?.version).toBe('v0.10.6');
    expect(info.workers?.map((w) => w.ID)).toEqual(['w1']);
    expect(daemon.calls).toEqual(['Info', 'ListWorkers']);
  });
});
