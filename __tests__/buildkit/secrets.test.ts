import { jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretSource } from '../../src/buildkit/settings.js';
import { MAX_SECRET_BYTES, SecretError, readSecretFile, secretLookup } from '../../src/buildkit/secrets.js';
import { tempDir } from '../helpers/temp-dirs.js';

const dir = tempDir('secret-unit-');
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
