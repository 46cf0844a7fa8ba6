import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DEFAULTS, InputError, parseCacheEntry, parseDuration, readInputs, SBOM_DEFAULT_ATTRS } from '../../src/action/inputs.js';
import type { ActionInputs } from '../../src/action/inputs-types.js';
import { captureStdout, makeTempDir, maskedValues, setInputs, writeTree } from './helpers.js';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUCA\n-----END CERTIFICATE-----\n';
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

let ws: string;

beforeAll(() => {
  ws = makeTempDir('erb-inputs-');
  writeTree(ws, {
    Dockerfile: 'FROM scratch\n',
    'app/Dockerfile.dev': 'FROM scratch\n',
    'app/Dockerfile': 'FROM scratch\n',
    'envd-only/build.envd': 'def build():\n    base(os="ubuntu22.04")\n',
    'envd-only/custom.envd': 'def gpu():\n    pass\n',
    'both/Dockerfile': 'FROM scratch\n',
    'both/build.envd': 'def build():\n    pass\n',
    'envd-colon/a:b/build.envd': 'def build():\n    pass\n',
    'secrets/big': 'x'.repeat(500 * 1024 + 1),
    'certs/ca.pem': CA_PEM,
    'certs/client.key': KEY_PEM,
    'certs/not-pem.txt': 'hello\n',
    'secrets/npmrc': '//registry.npmjs.org/:_authToken=abc\n',
    'a-file': 'x',
  });
});

afterAll(() => {
  setInputs({});
  fs.rmSync(ws, { recursive: true, force: true });
});

/** readInputs with the given `with:` values, stdout (workflow commands) captured. */
function run(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): { result?: ActionInputs; error?: Error; out: string } {
  setInputs(inputs);
  const { result, error, out } = captureStdout(() => readInputs({ GITHUB_WORKSPACE: ws, ...env }));
  return { ...(result ? { result } : {}), ...(error instanceof Error ? { error } : {}), out };
}

function ok(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): ActionInputs {
  const { result, error } = run(inputs, env);
  if (error) throw error;
  return result!;
}

function errorOf(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): string {
  const { error } = run(inputs, env);
  if (!error) throw new Error(`expected an error for ${JSON.stringify(inputs)}`);
  expect(error).toBeInstanceOf(InputError);
  return error.message;
}

describe('defaults', () => {
  it('produces the documented defaults from empty inputs', () => {
    const inputs = ok({});
    expect(inputs).toEqual({
      builders: [],
      builderPlatforms: {},
      connectTimeoutMs: 20_000,
      fallback: 'auto',
      buildkitVersion: 'v0.24.0',
      buildkitDownloadUrl: 'https://github.com/moby/buildkit/releases/download',
      buildkitdConfigInline: '',
      allowUnverifiedDownloads: false,
      frontend: 'dockerfile',
      context: ws,
      file: path.join(ws, 'Dockerfile'),
      envdFunction: 'build',
      envdVersion: 'v1.3.4',
      target: '',
      buildArgs: [],
      labels: [],
      annotations: [],
      tags: [],
      push: false,
      pushByDigest: false,
      merge: [],
      platforms: [],
      noCache: false,
      cacheFrom: [],
      cacheTo: [],
      secrets: [],
      provenance: '',
      sbom: '',
      sourceDateEpoch: '',
      registryInsecure: false,
    });
    expect(inputs.tls).toBeUndefined();
  });

  it('treats the defaults action.yml passes exactly like empty inputs', () => {
    expect(
      ok({
        'connect-timeout': '20s',
        fallback: 'auto',
        'buildkit-version': 'v0.24.0',
        frontend: 'auto',
        context: '.',
        function: 'build',
        'envd-version': 'v1.3.4',
        push: 'false',
        'no-cache': 'false',
        'registry-insecure': 'false',
        'allow-unverified-downloads': 'false',
      }),
    ).toEqual(ok({}));
  });

  it('falls back to the cwd without GITHUB_WORKSPACE', () => {
    setInputs({});
    const cwd = process.cwd();
    process.chdir(ws);
    try {
      const { result } = captureStdout(() => readInputs({}));
      expect(result?.context).toBe(process.cwd());
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('action.yml', () => {
  // A small reader for our own action.yml layout (two-space keys, quoted
  // defaults), so the test needs no YAML dependency.
  const yml = fs.readFileSync(path.join(process.cwd(), 'action.yml'), 'utf8');
  const section = (name: string): string => {
    const start = yml.indexOf(`\n${name}:\n`);
    const rest = yml.slice(start + name.length + 3);
    const end = rest.search(/\n[a-z]/);
    return end === -1 ? rest : rest.slice(0, end);
  };
  const inputs = new Map<string, { description: boolean; default?: string }>();
  let current = '';
  for (const line of section('inputs').split('\n')) {
    const key = /^ {2}([a-z-]+):$/.exec(line);
    if (key) {
      current = key[1]!;
      inputs.set(current, { description: false });
      continue;
    }
    const entry = inputs.get(current);
    if (!entry) continue;
    if (/^ {4}description:/.test(line)) entry.description = true;
    const def = /^ {4}default: '(.*)'$/.exec(line);
    if (def) entry.default = def[1]!;
  }

  const expected: Record<string, string> = {
    builder: '',
    'tls-ca': '',
    'tls-cert': '',
    'tls-key': '',
    'tls-server-name': '',
    'connect-timeout': DEFAULTS.connectTimeout,
    fallback: DEFAULTS.fallback,
    'buildkit-version': DEFAULTS.buildkitVersion,
    'buildkit-download-url': DEFAULTS.buildkitDownloadUrl,
    'buildkitd-config-inline': '',
    'allow-unverified-downloads': 'false',
    frontend: DEFAULTS.frontend,
    context: DEFAULTS.context,
    file: '',
    function: DEFAULTS.envdFunction,
    'envd-version': DEFAULTS.envdVersion,
    target: '',
    'build-args': '',
    labels: '',
    annotations: '',
    tags: '',
    push: 'false',
    platforms: '',
    'no-cache': 'false',
    'cache-from': '',
    'cache-to': '',
    secrets: '',
    'secret-files': '',
    'secret-envs': '',
    provenance: '',
    sbom: '',
    'registry-insecure': 'false',
    'push-by-digest': 'false',
    merge: '',
    'source-date-epoch': '',
  };

  it('documents exactly the inputs readInputs reads, with matching defaults', () => {
    expect([...inputs.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, def] of Object.entries(expected)) {
      expect({ name, ...inputs.get(name) }).toEqual({ name, description: true, default: def });
    }
  });

  it('documents the outputs and runs on node24 with a post step', () => {
    for (const output of ['digest', 'imageid', 'metadata', 'images']) {
      expect(section('outputs')).toMatch(new RegExp(`(?:^|\\n) {2}${output}:\\n {4}description: \\S`));
    }
    expect(section('runs')).toContain('using: node24');
    expect(section('runs')).toContain('main: dist/index.js');
    expect(section('runs')).toContain('post: dist/index.js');
  });
});

describe('list inputs', () => {
  it.each<[string, string, string[]]>([
    ['one a line', 'ghcr.io/a/b:1\nghcr.io/a/b:2', ['ghcr.io/a/b:1', 'ghcr.io/a/b:2']],
    ['comma separated', 'ghcr.io/a/b:1,ghcr.io/a/b:2', ['ghcr.io/a/b:1', 'ghcr.io/a/b:2']],
    ['mixed, spaces and blank lines', '\n ghcr.io/a/b:1 , ghcr.io/a/b:2\n\n  ghcr.io/a/b:3  \n', ['ghcr.io/a/b:1', 'ghcr.io/a/b:2', 'ghcr.io/a/b:3']],
    ['quoted entries', '"ghcr.io/a/b:1","ghcr.io/a/b:2"', ['ghcr.io/a/b:1', 'ghcr.io/a/b:2']],
    ['empty entries dropped', 'a:1,,b:1,', ['a:1', 'b:1']],
    ['duplicates dropped', 'a:1\na:1', ['a:1']],
    ['CRLF line ends', 'a:1\r\nb:1\r\n', ['a:1', 'b:1']],
  ])('tags: %s', (_name, value, expected) => {
    expect(ok({ tags: value }).tags).toEqual(expected);
  });

  it.each<[string, string, string[]]>([
    ['newline', 'linux/amd64\nlinux/arm64', ['linux/amd64', 'linux/arm64']],
    ['comma', 'linux/amd64,linux/arm64,linux/arm/v7', ['linux/amd64', 'linux/arm64', 'linux/arm/v7']],
    ['one', 'linux/amd64', ['linux/amd64']],
  ])('platforms: %s', (_name, value, expected) => {
    expect(ok({ platforms: value }).platforms).toEqual(expected);
  });

  it.each<[string, string, string[]]>([
    ['newline', 'tcp://buildkit-a:1234\nunix:///run/buildkit/buildkitd.sock', ['tcp://buildkit-a:1234', 'unix:///run/buildkit/buildkitd.sock']],
    ['comma', 'tcp://a:1234, tcp://b:1234', ['tcp://a:1234', 'tcp://b:1234']],
    ['ipv6', 'tcp://[::1]:1234', ['tcp://[::1]:1234']],
  ])('builder: %s', (_name, value, expected) => {
    expect(ok({ builder: value }).builders).toEqual(expected);
  });

  it('does not treat # as a comment', () => {
    expect(ok({ 'build-args': 'COLOR=#ff0000 # red' }).buildArgs).toEqual([['COLOR', '#ff0000 # red']]);
  });
});

describe('build-args, labels, annotations', () => {
  it.each<[string, string, [string, string][]]>([
    ['simple', 'A=1\nB=two', [['A', '1'], ['B', 'two']]],
    ['value with = and commas', 'OPTS=--a=1,--b=2\nURL=https://x/?q=a,b', [['OPTS', '--a=1,--b=2'], ['URL', 'https://x/?q=a,b']]],
    ['empty value', 'EMPTY=', [['EMPTY', '']]],
    ['later line overrides, first position kept', 'A=1\nB=2\nA=3', [['A', '3'], ['B', '2']]],
    ['quoted value keeps its newline', '"MULTI=a\nb"\nC=1', [['MULTI', 'a\nb'], ['C', '1']]],
    ['stray quote kept', 'Q=say "hi"', [['Q', 'say "hi"']]],
  ])('build-args: %s', (_name, value, expected) => {
    expect(ok({ 'build-args': value }).buildArgs).toEqual(expected);
  });

  it('takes a bare build-arg name from the environment, and skips it when unset', () => {
    expect(ok({ 'build-args': 'FROM_ENV\nUNSET_ONE\nX=1' }, { FROM_ENV: 'env-value' }).buildArgs).toEqual([
      ['FROM_ENV', 'env-value'],
      ['X', '1'],
    ]);
  });

  it.each<[string, string, string]>([
    ['starts with a digit', '1A=x', '"1A" is not a valid build-arg name'],
    ['has a dash', 'MY-ARG=x', '"MY-ARG" is not a valid build-arg name'],
    ['no name', '=x', '"" is not a valid build-arg name'],
  ])('build-args error: %s', (_name, value, message) => {
    expect(errorOf({ 'build-args': value })).toContain(`Input "build-args": ${message}`);
  });

  it('parses labels, key-only labels have an empty value', () => {
    expect(ok({ labels: 'org.opencontainers.image.source=https://github.com/o/r\nteam=ml,platform\nflag' }).labels).toEqual([
      ['org.opencontainers.image.source', 'https://github.com/o/r'],
      ['team', 'ml,platform'],
      ['flag', ''],
    ]);
    expect(errorOf({ labels: '=x' })).toMatch(/^Input "labels": "=x" must be key=value/);
  });

  it('keeps annotations as written and rejects ones without key=value', () => {
    expect(ok({ annotations: 'index:org.opencontainers.image.description=A, B\nfoo=bar' }).annotations).toEqual([
      'index:org.opencontainers.image.description=A, B',
      'foo=bar',
    ]);
    expect(errorOf({ annotations: 'novalue' })).toMatch(/^Input "annotations": "novalue" must be \[type:\]key=value/);
  });
});

describe('tags', () => {
  it.each([
    'alpine',
    'alpine:3.20',
    'user/app:latest',
    'ghcr.io/org/team/app:v1.2.3-rc.1',
    'localhost:5000/a/b:1',
    'localhost/a',
    'registry.example.com:443/a_b/c__d/e-f--g:TAG_1',
    '[::1]:5000/app:1',
    'MyRegistry/app:1',
  ])('accepts %s', (tag) => {
    expect(ok({ tags: tag }).tags).toEqual([tag]);
  });

  it.each<[string, string]>([
    ['ghcr.io/Org/App:1', 'the repository path "Org/App" must be lowercase'],
    ['user/app:bad tag', 'it contains whitespace'],
    ['user/app:-x', 'tag "-x" is invalid'],
    ['user/app:', 'tag "" is invalid'],
    ['user/app@sha256:0123', 'a digest (@sha256:...) cannot be used as a tag'],
    ['ghcr.io//app:1', 'path component "" is invalid'],
    ['ghcr.io/app_:1', 'path component "app_" is invalid'],
    ['localhost:99999/app:1', 'registry port "99999" is invalid'],
    ['-bad.io/app:1', 'registry host "-bad.io" is invalid'],
    ['ghcr.io/:1', 'the repository path is empty'],
  ])('rejects %s, naming the tag', (tag, reason) => {
    // The bad tag is named even when it is not the first one.
    expect(errorOf({ tags: `ok/fine:1\n${tag}` })).toContain(`Input "tags": "${tag}" is not a valid image reference: ${reason}`);
    expect(errorOf({ tags: tag })).toContain(`Input "tags": "${tag}" is not a valid image reference: ${reason}`);
  });
});

describe('booleans', () => {
  it.each<[string, string, boolean]>([
    ['push', 'true', true],
    ['push', 'True', true],
    ['push', 'TRUE', true],
    ['push', 'false', false],
    ['no-cache', 'true', true],
    ['registry-insecure', 'true', true],
  ])('%s: %s', (name, value, expected) => {
    const inputs = ok({ [name]: value, tags: 'a/b:1' });
    const field = { push: 'push', 'no-cache': 'noCache', 'registry-insecure': 'registryInsecure' }[name] as 'push' | 'noCache' | 'registryInsecure';
    expect(inputs[field]).toBe(expected);
  });

  it.each([
    ['push', 'yes'],
    ['push', '1'],
    ['no-cache', 'tRue'],
    ['registry-insecure', 'on'],
  ])('%s: %s is an error', (name, value) => {
    expect(errorOf({ [name]: value })).toBe(`Input "${name}" must be true or false, got "${value}"`);
  });
});

describe('choices and versions', () => {
  it.each<[Record<string, string>, string]>([
    [{ fallback: 'sometimes' }, 'Input "fallback" must be one of auto, never, only; got "sometimes"'],
    [{ frontend: 'buildpacks' }, 'Input "frontend" must be one of auto, dockerfile, envd; got "buildpacks"'],
    [{ 'buildkit-version': '0.24' }, 'Input "buildkit-version" must be a release version like v0.24.0 or latest, got "0.24"'],
    [{ 'envd-version': 'newest' }, 'Input "envd-version" must be a release version like v1.3.4 or latest, got "newest"'],
    [{ 'buildkit-download-url': 'ftp://mirror/buildkit' }, 'Input "buildkit-download-url" must be an https URL, got "ftp://mirror/buildkit"'],
    [{ 'buildkit-download-url': 'mirror' }, 'Input "buildkit-download-url" must be an https URL, got "mirror"'],
    [
      { 'buildkit-download-url': 'http://mirror.example.com/buildkit' },
      'Input "buildkit-download-url" must be an https URL (plain http is refused for downloads), got "http://mirror.example.com/buildkit"',
    ],
    [{ 'allow-unverified-downloads': 'yes' }, 'Input "allow-unverified-downloads" must be true or false, got "yes"'],
    [{ function: 'my-fn' }, 'Input "function" must be a function name (letters, digits and _), got "my-fn"'],
    [{ target: 'a b' }, 'Input "target" must be a single name without spaces or commas, got "a b"'],
  ])('%j', (inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });

  it('normalises versions and URLs', () => {
    const inputs = ok({
      fallback: 'NEVER',
      builder: 'tcp://b:1',
      'buildkit-version': '0.23.2',
      'envd-version': 'v1.2.0',
      'buildkit-download-url': 'https://mirror.example.com/buildkit/',
    });
    expect(inputs.fallback).toBe('never');
    expect(inputs.buildkitVersion).toBe('v0.23.2');
    expect(inputs.envdVersion).toBe('v1.2.0');
    expect(inputs.buildkitDownloadUrl).toBe('https://mirror.example.com/buildkit');
    expect(ok({ 'buildkit-version': 'latest' }).buildkitVersion).toBe('latest');
    expect(ok({ 'allow-unverified-downloads': 'true' }).allowUnverifiedDownloads).toBe(true);
    expect(ok({ 'buildkit-version': 'v0.25.0-rc1' }).buildkitVersion).toBe('v0.25.0-rc1');
  });
});

describe('connect-timeout', () => {
  it.each<[string, number]>([
    ['90', 90_000],
    ['20s', 20_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    ['500ms', 500],
    ['1m500ms', 60_500],
  ])('%s = %d ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
    expect(ok({ 'connect-timeout': value }).connectTimeoutMs).toBe(ms);
  });

  it.each<[string, string]>([
    ['abc', 'must be a duration like 90, 20s, 2m or 1m30s, got "abc"'],
    ['10x', 'must be a duration like 90, 20s, 2m or 1m30s, got "10x"'],
    ['1m 30s', 'must be a duration like 90, 20s, 2m or 1m30s, got "1m 30s"'],
    ['-5s', 'must be a duration like 90, 20s, 2m or 1m30s, got "-5s"'],
    ['0', 'must be greater than zero, got "0"'],
    ['0s', 'must be greater than zero, got "0s"'],
    ['25h', 'must be at most 24h, got "25h"'],
  ])('%s is an error', (value, rest) => {
    expect(errorOf({ 'connect-timeout': value })).toBe(`Input "connect-timeout" ${rest}`);
  });
});

describe('builder', () => {
  it.each<[string, RegExp]>([
    ['http://buildkit:1234', /^Input "builder": "http:\/\/buildkit:1234" unsupported address/],
    ['tcp://buildkit', /^Input "builder": "tcp:\/\/buildkit" expected tcp:\/\/host:port/],
    ['unix://relative.sock', /^Input "builder": "unix:\/\/relative.sock" a unix endpoint needs an absolute path/],
  ])('%s is an error', (value, message) => {
    expect(errorOf({ builder: value })).toMatch(message);
  });
});

describe('builder lines that pin platforms', () => {
  it('a line may pin platforms; its commas separate platforms, other lines are lists', () => {
    const inputs = ok({ builder: 'tcp://amd:1, tcp://spare:1\ntcp://arm:1 platforms=linux/arm64,linux/arm/v7' });
    expect(inputs.builders).toEqual(['tcp://amd:1', 'tcp://spare:1', 'tcp://arm:1']);
    expect(inputs.builderPlatforms).toEqual({ 'tcp://arm:1': ['linux/arm64', 'linux/arm/v7'] });
  });

  it.each<[string, string]>([
    ['tcp://arm:1 platforms=linux', 'Input "builder": "linux" pinned on tcp://arm:1 is not a platform; write tcp://arm:1 platforms=linux/arm64[,linux/arm/v7]'],
    ['tcp://arm:1 arch=arm64', 'Input "builder": "tcp://arm:1 arch=arm64" is not an endpoint; to pin platforms write <address> platforms=linux/arm64[,linux/arm/v7]'],
  ])('%s is an error', (value, message) => {
    expect(errorOf({ builder: value })).toBe(message);
  });
});

describe('builder from BUILDKIT_HOST', () => {
  it('an empty builder input takes BUILDKIT_HOST from the environment, and says so', () => {
    const { result, out } = run({}, { BUILDKIT_HOST: 'tcp://shared-builder:1234' });
    expect(result!.builders).toEqual(['tcp://shared-builder:1234']);
    expect(out).toContain('Input "builder" is empty; using BUILDKIT_HOST from the environment: tcp://shared-builder:1234');
  });

  it('the builder input wins over BUILDKIT_HOST', () => {
    expect(ok({ builder: 'tcp://given:1' }, { BUILDKIT_HOST: 'tcp://env:2' }).builders).toEqual(['tcp://given:1']);
  });

  it('satisfies fallback: never', () => {
    expect(ok({ fallback: 'never' }, { BUILDKIT_HOST: 'unix:///run/buildkit/buildkitd.sock' }).builders).toEqual(['unix:///run/buildkit/buildkitd.sock']);
  });

  it('is ignored with fallback: only (no warning: the variable may be set runner-wide)', () => {
    const { result, out } = run({ fallback: 'only' }, { BUILDKIT_HOST: 'tcp://env:2' });
    expect(result!.builders).toEqual([]);
    expect(out).not.toContain('::warning');
  });

  it('an unusable BUILDKIT_HOST is one line naming the variable', () => {
    expect(errorOf({}, { BUILDKIT_HOST: 'docker-container://buildkitd' })).toMatch(
      /^Environment variable BUILDKIT_HOST \(used because input "builder" is empty\): "docker-container:\/\/buildkitd" unsupported address; use tcp:\/\/host:port or unix:\/\/\/path/,
    );
  });
});

describe('push-by-digest', () => {
  it('takes repositories without tags and implies push', () => {
    const inputs = ok({ 'push-by-digest': 'true', tags: 'ghcr.io/org/app' });
    expect(inputs).toMatchObject({ pushByDigest: true, push: true, tags: ['ghcr.io/org/app'] });
  });

  it.each<[string, Record<string, string>, string]>([
    ['no repository', { 'push-by-digest': 'true' }, 'Input "tags" is empty but "push-by-digest" is true: give the repository to push to, e.g. ghcr.io/org/app'],
    [
      'a tag',
      { 'push-by-digest': 'true', tags: 'ghcr.io/org/app,ghcr.io/org/app:1' },
      'Input "tags": "ghcr.io/org/app:1" has a tag, but "push-by-digest" pushes by digest only; give the repository without a tag (the merge run tags the index)',
    ],
    ['envd', { 'push-by-digest': 'true', tags: 'r.io/a', file: 'envd-only/build.envd' }, 'Input "push-by-digest" is not supported with the envd frontend (envd pushes by tag)'],
    ['not a boolean', { 'push-by-digest': 'yes' }, 'Input "push-by-digest" must be true or false, got "yes"'],
  ])('%s is an error', (_name, inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });
});

describe('merge', () => {
  const refs = `r.io/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nr.io/app@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`;

  it('needs no context or Dockerfile, pushes, and keeps the references in order', () => {
    const inputs = ok({ merge: refs, tags: 'r.io/app:1,r.io/other:1', context: '.' }, { GITHUB_WORKSPACE: '/nonexistent-workspace' });
    expect(inputs).toMatchObject({ merge: [`r.io/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`, `r.io/app@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`], tags: ['r.io/app:1', 'r.io/other:1'], push: true, file: '' });
  });

  it('annotations go on the index', () => {
    expect(ok({ merge: refs, tags: 'r.io/app:1', annotations: 'a=1\nindex:b=2' }).annotations).toEqual(['a=1', 'index:b=2']);
  });

  it.each<[string, Record<string, string>, string]>([
    ['no digest', { merge: 'r.io/app:1', tags: 'r.io/app:2' }, 'Input "merge": "r.io/app:1" has no digest; give name@sha256:<digest> as the digest output of a push-by-digest run'],
    ['a bad digest', { merge: 'r.io/app@sha256:12', tags: 'r.io/app:2' }, 'Input "merge": "r.io/app@sha256:12" is not a valid image reference: "sha256:12" is not a digest (expected sha256:<64 hex digits>)'],
    ['no tags', { merge: refs }, 'Input "tags" is empty but "merge" is given: name the index to push, e.g. ghcr.io/org/app:1.2'],
    ['a build option', { merge: refs, tags: 'r.io/app:1', 'build-args': 'A=1' }, 'Input "build-args" cannot be used with "merge": a merge builds nothing, it assembles the given images into one index'],
    ['platforms', { merge: refs, tags: 'r.io/app:1', platforms: 'linux/amd64' }, 'Input "platforms" cannot be used with "merge": a merge builds nothing, it assembles the given images into one index'],
    ['push-by-digest', { merge: refs, tags: 'r.io/app:1', 'push-by-digest': 'true' }, 'Input "push-by-digest" cannot be used with "merge": a merge builds nothing, it assembles the given images into one index'],
    ['secrets', { merge: refs, tags: 'r.io/app:1', secrets: 'id=value-1234' }, 'Input "secrets" cannot be used with "merge": a merge builds nothing'],
    [
      'a manifest annotation',
      { merge: refs, tags: 'r.io/app:1', annotations: 'manifest:a=1' },
      'Input "annotations": "manifest:a" cannot be used with "merge": a merge only annotates the index (write key=value or index:key=value)',
    ],
  ])('%s is an error', (_name, inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });
});

describe('source-date-epoch', () => {
  it('takes seconds', () => {
    expect(ok({ 'source-date-epoch': '1700000000' }).sourceDateEpoch).toBe('1700000000');
  });

  it('git: the commit time of GITHUB_SHA in the workspace', () => {
    const repo = makeTempDir('erb-sde-git-');
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], {
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_COMMITTER_DATE: '@1600000000 +0000', GIT_AUTHOR_DATE: '@1500000000 +0000' },
      }).trim();
    try {
      writeTree(repo, { Dockerfile: 'FROM scratch\n' });
      git('init', '-q');
      git('add', 'Dockerfile');
      git('commit', '-q', '-m', 'one');
      const first = git('rev-parse', 'HEAD');
      execFileSync('git', ['-C', repo, 'commit', '-q', '--allow-empty', '-m', 'two'], {
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_COMMITTER_DATE: '@1650000000 +0000' },
      });
      // The committer time (not the author's), of the commit the workflow runs for, not HEAD.
      setInputs({ 'source-date-epoch': 'git' });
      const { result, out } = captureStdout(() => readInputs({ GITHUB_WORKSPACE: repo, GITHUB_SHA: first }));
      expect(result!.sourceDateEpoch).toBe('1600000000');
      expect(out).toContain(`source-date-epoch: 1600000000 (commit time of ${first})`);
      setInputs({ 'source-date-epoch': 'GIT' });
      expect(readInputs({ GITHUB_WORKSPACE: repo }).sourceDateEpoch).toBe('1650000000');
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it.each<[string, Record<string, string>, string]>([
    ['not a number', { 'source-date-epoch': 'yesterday' }, 'Input "source-date-epoch" must be seconds since 1970 (e.g. 1700000000) or git, got "yesterday"'],
    ['negative', { 'source-date-epoch': '-1' }, 'Input "source-date-epoch" must be seconds since 1970 (e.g. 1700000000) or git, got "-1"'],
    ['also a build arg', { 'source-date-epoch': '1', 'build-args': 'SOURCE_DATE_EPOCH=2' }, 'Input "build-args": SOURCE_DATE_EPOCH is set by "source-date-epoch"; give it in one of the two inputs'],
    ['envd', { 'source-date-epoch': '1', file: 'envd-only/build.envd' }, 'Input "source-date-epoch" is not supported with the envd frontend (envd reads its build configuration from build.envd); remove: source-date-epoch'],
  ])('%s is an error', (_name, inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });

  it('git outside a repository is one line naming the input', () => {
    expect(errorOf({ 'source-date-epoch': 'git' })).toMatch(/^Input "source-date-epoch": git could not tell the commit time of HEAD in .* \(.*\); check the repository out first, or give seconds$/);
  });
});

describe('context and file', () => {
  it.each<[string, Record<string, string>, { frontend: string; file: string; context?: string }]>([
    ['default Dockerfile', {}, { frontend: 'dockerfile', file: 'Dockerfile' }],
    ['file relative to context', { context: 'app', file: 'Dockerfile.dev' }, { frontend: 'dockerfile', file: 'app/Dockerfile.dev', context: 'app' }],
    ['file relative to the workspace (build-push-action style)', { context: 'app', file: 'app/Dockerfile.dev' }, { frontend: 'dockerfile', file: 'app/Dockerfile.dev', context: 'app' }],
    ['auto picks envd for a .envd file', { context: 'envd-only', file: 'custom.envd' }, { frontend: 'envd', file: 'envd-only/custom.envd', context: 'envd-only' }],
    ['auto picks envd when the context has only build.envd', { context: 'envd-only' }, { frontend: 'envd', file: 'envd-only/build.envd', context: 'envd-only' }],
    ['auto prefers the Dockerfile when both exist', { context: 'both' }, { frontend: 'dockerfile', file: 'both/Dockerfile', context: 'both' }],
    ['explicit envd defaults to build.envd', { context: 'both', frontend: 'envd' }, { frontend: 'envd', file: 'both/build.envd', context: 'both' }],
    ['absolute context', { context: '__WS__/app' }, { frontend: 'dockerfile', file: 'app/Dockerfile', context: 'app' }],
  ])('%s', (_name, inputs, expected) => {
    const resolved = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.replace('__WS__', ws)]));
    const result = ok(resolved);
    expect(result.frontend).toBe(expected.frontend);
    expect(result.file).toBe(path.join(ws, expected.file));
    expect(result.context).toBe(path.join(ws, expected.context ?? ''));
  });

  it.each<[string, Record<string, string>, () => string]>([
    ['missing context', { context: 'nope' }, () => `Input "context": directory "${path.join(ws, 'nope')}" does not exist`],
    ['context is a file', { context: 'a-file' }, () => `Input "context": "${path.join(ws, 'a-file')}" is not a directory`],
    [
      'remote context',
      { context: 'https://github.com/o/r.git#main' },
      () => 'Input "context" must be a local directory; remote contexts like "https://github.com/o/r.git#main" are not supported (check the repository out first)',
    ],
    ['missing file', { file: 'Nope.Dockerfile' }, () => `Input "file": "Nope.Dockerfile" not found in context "${ws}"`],
    ['default file missing', { context: 'certs' }, () => `Input "file": "Dockerfile" not found in context "${path.join(ws, 'certs')}" (the dockerfile frontend's default)`],
    ['file is a directory', { file: 'app' }, () => `Input "file": "${path.join(ws, 'app')}" is not a file`],
  ])('%s', (_name, inputs, message) => {
    expect(errorOf(inputs)).toBe(message());
  });
});

describe('cache-from / cache-to', () => {
  it.each<[string, string, { type: string; attrs: Record<string, string> }]>([
    ['registry with mode', 'type=registry,ref=ghcr.io/o/app:cache,mode=max', { type: 'registry', attrs: { ref: 'ghcr.io/o/app:cache', mode: 'max' } }],
    ['bare reference', 'user/app:cache', { type: 'registry', attrs: { ref: 'user/app:cache' } }],
    ['gha with scope', 'type=gha,scope=build-amd64', { type: 'gha', attrs: { scope: 'build-amd64' } }],
    ['quoted value with a comma', 'type=s3,region=eu-west-1,"name=a,b"', { type: 's3', attrs: { region: 'eu-west-1', name: 'a,b' } }],
    ['spaces around fields', ' type=local , dest=/tmp/cache ', { type: 'local', attrs: { dest: '/tmp/cache' } }],
    ['type not first', 'ref=u/a:c,type=registry', { type: 'registry', attrs: { ref: 'u/a:c' } }],
    ['value with =', 'type=registry,ref=u/a:c,oci-mediatypes=true,image-manifest=true', { type: 'registry', attrs: { ref: 'u/a:c', 'oci-mediatypes': 'true', 'image-manifest': 'true' } }],
  ])('%s', (_name, line, expected) => {
    expect(parseCacheEntry(line, 'cache-from')).toEqual(expected);
  });

  it('reads one entry a line for both inputs', () => {
    const inputs = ok({
      'cache-from': 'type=registry,ref=u/a:cache\nu/a:cache-main',
      'cache-to': 'type=registry,ref=u/a:cache,mode=max',
    });
    expect(inputs.cacheFrom).toEqual([
      { type: 'registry', attrs: { ref: 'u/a:cache' } },
      { type: 'registry', attrs: { ref: 'u/a:cache-main' } },
    ]);
    expect(inputs.cacheTo).toEqual([{ type: 'registry', attrs: { ref: 'u/a:cache', mode: 'max' } }]);
  });

  it('keeps {platform} for the build to fill in, when platforms are given', () => {
    const inputs = ok({ platforms: 'linux/amd64,linux/arm64', 'cache-from': 'type=registry,ref=u/a:cache-{platform}', 'cache-to': 'type=gha,scope=app-{platform},mode=max' });
    expect(inputs.cacheFrom).toEqual([{ type: 'registry', attrs: { ref: 'u/a:cache-{platform}' } }]);
    expect(inputs.cacheTo).toEqual([{ type: 'gha', attrs: { scope: 'app-{platform}', mode: 'max' } }]);
  });

  it.each<[string, string]>([
    ['cache-from', 'type=registry,ref=u/a:cache-{platform}'],
    ['cache-to', 'type=registry,ref=u/a:cache-{platform},mode=max'],
  ])('%s with {platform} but no platforms is an error', (name, line) => {
    expect(errorOf({ [name]: line })).toBe(`Input "${name}": {platform} stands for the platforms built, but "platforms" is empty; set it (e.g. linux/amd64)`);
  });

  it.each<[string, string, string]>([
    ['cache-from', 'ref=u/a:cache', 'Input "cache-from": "ref=u/a:cache" has no type=; e.g. type=registry,ref=user/app:cache'],
    ['cache-to', 'type=registry,mode=max', 'Input "cache-to": "type=registry,mode=max" needs ref=<image> for type=registry'],
    ['cache-to', 'type=registry,ref=a/b:c,max', 'Input "cache-to": "max" in "type=registry,ref=a/b:c,max" is not key=value; write one entry a line, e.g. type=registry,ref=user/app:cache,mode=max'],
    ['cache-from', 'type=local,src=a,src=b', 'Input "cache-from": "type=local,src=a,src=b" sets src twice'],
    ['cache-from', 'a/b:c,d/e:f', 'Input "cache-from": "a/b:c" in "a/b:c,d/e:f" is not key=value; write one entry a line, e.g. type=registry,ref=user/app:cache,mode=max'],
  ])('%s %s is an error', (name, line, message) => {
    expect(errorOf({ [name]: line })).toBe(message);
  });
});

describe('secrets', () => {
  it('parses id=value entries, keeping commas, = and whitespace in values', () => {
    const { result, out } = run({ secrets: 'GIT_AUTH_TOKEN=ghp_abcdef123456\nCSV=a,b,c\nEQ=x=y\nSPACED=  padded  ' });
    expect(result!.secrets).toEqual([
      { id: 'GIT_AUTH_TOKEN', kind: 'value', value: 'ghp_abcdef123456' },
      { id: 'CSV', kind: 'value', value: 'a,b,c' },
      { id: 'EQ', kind: 'value', value: 'x=y' },
      { id: 'SPACED', kind: 'value', value: '  padded  ' },
    ]);
    expect(maskedValues(out)).toEqual(expect.arrayContaining(['ghp_abcdef123456', 'a,b,c', 'x=y', '  padded  ']));
  });

  it('keeps a quoted multi-line value whole and masks each of its lines', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1\n}\n-----END OPENSSH PRIVATE KEY-----';
    const { result, out } = run({ secrets: `"SSH_KEY=${key}"\nNPM_TOKEN=npm_abc123` });
    expect(result!.secrets).toEqual([
      { id: 'SSH_KEY', kind: 'value', value: key },
      { id: 'NPM_TOKEN', kind: 'value', value: 'npm_abc123' },
    ]);
    const masked = maskedValues(out);
    expect(masked).toEqual(
      expect.arrayContaining([
        key,
        '-----BEGIN OPENSSH PRIVATE KEY-----',
        'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU',
        'AAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1',
        '-----END OPENSSH PRIVATE KEY-----',
        'npm_abc123',
      ]),
    );
    // A lone brace carries no secret; masking it would star out every brace in the log.
    expect(masked).not.toContain('}');
  });

  it('masks secrets even when a later input is invalid', () => {
    const { error, out } = run({ secrets: 'TOKEN=s3cr3t-value', push: 'maybe' });
    expect(error?.message).toBe('Input "push" must be true or false, got "maybe"');
    expect(maskedValues(out)).toContain('s3cr3t-value');
  });

  it('never echoes a value in its errors', () => {
    const { error, out } = run({ secrets: 'just-a-token-value' });
    expect(error?.message).toBe('Input "secrets": entry 1 must be id=value (the entry is not shown)');
    expect(error?.message).not.toContain('just-a-token-value');
    expect(maskedValues(out)).toContain('just-a-token-value');

    const unbalanced = run({ secrets: '"TOKEN=abc\nline2-of-secret' });
    expect(unbalanced.error?.message).toMatch(/^Input "secrets" could not be parsed \(CSV_QUOTE_NOT_CLOSED\)/);
    expect(unbalanced.error?.message).not.toContain('line2-of-secret');
    expect(maskedValues(unbalanced.out)).toContain('line2-of-secret');
  });

  it.each<[Record<string, string>, string]>([
    [{ secrets: 'A=1\nA=2' }, 'Input "secrets": secret id "A" is given more than once (across secrets, secret-files and secret-envs)'],
    [{ secrets: 'bad id=1' }, `Input "secrets": entry 1 has an invalid secret id "bad id" (letters, digits, '_', '.', '-', '/')`],
    [{ secrets: 'EMPTY=' }, 'Input "secrets": secret "EMPTY" has an empty value'],
    [{ 'secret-files': 'npmrc=secrets/missing' }, `Input "secret-files": file "${'__WS__'}/secrets/missing" for secret "npmrc" not found`],
    [{ 'secret-files': 'npmrc' }, 'Input "secret-files": entry 1 must be id=path (the entry is not shown)'],
    [{ 'secret-envs': 'tok=NOT-A-NAME' }, 'Input "secret-envs": "NOT-A-NAME" for secret "tok" is not an environment variable name'],
    [{ secrets: 'A=1', 'secret-envs': 'A=HOME' }, 'Input "secret-envs": secret id "A" is given more than once (across secrets, secret-files and secret-envs)'],
    [{ 'secret-files': 'big=secrets/big' }, `Input "secret-files": file "${'__WS__'}/secrets/big" for secret "big" is 501 KiB; BuildKit accepts secrets up to 500 KiB`],
  ])('%j', (inputs, message) => {
    expect(errorOf(inputs)).toBe(message.replace('__WS__', ws));
  });

  it('refuses secrets and secret-envs values above BuildKit\'s limit, naming the input but not the value', () => {
    const big = 'y'.repeat(500 * 1024 + 1);
    expect(errorOf({ secrets: `BIG=${big}` })).toBe('Input "secrets": secret "BIG" is 501 KiB; BuildKit accepts secrets up to 500 KiB');
    expect(errorOf({ 'secret-envs': 'tok=BIG_TOKEN' }, { BIG_TOKEN: big })).toBe(
      'Input "secret-envs": secret "tok" (BIG_TOKEN) is 501 KiB; BuildKit accepts secrets up to 500 KiB',
    );
  });

  it('masks the content of secret files before anything else can print it', () => {
    const { out } = run({ 'secret-files': 'npmrc=secrets/npmrc' });
    expect(maskedValues(out)).toContain('//registry.npmjs.org/:_authToken=abc\n');
  });

  it('reads secret-files (against the workspace) and secret-envs, masking env values', () => {
    const { result, out } = run(
      { 'secret-files': 'npmrc=secrets/npmrc', 'secret-envs': 'aws=AWS_SECRET_ACCESS_KEY,gh=GH_TOKEN_UNSET' },
      { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG' },
    );
    expect(result!.secrets).toEqual([
      { id: 'npmrc', kind: 'file', path: path.join(ws, 'secrets/npmrc') },
      { id: 'aws', kind: 'env', name: 'AWS_SECRET_ACCESS_KEY' },
      { id: 'gh', kind: 'env', name: 'GH_TOKEN_UNSET' },
    ]);
    expect(maskedValues(out)).toContain('wJalrXUtnFEMI/K7MDENG');
    expect(out).toContain('::warning::Input "secret-envs": environment variable GH_TOKEN_UNSET for secret "gh" is not set');
  });
});

describe('tls', () => {
  it('takes PEM content as is, and reads files (relative to the workspace)', () => {
    const { result, out } = run({
      'tls-ca': CA_PEM.trim(),
      'tls-cert': 'certs/ca.pem',
      'tls-key': path.join(ws, 'certs/client.key'),
      'tls-server-name': 'buildkitd.internal',
    });
    expect(result!.tls).toEqual({ ca: CA_PEM.trim(), cert: CA_PEM, key: KEY_PEM, serverName: 'buildkitd.internal' });
    expect(maskedValues(out)).toEqual(expect.arrayContaining([KEY_PEM, 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg']));
    // The CA and certificate are public: not masked.
    expect(maskedValues(out)).not.toContain(CA_PEM);
  });

  it('sets tls for a server name alone', () => {
    expect(ok({ 'tls-server-name': 'bk' }).tls).toEqual({ serverName: 'bk' });
  });

  it.each<[Record<string, string>, string]>([
    [{ 'tls-ca': 'certs/missing.pem' }, 'Input "tls-ca": file "__WS__/certs/missing.pem" not found (give PEM content starting with -----BEGIN, or the path of a PEM file)'],
    [{ 'tls-ca': 'certs/not-pem.txt' }, 'Input "tls-ca": file "__WS__/certs/not-pem.txt" does not contain a PEM block (-----BEGIN ...)'],
    [{ 'tls-ca': 'certs' }, 'Input "tls-ca": "__WS__/certs" is a directory, not a PEM file'],
    [{ 'tls-key': 'MIGHAgEAMBMG\nBgcqhkjOPQ' }, 'Input "tls-key" must be PEM content starting with -----BEGIN, or the path of a PEM file'],
    [{ 'tls-cert': 'certs/ca.pem' }, 'Input "tls-key" must be given together with "tls-cert" (client certificate and its key)'],
    [{ 'tls-key': 'certs/client.key' }, 'Input "tls-cert" must be given together with "tls-key" (client certificate and its key)'],
  ])('%j', (inputs, message) => {
    expect(errorOf(inputs)).toBe(message.replace('__WS__', ws));
  });
});

describe('provenance and sbom', () => {
  const run_env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' };
  const builderId = 'https://github.com/o/r/actions/runs/42/attempts/2';

  it.each<[string, string, NodeJS.ProcessEnv, string]>([
    ['empty is off', '', run_env, ''],
    ['false is off', 'false', run_env, ''],
    ['true is mode=min with the run as builder', 'true', run_env, `mode=min,builder-id=${builderId}`],
    ['true outside Actions', 'true', {}, 'mode=min'],
    ['attrs get the builder id', 'mode=max', run_env, `mode=max,builder-id=${builderId}`],
    ['an explicit builder id is kept', 'mode=max,builder-id=https://ci.example/1', run_env, 'mode=max,builder-id=https://ci.example/1'],
    ['buildx spelling', 'type=provenance,mode=max,disabled=false', {}, 'mode=max'],
    ['disabled=true is off', 'disabled=true', run_env, ''],
  ])('provenance: %s', (_name, value, env, expected) => {
    expect(ok({ provenance: value }, env).provenance).toBe(expected);
  });

  it.each<[string, string, string]>([
    ['empty is off', '', ''],
    ['false is off', 'false', ''],
    ['true is the default scanner', 'true', SBOM_DEFAULT_ATTRS],
    ['attrs as given', 'generator=docker/scout-sbom-indexer:1', 'generator=docker/scout-sbom-indexer:1'],
    ['buildx spelling', 'type=sbom,disabled=false', SBOM_DEFAULT_ATTRS],
  ])('sbom: %s', (_name, value, expected) => {
    expect(ok({ sbom: value }).sbom).toBe(expected);
  });

  it.each<[Record<string, string>, string]>([
    [{ provenance: 'yes' }, 'Input "provenance" must be true, false or key=value attributes, got "yes"'],
    [{ provenance: 'mode=full' }, 'Input "provenance": mode must be min or max, got "full"'],
    [{ sbom: 'on' }, 'Input "sbom" must be true, false or key=value attributes, got "on"'],
    [{ sbom: 'disabled=maybe' }, 'Input "sbom": disabled must be true or false, got "maybe"'],
  ])('%j', (inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });
});

describe('cross-checks', () => {
  it.each<[string, Record<string, string>, string]>([
    ['push without tags', { push: 'true' }, 'Input "tags" is empty but "push" is true: pushing needs at least one tag, e.g. ghcr.io/org/app:latest'],
    [
      'envd with two platforms',
      { context: 'envd-only', platforms: 'linux/amd64,linux/arm64' },
      'Input "platforms": envd does not support multi-platform builds (every platform would push to the same name); pass one platform',
    ],
    ['fallback never without a builder', { fallback: 'never' }, 'Input "builder" is empty but "fallback" is never: give a builder endpoint, or set fallback to auto or only'],
    [
      'envd with a Dockerfile-only input',
      { context: 'envd-only', 'build-args': 'A=1' },
      'Input "build-args" is not supported with the envd frontend (envd reads its build configuration from build.envd); remove: build-args',
    ],
    [
      'envd with several Dockerfile-only inputs',
      { context: 'envd-only', target: 'prod', labels: 'a=b', 'no-cache': 'true' },
      'Input "target" is not supported with the envd frontend (envd reads its build configuration from build.envd); remove: target, labels, no-cache',
    ],
    ['a bad platform', { platforms: 'linux' }, 'Input "platforms": "linux" is not a platform; use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7'],
  ])('%s', (_name, inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });

  // What envd cannot express fails here, before a builder is probed or envd downloaded.
  it.each<[string, Record<string, string>, string]>([
    ['envd with two cache-from entries', { context: 'envd-only', 'cache-from': 'r.io/a:cache\nr.io/b:cache' }, 'Input "cache-from": envd takes one cache entry, got 2; keep one line'],
    ['envd with a gha cache', { context: 'envd-only', 'cache-to': 'type=gha,scope=x' }, 'Input "cache-to": type=gha is not supported with the envd frontend (the cache token would be on envd\'s command line); use type=registry'],
    ['envd with two cache-to entries', { context: 'envd-only', 'cache-to': 'type=registry,ref=r.io/a:c\ntype=inline' }, 'Input "cache-to": envd takes one cache entry, got 2; keep one line'],
    ['envd with a platform it cannot parse', { context: 'envd-only', platforms: 'linux/x86-64' }, 'Input "platforms": "linux/x86-64" is not in envd\'s os/arch[/variant] form (letters and digits, e.g. linux/amd64)'],
    ['envd with a variant it cannot parse', { context: 'envd-only', platforms: 'linux/arm/v8.2' }, 'Input "platforms": "linux/arm/v8.2" is not in envd\'s os/arch[/variant] form (letters and digits, e.g. linux/amd64)'],
    [
      'envd with a file path holding a colon',
      { context: 'envd-colon', file: 'a:b/build.envd' },
      'Input "file": envd cannot read a build file whose path from the context contains \':\' ("a:b/build.envd"); rename it or the directories above it',
    ],
    ['envd older than the action supports', { context: 'envd-only', 'envd-version': 'v0.3.32' }, 'Input "envd-version" must be v0.3.33 or later, got "v0.3.32"'],
    ['a pre-release of the oldest envd', { context: 'envd-only', 'envd-version': '0.3.33-rc.1' }, 'Input "envd-version" must be v0.3.33 or later, got "v0.3.33-rc.1"'],
    [
      'a local cache for a Dockerfile build',
      { 'cache-to': 'type=local,dest=/tmp/c' },
      'Input "cache-to": type=local needs a content store in the session, which this action does not provide; use type=registry, type=inline or type=gha',
    ],
  ])('%s', (_name, inputs, message) => {
    expect(errorOf(inputs)).toBe(message);
  });

  it('accepts what envd can do: one cache entry each way (local too), the oldest version, latest', () => {
    const inputs = ok({ context: 'envd-only', 'cache-from': 'type=local,src=/tmp/c', 'cache-to': 'type=local,dest=/tmp/c', 'envd-version': 'v0.3.33', platforms: 'linux/arm64/v8' });
    expect(inputs).toMatchObject({ frontend: 'envd', envdVersion: 'v0.3.33', platforms: ['linux/arm64/v8'] });
    expect(ok({ context: 'envd-only', 'envd-version': 'latest' }).envdVersion).toBe('latest');
    // The envd-only limits do not apply to Dockerfile builds.
    expect(ok({ 'cache-from': 'r.io/a:c\nr.io/b:c', platforms: 'linux/x86-64', 'envd-version': 'v0.3.0' }).cacheFrom).toHaveLength(2);
  });

  it('allows one platform for envd, and push with tags', () => {
    const inputs = ok({ context: 'envd-only', platforms: 'linux/amd64', push: 'true', tags: 'ghcr.io/o/env:1' });
    expect(inputs).toMatchObject({ frontend: 'envd', platforms: ['linux/amd64'], push: true, tags: ['ghcr.io/o/env:1'] });
  });

  it('warns that builder is ignored with fallback only', () => {
    const { result, out } = run({ fallback: 'only', builder: 'tcp://b:1' });
    expect(result!.fallback).toBe('only');
    expect(out).toContain('::warning::Input "builder" is ignored because "fallback" is only (1 endpoint(s) given)');
  });
});

describe('every error is one line naming an input', () => {
  it.each<Record<string, string>>([
    { push: 'yes' },
    { tags: 'A/B' },
    { 'connect-timeout': 'soon' },
    { 'cache-to': 'mode=max' },
    { secrets: 'x' },
    { 'tls-ca': 'nope.pem' },
    { builder: 'ftp://x' },
    { 'build-args': '-X=1' },
    { context: 'nope' },
  ])('%j', (inputs) => {
    const message = errorOf(inputs);
    expect(message).toMatch(/^Input "[a-z-]+"/);
    expect(message).not.toMatch(/[\r\n]/);
  });
});
