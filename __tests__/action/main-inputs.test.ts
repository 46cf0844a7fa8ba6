// A bad input stops main before it does anything (issue 10, hole 8): the
// error is one line naming the input, and no builder was contacted, nothing
// downloaded or started. The builder here is a loopback listener that only
// counts connections; before the checks moved into readInputs, main probed
// it first and failed with a connect error instead.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { main } from '../../src/action/main.js';
import { resetSavedState } from '../../src/action/state.js';
import { captureStdoutAsync, makeTempDir, parseFileCommands, setInputs, writeTree } from './helpers.js';

let dir: string;
let listener: net.Server;
let connections = 0;
let builder: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  listener = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  builder = `tcp://127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => listener.close(resolve));
});

beforeEach(() => {
  connections = 0;
  dir = makeTempDir('erb-main-inputs-');
  writeTree(dir, {
    'ws/env/build.envd': 'def build():\n    base(dev=True)\n',
    'ws/colon/a:b/build.envd': 'def build():\n    pass\n',
    state: '',
    output: '',
  });
  for (const d of ['temp', 'tool-cache']) fs.mkdirSync(path.join(dir, d));
  Object.assign(process.env, {
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_WORKSPACE: path.join(dir, 'ws'),
    RUNNER_TEMP: path.join(dir, 'temp'),
    RUNNER_TOOL_CACHE: path.join(dir, 'tool-cache'),
  });
  resetSavedState();
});

afterEach(() => {
  setInputs({});
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  fs.rmSync(dir, { recursive: true, force: true });
});

it.each<[string, Record<string, string>, RegExp]>([
  ['two envd cache-from entries', { context: 'env', 'cache-from': 'r.io/a:c\nr.io/b:c' }, /^Input "cache-from": envd takes one cache entry/],
  ['two envd cache-to entries', { context: 'env', 'cache-to': 'r.io/a:c\nr.io/b:c' }, /^Input "cache-to": envd takes one cache entry/],
  ['a platform envd cannot parse', { context: 'env', platforms: 'linux/x86-64' }, /^Input "platforms": "linux\/x86-64" is not in envd's os\/arch\[\/variant\] form/],
  ['an envd file path with a colon', { context: 'colon', file: 'a:b/build.envd' }, /^Input "file": envd cannot read a build file whose path from the context contains ':'/],
  ['an envd too old for the action', { context: 'env', 'envd-version': 'v0.3.1' }, /^Input "envd-version" must be v0\.3\.33 or later/],
])('%s: one line naming the input, and no builder contacted, nothing downloaded or started', async (_name, inputs, message) => {
  setInputs({ builder, fallback: 'never', 'connect-timeout': '2s', ...inputs });
  let error: unknown;
  await captureStdoutAsync(() => main(new AbortController().signal).catch((err: unknown) => void (error = err)));
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).not.toContain('\n');
  expect(connections).toBe(0);
  expect(fs.readdirSync(path.join(dir, 'temp'))).toEqual([]);
  expect(fs.readdirSync(path.join(dir, 'tool-cache'))).toEqual([]);
  expect([...parseFileCommands(fs.readFileSync(path.join(dir, 'state'), 'utf8')).keys()]).toEqual(['isPost']);
});
