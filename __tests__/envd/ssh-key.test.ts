// The SSH key pair we write for envd, checked against OpenSSH's own reading
// of it: ssh-keygen derives the public key from our private key file, and it
// must be the line we wrote.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENVD_PRIVATE_KEY_FILE, ENVD_PUBLIC_KEY_FILE, envdConfigDir, writeEnvdKeyPair } from '../../src/envd/ssh-key.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'envd-key-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

test('writes a PKCS#1 RSA private key and its OpenSSH public key where envd looks, 0600 in a 0700 directory', async () => {
  await writeEnvdKeyPair(home);
  const dir = envdConfigDir(home);
  expect(dir).toBe(join(home, '.config', 'envd'));
  const privatePath = join(dir, ENVD_PRIVATE_KEY_FILE);
  const publicPath = join(dir, ENVD_PUBLIC_KEY_FILE);
  const pem = readFileSync(privatePath, 'utf8');
  expect(pem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true);
  const key = createPrivateKey(pem);
  expect(key.asymmetricKeyType).toBe('rsa');
  expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
  expect(statSync(privatePath).mode & 0o777).toBe(0o600);
  expect(statSync(publicPath).mode & 0o777).toBe(0o600);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  // OpenSSH's view of the private key is exactly our public key line.
  const derived = execFileSync('ssh-keygen', ['-y', '-f', privatePath], { encoding: 'utf8' }).trim();
  expect(readFileSync(publicPath, 'utf8')).toBe(`${derived}\n`);
});

test('a fresh pair every time', async () => {
  const other = mkdtempSync(join(tmpdir(), 'envd-key-'));
  try {
    await writeEnvdKeyPair(home);
    await writeEnvdKeyPair(other);
    const read = (h: string) => readFileSync(join(envdConfigDir(h), ENVD_PUBLIC_KEY_FILE), 'utf8');
    expect(read(home)).not.toBe(read(other));
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('leaves a pair that is already there alone', async () => {
  const dir = envdConfigDir(home);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ENVD_PUBLIC_KEY_FILE), 'theirs-pub\n');
  writeFileSync(join(dir, ENVD_PRIVATE_KEY_FILE), 'theirs-key\n');
  await writeEnvdKeyPair(home);
  expect(readFileSync(join(dir, ENVD_PUBLIC_KEY_FILE), 'utf8')).toBe('theirs-pub\n');
  expect(readFileSync(join(dir, ENVD_PRIVATE_KEY_FILE), 'utf8')).toBe('theirs-key\n');
});
