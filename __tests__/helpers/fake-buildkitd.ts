// A fake `buildkitd` executable for runs of the whole action that start a
// local daemon: it reports a version for the "buildkitd on PATH" check, and
// when started appends "spawned" to the file named by FAKE_BUILDKITD_EVENTS.
// With FAKE_BUILDKITD_SERVE=1 it then serves the Control service on its
// --addr socket (answering the probe, holding Solve, Status and Session open,
// and appending "solve" when Solve arrives); otherwise it never answers, like
// a daemon slow to start. It is a Node script named buildkitd, so the action's
// ownership check (command line names buildkitd and the state directory)
// holds for it as for the real one.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

export const FAKE_BUILDKITD_VERSION = 'v0.13.0';

/** Writes the fake into `dir` (created if needed) as `dir/buildkitd`; returns its path. */
export function writeFakeBuildkitd(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'buildkitd');
  const grpcPath = JSON.stringify(join(REPO, 'node_modules', '@grpc', 'grpc-js'));
  writeFileSync(
    file,
    `#!/usr/bin/env node
const { appendFileSync } = require('node:fs');
const args = process.argv.slice(2);
if (args.includes('--version')) {
  console.log('buildkitd github.com/moby/buildkit ${FAKE_BUILDKITD_VERSION} fake');
  process.exit(0);
}
const events = process.env.FAKE_BUILDKITD_EVENTS;
const emit = (what) => events && appendFileSync(events, what + '\\n');
emit('spawned');
const addr = args[args.indexOf('--addr') + 1] || '';
if (process.env.FAKE_BUILDKITD_SERVE !== '1') {
  setInterval(() => {}, 1 << 30);
} else {
  const grpc = require(${grpcPath});
  const raw = { serialize: (b) => b, deserialize: (b) => b };
  const method = (name, requestStream, responseStream) => ({
    path: '/moby.buildkit.v1.Control/' + name, requestStream, responseStream,
    requestSerialize: raw.serialize, requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize, responseDeserialize: raw.deserialize,
  });
  const server = new grpc.Server();
  server.addService(
    { Info: method('Info', false, false), ListWorkers: method('ListWorkers', false, false), Solve: method('Solve', false, false), Status: method('Status', false, true), Session: method('Session', true, true) },
    {
      // Empty messages: no version, no workers; enough for the probe.
      Info: (_call, cb) => cb(null, Buffer.alloc(0)),
      ListWorkers: (_call, cb) => cb(null, Buffer.alloc(0)),
      Solve: () => emit('solve'),
      Status: () => {},
      Session: (call) => { call.on('data', () => {}); call.on('error', () => {}); },
    },
  );
  server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err) => { if (err) { console.error(err.message); process.exit(1); } });
}
`,
  );
  chmodSync(file, 0o755);
  return file;
}
