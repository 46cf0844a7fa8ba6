import type { SecretSource } from '../../src/buildkit/settings.js';
import { explainBuildError } from '../../src/action/build-errors.js';

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
