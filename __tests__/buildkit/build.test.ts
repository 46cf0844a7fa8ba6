import { jest } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretSource } from '../../src/action/inputs-types.js';
import { MAX_SECRET_BYTES, SecretError, explainBuildError, readSecretFile, secretLookup } from '../../src/buildkit/build.js';

const dir = mkdtempSync(join(tmpdir(), 'secret-unit-'));
const keyFile = join(dir, 'key');
writeFileSync(keyFile, 'line one\nline two\n');

const secrets: SecretSource[] = [
  { id: 'token', kind: 'value', value: 'v,1\n2 ' },
  { id: 'key', kind: 'file', path: keyFile },
  { id: 'npm', kind: 'env', name: 'NPM_TOKEN' },
];

describe('secret lookup', () => {
  it('hands out values byte for byte and reports each one read', async () => {
    const seen: string[] = [];
    const lookup = secretLookup(secrets, { NPM_TOKEN: 'n-1' }, (s, v) => seen.push(`${s.id}=${v.toString()}`));
    expect((await lookup('token'))?.toString()).toBe('v,1\n2 ');
    expect((await lookup('key'))?.toString()).toBe('line one\nline two\n');
    expect((await lookup('npm'))?.toString()).toBe('n-1');
    expect(seen).toEqual(['token=v,1\n2 ', 'key=line one\nline two\n', 'npm=n-1']);
  });

  it('answers undefined (NOT_FOUND on the wire) for unknown ids and unset variables', async () => {
    const onRead = jest.fn();
    const lookup = secretLookup(secrets, {}, onRead);
    expect(await lookup('GIT_AUTH_TOKEN.github.com')).toBeUndefined();
    expect(await lookup('npm')).toBeUndefined();
    expect(onRead).not.toHaveBeenCalled();
  });

  it('refuses secrets above BuildKit\'s 500 KiB limit, naming the input', async () => {
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(MAX_SECRET_BYTES + 1));
    await expect(readSecretFile({ id: 'big', kind: 'file', path: big })).rejects.toThrow(
      new SecretError(`secret "big" (secret-files, ${big}) is 501 KiB; BuildKit accepts secrets up to 500 KiB`),
    );
    const lookup = secretLookup([{ id: 'e', kind: 'env', name: 'BIG' }], { BIG: 'x'.repeat(MAX_SECRET_BYTES + 1) });
    await expect(lookup('e')).rejects.toThrow('secret "e" (secret-envs, BIG) is 501 KiB');
    writeFileSync(big, Buffer.alloc(MAX_SECRET_BYTES));
    expect((await readSecretFile({ id: 'big', kind: 'file', path: big })).length).toBe(MAX_SECRET_BYTES);
  });
});

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
