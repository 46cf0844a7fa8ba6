import type { SecretSource } from '../../src/buildkit/settings.js';
import { jest } from '@jest/globals';
import { explainBuildError, isConcurrentPushRace, retryingPushRace } from '../../src/action/build-errors.js';
import { BuildFailedError, type BuildReport } from '../../src/buildkit/build.js';

const secrets: SecretSource[] = [
  { id: 'token', kind: 'value', value: 'v,1\n2 ' },
  { id: 'key', kind: 'file', path: '/nonexistent/key' },
  { id: 'npm', kind: 'env', name: 'NPM_TOKEN' },
];

describe('explaining build errors', () => {
  const inputs = { secrets, annotations: ['org.a=1', 'index:org.b=2', 'index-descriptor[linux/amd64]:org.c=3'] };

  it('names the inputs for a required secret nobody gave', () => {
    expect(explainBuildError('secret npmrc: not found', inputs, {})).toBe(
      'secret "npmrc" is required by the Dockerfile but was not given; pass it with the secrets, secret-files or secret-envs input',
    );
    // Newer daemons wrap the same error.
    expect(explainBuildError('failed to solve: secret npmrc: not found', inputs, {})).toMatch(/^secret "npmrc" is required/);
  });

  it('names the unset variable of a secret-envs entry', () => {
    expect(explainBuildError('secret npm: not found', inputs, {})).toBe('secret "npm" is required by the Dockerfile, but environment variable NPM_TOKEN (secret-envs) is not set');
  });

  it('names index-level annotations on a single-platform export', () => {
    expect(explainBuildError('index annotations not supported for single platform export', inputs)).toBe(
      'Input "annotations": index:org.b, index-descriptor[linux/amd64]:org.c need an image index, but this build exports a single-platform manifest; build several platforms, enable provenance, or drop the index: prefix',
    );
  });

  it('leaves other errors alone', () => {
    expect(explainBuildError('process "/bin/sh -c make" did not complete successfully: exit code: 2', inputs)).toBe('process "/bin/sh -c make" did not complete successfully: exit code: 2');
  });
});

describe('a push that lost a race between two uploads of one blob', () => {
  const progress = { steps: 1, cached: 1, warnings: [] };
  // As v0.34.2 reported it when the peers' registry (distribution 2.8, filesystem storage) lost the race in CI.
  const raced =
    'failed to push 127.0.0.1:15001/e2e/native-cache-mxc5eplmhsgf: errors:\nunknown: provided digest did not match uploaded content\nunknown: blob unknown to registry - sha256:149be639adc37a536ee085a7cd9f89e87b59d900c0fd4299283a96255dfe5c62\n';

  it('is recognised from the daemon’s wording', () => {
    expect(isConcurrentPushRace(new BuildFailedError(raced, progress, false))).toBe(true);
    expect(isConcurrentPushRace(new BuildFailedError('failed to push r.example/app: manifest blob unknown: blob unknown to registry', progress, false))).toBe(true);
    // v0.11 quotes only the status of the manifest put.
    const old = 'failed to push 127.0.0.1:37791/e2e/app: failed commit on ref "manifest-sha256:00681a152ed28fc3818b227fcf997c8e3f745b98cdbae54f82d09fe89ce8c618": unexpected status: 400 Bad Request';
    expect(isConcurrentPushRace(new BuildFailedError(old, progress, false))).toBe(true);
    // A layer's 400 is not the manifest that raced.
    expect(isConcurrentPushRace(new BuildFailedError(old.replace('manifest-sha256', 'layer-sha256'), progress, false))).toBe(false);
  });

  it('is not any other failure, nor a cancelled build, nor a lost connection', () => {
    expect(isConcurrentPushRace(new BuildFailedError('failed to push r.example/app: unexpected status: 401 Unauthorized', progress, false))).toBe(false);
    expect(isConcurrentPushRace(new BuildFailedError('process "/bin/sh -c make" did not complete successfully: exit code: 2', progress, false))).toBe(false);
    // "blob unknown" while pulling a base image is not a push that raced.
    expect(isConcurrentPushRace(new BuildFailedError('failed to resolve source metadata: blob unknown to registry', progress, false))).toBe(false);
    expect(isConcurrentPushRace(new BuildFailedError(raced, progress, true))).toBe(false);
    expect(isConcurrentPushRace(new BuildFailedError(raced, progress, false, { beforeStart: false, cause: 'connection reset' }))).toBe(false);
    expect(isConcurrentPushRace(new Error(raced))).toBe(false);
  });
});

describe('retryingPushRace', () => {
  const progress = { steps: 1, cached: 1, warnings: [] };
  const raced = new BuildFailedError('failed to push r.example/app:1: errors:\nunknown: blob unknown to registry - sha256:00\n', progress, false);
  const report = { exporterResponse: {}, progress, transfer: { bytesSent: 0 } } as unknown as BuildReport;
  /** A build that fails with the given errors in turn, then succeeds; counts its calls. */
  const builds = (...failures: Error[]) => {
    let calls = 0;
    const build = async (): Promise<BuildReport> => {
      const failure = failures[calls++];
      if (failure) throw failure;
      return report;
    };
    return { build, calls: () => calls };
  };
  let stdout: jest.SpiedFunction<typeof process.stdout.write>;
  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => stdout.mockRestore());

  it('builds once more after a lost race, with one warning', async () => {
    const b = builds(raced);
    await expect(retryingPushRace(b.build, 'tcp://b:1234', new AbortController().signal)).resolves.toBe(report);
    expect(b.calls()).toBe(2);
    expect(stdout.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('::warning::tcp://b:1234: the registry refused the manifest'))).toHaveLength(1);
  });

  it('gives up after the second refusal, with its error', async () => {
    const again = new BuildFailedError(raced.message, progress, false);
    const b = builds(raced, again);
    await expect(retryingPushRace(b.build, 'tcp://b:1234', new AbortController().signal)).rejects.toBe(again);
    expect(b.calls()).toBe(2);
  });

  it('does not retry another failure, nor once the step is stopping', async () => {
    const other = new BuildFailedError('process "/bin/sh -c make" did not complete successfully: exit code: 2', progress, false);
    const b = builds(other);
    await expect(retryingPushRace(b.build, 'x', new AbortController().signal)).rejects.toBe(other);
    expect(b.calls()).toBe(1);
    const stopped = new AbortController();
    stopped.abort();
    const c = builds(raced);
    await expect(retryingPushRace(c.build, 'x', stopped.signal)).rejects.toBe(raced);
    expect(c.calls()).toBe(1);
  });
});
