// Workflow-command injection through main (issue 10, hole 1): a hostile
// daemon controls every string it reports (version, workers, step names, logs,
// warnings, errors, the exporter response). Read the way the runner reads
// stdout, none of it may become a command; only our own commands are live,
// annotations included, and nothing reaches the state or outputs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Services, type BytesMessage, type InfoResponse, type ListWorkersResponse, type SolveRequest, type SolveResponse, type StatusResponse } from '../../src/protocol/index.js';
import { serviceDefinition } from '../helpers/service-definition.js';
import { main } from '../../src/action/main.js';
import * as runner from '../../src/github/runner.js';
import { resetSavedState } from '../../src/action/state.js';
import { readAsRunner } from '../helpers/workflow-commands.js';
import { captureStdoutAsync, makeTempDir, parseFileCommands, setInputs, writeTree } from './helpers.js';

/** Each is a command as the runner would split the line, if it were not stopped. */
const EVIL = {
  version: 'v0.99.0\r::save-state name=tmpDirs::["/victim-version"]',
  worker: 'w1\n::set-output name=digest::pwned-worker',
  os: 'linux\r   ::add-mask::linux',
  stepName: '[1/1] RUN evil\r::set-output name=digest::pwned-name',
  log: '50%\r::save-state name=tmpDirs::["/victim-log"]\n::error::pwned-log\n::stop-commands::guess\n::guess::\n##[set-output name=x;]pwned\nno newline\r',
  status: 'pulling\r\n::error::pwned-status',
  warning: 'Dubious\r::warning::pwned-warning',
  stepError: 'process did not complete successfully: exit code: 1\n::save-state name=tmpDirs::["/victim-error"]',
  solveError: 'failed to solve: exit code: 1\r::set-output name=digest::pwned-solve',
};
const DIGEST = `sha256:${'a'.repeat(64)}`;
const ts = (s: number) => ({ seconds: String(1700000000 + s), nanos: 0 });

function hostileDaemon(fail: boolean): grpc.UntypedServiceImplementation {
  return {
    Info(_call: unknown, cb: grpc.sendUnaryData<InfoResponse>) {
      cb(null, { buildkitVersion: { package: 'github.com/moby/buildkit\n::error::pwned-package', version: EVIL.version, revision: 'r\r::echo::on' } });
    },
    ListWorkers(_call: unknown, cb: grpc.sendUnaryData<ListWorkersResponse>) {
      cb(null, { record: [{ ID: EVIL.worker, platforms: [{ OS: EVIL.os, Architecture: 'amd64' }], Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci\n::error::pwned-label' } }] });
    },
    Status(call: grpc.ServerWritableStream<{ Ref: string }, StatusResponse>) {
      const v = 'sha256:v';
      call.write({ vertexes: [{ digest: v, name: EVIL.stepName, started: ts(0) }] });
      call.write({ statuses: [{ ID: 's', vertex: v, name: EVIL.status, current: '10', completed: ts(1) }] });
      call.write({ logs: [{ vertex: v, msg: Buffer.from(EVIL.log) }] });
      call.write({ warnings: [{ vertex: v, short: Buffer.from(EVIL.warning), detail: [Buffer.from('detail\n::error::pwned-detail')], url: 'https://x\r::echo::on' }] });
      call.write({ vertexes: [{ digest: v, name: EVIL.stepName, started: ts(0), completed: ts(2), ...(fail ? { error: EVIL.stepError } : {}) }] });
      call.end();
    },
    Session(call: grpc.ServerDuplexStream<BytesMessage, BytesMessage>) {
      call.on('data', () => undefined);
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    Solve(_call: grpc.ServerUnaryCall<SolveRequest, SolveResponse>, cb: grpc.sendUnaryData<SolveResponse>) {
      if (fail) cb({ code: grpc.status.UNKNOWN, details: EVIL.solveError });
      else cb(null, { ExporterResponse: { 'containerimage.digest': DIGEST, 'image.name': 'registry.test/app:1\r::save-state name=tmpDirs::["/victim-image"]' } });
    },
  };
}

let dir: string;
let server: grpc.Server | undefined;
const savedEnv = { ...process.env };

async function startDaemon(fail: boolean): Promise<string> {
  server = new grpc.Server();
  server.addService(serviceDefinition(Services.Control), hostileDaemon(fail));
  // A private directory: nothing else on the machine can reach the socket.
  const socket = path.join(dir, 'd.sock');
  await new Promise<number>((resolve, reject) => server!.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return `unix://${socket}`;
}

beforeEach(() => {
  dir = makeTempDir('erb-inject-');
  fs.chmodSync(dir, 0o700);
  writeTree(dir, { 'ws/Dockerfile': 'FROM scratch\n', state: '', output: '', summary: '' });
  process.env['GITHUB_STATE'] = path.join(dir, 'state');
  process.env['GITHUB_OUTPUT'] = path.join(dir, 'output');
  process.env['GITHUB_STEP_SUMMARY'] = path.join(dir, 'summary');
  process.env['GITHUB_WORKSPACE'] = path.join(dir, 'ws');
  resetSavedState();
});

afterEach(async () => {
  server?.forceShutdown();
  server = undefined;
  setInputs({});
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** main as index.ts runs it: a failure becomes an error annotation. */
async function runMain(builder: string, more: Record<string, string> = {}): Promise<string> {
  setInputs({ builder, fallback: 'never', tags: 'registry.test/app:1', ...more });
  const { out } = await captureStdoutAsync(async () => {
    try {
      await main(new AbortController().signal);
    } catch (err) {
      runner.error(err instanceof Error ? err.message : String(err));
    }
    runner.resumeCommands();
  });
  return out;
}

function expectNoForgedFiles(): void {
  const state = parseFileCommands(fs.readFileSync(path.join(dir, 'state'), 'utf8'));
  expect([...state.keys()]).toEqual(['isPost']);
  const outputs = parseFileCommands(fs.readFileSync(path.join(dir, 'output'), 'utf8'));
  for (const [, value] of outputs) expect(value).not.toContain('pwned');
}

test('a failing build: only our groups and error annotations are live, each carrying the daemon text escaped', async () => {
  // A build naming its platform: the workers are asked for and logged too.
  const out = await runMain(await startDaemon(true), { platforms: 'linux/amd64' });
  const view = readAsRunner(out);
  expect(view.live.map((c) => c.command)).toEqual(['group', 'endgroup', 'group', 'error', 'endgroup', 'error']);
  const [usingGroup, , , stepError, , mainError] = view.live;
  expect(usingGroup!.data).toContain(EVIL.version);
  expect(stepError!.properties).toEqual({ title: `Build step failed: ${EVIL.stepName}` });
  expect(stepError!.data.startsWith(EVIL.stepError)).toBe(true);
  expect(mainError!.data).toBe(EVIL.solveError);
  expect(view.stoppedAtEnd).toBe(false);
  // The text is in the log, but only where commands are stopped.
  expect(view.stoppedLines).toContain('#1 ::error::pwned-log');
  expect(view.stoppedLines).toContain('::set-output name=digest::pwned-worker: linux');
  expectNoForgedFiles();
});

test('a successful build: the warning annotation comes after the build output, outside its window', async () => {
  const out = await runMain(await startDaemon(false));
  const view = readAsRunner(out);
  expect(view.live.map((c) => c.command)).toEqual(['group', 'endgroup', 'group', 'endgroup', 'warning']);
  expect(view.live[4]!.data.startsWith(EVIL.warning)).toBe(true);
  expect(view.stoppedLines).toContain('#1 ::save-state name=tmpDirs::["/victim-log"]');
  expectNoForgedFiles();
  expect(parseFileCommands(fs.readFileSync(path.join(dir, 'output'), 'utf8')).get('digest')).toBe(DIGEST);
});
