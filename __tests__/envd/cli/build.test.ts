// `envd build` arguments and the run around it. The run tests use a STAND-IN
// `envd` (fixtures/fake-envd.mjs) that only records what WE pass (argv, cwd,
// env) and fails on request; it does not check envd's behaviour. The
// argument shapes themselves were checked against envd's source (see
// src/envd/build.ts).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { jest } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import * as runner from '../../../src/github/runner.js';
import {
  cacheEntryCsv,
  envdBuildArgs,
  envdFromValue,
  envdOutputValue,
  runEnvdBuild,
  type EnvdBuildInputs,
} from '../../../src/envd/build.js';
import { createEnvdContext, createEnvdHome, gatewaySocketPath, removeEnvdContext, type EnvdContextRecord } from '../../../src/envd/context.js';
import { captureStdout, installFakeEnvd, readCalls, setEnv, sink, tempDir } from './helpers.js';
import { readAsRunner } from '../../helpers/workflow-commands.js';
import { csvRecord } from '../../../src/common/csv.js';

/** Reads a value the way envd does: one CSV record, fields split at the first '='. */
const csvFields = (value: string): string[] => (parse(value, { relax_quotes: false }) as string[][])[0] ?? [];

describe('CSV quoting for envd (common/csv.ts)', () => {
  it.each([
    ['name=a', 'name=a'],
    ['name=a,b', '"name=a,b"'],
    ['x="y"', '"x=""y"""'],
    ['multi\nline', '"multi\nline"'],
    ['ref=ghcr.io/o/r:cache', 'ref=ghcr.io/o/r:cache'],
    ['lone\rreturn', '"lone\rreturn"'],
  ])('%p -> %p', (field, expected) => {
    expect(csvRecord([field])).toBe(expected);
    expect(csvFields(expected)).toEqual([field]);
  });
});

describe('envdOutputValue', () => {
  it.each([
    [['ghcr.io/o/app:1'], true, false, 'type=image,name=ghcr.io/o/app:1,push=true'],
    [['ghcr.io/o/app:1', 'ghcr.io/o/app:latest'], true, false, 'type=image,"name=ghcr.io/o/app:1,ghcr.io/o/app:latest",push=true'],
    [['a', 'b', 'c'], false, false, 'type=image,"name=a,b,c",push=false'],
    [[], false, false, 'type=image,push=false'],
    [['localhost:5000/x'], true, true, 'type=image,name=localhost:5000/x,push=true,registry.insecure=true'],
  ])('%p push=%p insecure=%p', (tags, push, insecure, expected) => {
    const v = envdOutputValue(tags, push, insecure);
    expect(v).toBe(expected);
    // Round trip: the name list comes back as one field.
    const fields = csvFields(v);
    expect(fields[0]).toBe('type=image');
    if (tags.length) expect(fields[1]).toBe(`name=${tags.join(',')}`);
  });
});

describe('cache entries', () => {
  it.each([
    [{ type: 'registry', attrs: { ref: 'ghcr.io/o/cache:envd' } }, 'type=registry,ref=ghcr.io/o/cache:envd'],
    [{ type: 'registry', attrs: { ref: 'r/c', mode: 'max', 'ignore-error': 'true' } }, 'type=registry,ref=r/c,mode=max,ignore-error=true'],
    [{ type: 'local', attrs: { src: '/tmp/a,b' } }, 'type=local,"src=/tmp/a,b"'],
  ])('%j -> %p', (entry, expected) => {
    expect(cacheEntryCsv(entry)).toBe(expected);
  });
});

describe('envdFromValue', () => {
  it.each([
    ['/w/repo', '/w/repo/build.envd', 'build', 'build.envd:build'],
    ['/w/repo', '/w/repo/envs/gpu.envd', 'gpu_env', 'envs/gpu.envd:gpu_env'],
    ['/w/repo/ctx', '/w/repo/build.envd', '', '../build.envd:build'],
  ])('%s + %s (%s) -> %s', (ctx, file, fn, expected) => {
    expect(envdFromValue(ctx, file, fn)).toBe(expected);
  });
});

describe('envdBuildArgs', () => {
  const base: EnvdBuildInputs = {
    context: '/w/repo',
    file: '/w/repo/build.envd',
    envdFunction: 'build',
    tags: ['ghcr.io/o/app:1', 'ghcr.io/o/app:latest'],
    push: true,
    cacheFrom: [],
    cacheTo: [],
  };

  it('builds from the file relative to --path, pushes all names, always --force', () => {
    expect(envdBuildArgs(base)).toEqual([
      'build',
      '--from', 'build.envd:build',
      '--path', '/w/repo',
      '--output', 'type=image,"name=ghcr.io/o/app:1,ghcr.io/o/app:latest",push=true',
      '--tag', 'envd-remote-build:envd',
      '--force',
    ]);
  });

  it('--force is there even without push or tags', () => {
    const args = envdBuildArgs({ ...base, tags: [], push: false });
    expect(args).toContain('--force');
    expect(args[args.indexOf('--output') + 1]).toBe('type=image,push=false');
  });

  it('maps one cache-from / cache-to to --import-cache / --export-cache', () => {
    const args = envdBuildArgs({
      ...base,
      cacheFrom: [{ type: 'registry', attrs: { ref: 'ghcr.io/o/cache' } }],
      cacheTo: [{ type: 'registry', attrs: { ref: 'ghcr.io/o/cache', mode: 'max' } }],
    });
    expect(args.slice(-4)).toEqual([
      '--import-cache', 'type=registry,ref=ghcr.io/o/cache',
      '--export-cache', 'type=registry,ref=ghcr.io/o/cache,mode=max',
    ]);
  });

  it('passes the platform (readInputs allows envd only one, in a form it parses)', () => {
    expect(envdBuildArgs({ ...base, platforms: ['linux/arm64'] }).slice(-2)).toEqual(['--platform', 'linux/arm64']);
  });

  it('adds registry.insecure to the output when asked', () => {
    const args = envdBuildArgs({ ...base, registryInsecure: true });
    expect(args[args.indexOf('--output') + 1]).toMatch(/,push=true,registry\.insecure=true$/);
  });
});

describe('runEnvdBuild with the stand-in envd', () => {
  let work: string;
  let ctxDir: string;
  let envd: string;
  let log: string;
  let record: EnvdContextRecord;
  let restoreEnv: () => void;
  let out: ReturnType<typeof captureStdout>;

  beforeEach(async () => {
    work = await tempDir('build');
    ctxDir = path.join(work, 'repo');
    await fsp.mkdir(path.join(ctxDir, 'envs'), { recursive: true });
    await fsp.writeFile(path.join(ctxDir, 'envs', 'gpu.envd'), 'def build():\n    base(dev=True)\n');
    await fsp.mkdir(path.join(work, 'bin'));
    await fsp.mkdir(path.join(work, 'temp'));
    envd = await installFakeEnvd(path.join(work, 'bin'));
    log = path.join(work, 'calls.jsonl');
    restoreEnv = setEnv({
      RUNNER_TEMP: path.join(work, 'temp'),
      HOME: path.join(work, 'home'),
      DOCKER_CONFIG: path.join(work, 'docker'),
      FAKE_ENVD_LOG: log,
      FAKE_ENVD_FAIL_ON: undefined,
      FAKE_ENVD_FAIL_LINES: undefined,
      FAKE_ENVD_EXIT_CODE: undefined,
      FAKE_ENVD_SLEEP_MS: undefined,
    });
    out = captureStdout();
    record = await createEnvdHome({ envdPath: envd });
    await createEnvdContext(record, { builderSocket: gatewaySocketPath(record), connectTimeoutMs: 5000, out: sink() });
  });

  afterEach(async () => {
    await removeEnvdContext(record);
    out.restore();
    restoreEnv();
    await fsp.rm(work, { recursive: true, force: true });
  });

  const inputs = () => ({
    context: ctxDir,
    file: path.join(ctxDir, 'envs', 'gpu.envd'),
    envdFunction: 'build',
    tags: ['ghcr.io/o/app:1', 'ghcr.io/o/app:sha'],
    push: true,
    cacheFrom: [],
    cacheTo: [],
    connectTimeoutMs: 42000,
  });

  it('runs envd build in the context home with our env, streaming output', async () => {
    const stream = sink();
    await runEnvdBuild(record, inputs(), { out: stream });
    const call = readCalls(log).at(-1);
    expect(call?.argv).toEqual(envdBuildArgs(inputs()));
    expect(call?.argv).toContain('--force');
    expect(call?.argv[call.argv.indexOf('--output') + 1]).toBe('type=image,"name=ghcr.io/o/app:1,ghcr.io/o/app:sha",push=true');
    expect(call?.argv[call.argv.indexOf('--from') + 1]).toBe('envs/gpu.envd:build');
    expect(fs.realpathSync(call?.cwd ?? '')).toBe(fs.realpathSync(ctxDir));
    expect(call?.env).toEqual({
      HOME: record.home,
      DOCKER_CONFIG: path.join(work, 'docker'),
      ENVD_ANALYTICS: 'false',
      BUILDKIT_CONNECTING_TIMEOUT: '42000ms',
      BUILDKIT_PROGRESS: 'plain',
    });
    const text = stream.text();
    expect(text).toContain('fake envd: building\n');
    expect(text).toContain('fake envd: progress on stderr\n');
    // Workflow commands are off while envd's output streams.
    const m = /::stop-commands::([0-9a-f]{32})\n/.exec(text);
    expect(m).not.toBeNull();
    const token = m?.[1] ?? '';
    expect(text.indexOf(`::stop-commands::${token}`)).toBeLessThan(text.indexOf('::warning::printed by the build'));
    expect(text.indexOf(`::${token}::`)).toBeGreaterThan(text.indexOf('::warning::printed by the build'));
    // The command line is logged.
    expect(out.text()).toContain(`Running: ${envd} build --from envs/gpu.envd:build`);
  });

  it('a failing build throws one clear line plus envd\'s last 50 lines', async () => {
    const restore = setEnv({ FAKE_ENVD_FAIL_ON: 'build', FAKE_ENVD_FAIL_LINES: '80', FAKE_ENVD_EXIT_CODE: '3' });
    try {
      const err = await runEnvdBuild(record, inputs(), { out: sink() }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      const lines = err?.message.split('\n') ?? [];
      expect(lines[0]).toBe('envd build failed (exit code 3). Last 50 lines of envd output:');
      expect(lines).toHaveLength(51);
      expect(lines.at(-1)).toBe('fake envd: simulated failure');
      expect(lines).toContain('fake envd line 80');
      expect(lines).toContain('fake envd line 32');
      expect(lines).not.toContain('fake envd line 31');
    } finally {
      restore();
    }
  });

  it('a failure without output still says what failed', async () => {
    const restore = setEnv({ FAKE_ENVD_FAIL_ON: 'build', FAKE_ENVD_FAIL_LINES: '0' });
    try {
      await expect(runEnvdBuild(record, inputs(), { out: sink(), tailLines: 1 })).rejects.toThrow(
        /^envd build failed \(exit code 1\)\. Last 1 lines of envd output:\nfake envd: simulated failure$/,
      );
    } finally {
      restore();
    }
  });

  it('a missing build file is reported before envd runs', async () => {
    const before = readCalls(log).length;
    await expect(runEnvdBuild(record, { ...inputs(), file: path.join(ctxDir, 'nope.envd') }, { out: sink() })).rejects.toThrow(
      /envd file .*nope\.envd does not exist/,
    );
    expect(readCalls(log)).toHaveLength(before);
  });

  it('keeps envd\'s output inert on the job log, while our own commands issued meanwhile stay live', async () => {
    const go = path.join(work, 'go');
    const restore = setEnv({
      FAKE_ENVD_WAIT_FOR: go,
      FAKE_ENVD_BUILD_OUTPUT: '50%\r::save-state name=tmpDirs::["/victim"]\n::set-output name=digest::pwned\n##[add-mask]x\n::stop-commands::guess\n::guess::\nlast\r::error::no line end',
    });
    out.restore();
    let text = '';
    let started: () => void = () => undefined;
    const building = new Promise<void>((resolve) => (started = resolve));
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => {
      text += chunk;
      if (text.includes('fake envd: building')) started();
      return true;
    }) as typeof process.stdout.write);
    try {
      const build = runEnvdBuild(record, inputs());
      await building;
      // What the gateway's log lines or a mask do while envd runs.
      runner.setSecret('mid-build-secret');
      fs.writeFileSync(go, '');
      await build;
    } finally {
      spy.mockRestore();
      restore();
    }
    const view = readAsRunner(text);
    expect(view.live.map((c) => [c.command, c.data])).toEqual([['add-mask', 'mid-build-secret']]);
    expect(view.stoppedAtEnd).toBe(false);
    for (const line of ['::save-state name=tmpDirs::["/victim"]', '::set-output name=digest::pwned', '##[add-mask]x', '::guess::', '::error::no line end']) {
      expect(view.stoppedLines).toContain(line);
    }
  });

  it('can be aborted (the action is being cancelled)', async () => {
    const restore = setEnv({ FAKE_ENVD_SLEEP_MS: '30000' });
    try {
      const ac = new AbortController();
      // Cancel once envd is really building (its first line reached the log), not after a guessed delay.
      const out = sink();
      const write = out.write.bind(out) as (chunk: unknown, ...rest: unknown[]) => boolean;
      out.write = ((chunk: unknown, ...rest: unknown[]) => {
        const ok = write(chunk, ...rest);
        if (out.text().includes('fake envd: building')) ac.abort();
        return ok;
      }) as typeof out.write;
      // The fake sleeps 30 s after that line; only the abort can end it within the test's timeout.
      await expect(runEnvdBuild(record, inputs(), { out, signal: ac.signal })).rejects.toThrow(
        /^envd build failed \(killed by SIGTERM\)\. Last 1 lines of envd output:\nfake envd: building$/,
      );
      expect(ac.signal.aborted).toBe(true);
    } finally {
      restore();
    }
  });
});
