// Our SHA-256 (common/sha256.ts) against node:crypto's, and the random bytes
// of common/random.ts.
import { createHash, randomBytes as cryptoRandom } from 'node:crypto';
import { randomBytes, randomHex, randomUUID } from '../../src/common/random.js';
import { sha256 } from '../../src/common/sha256.js';
import { sharedKeyFor } from '../../src/buildkit/solve-request.js';

const nodeSha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

test('the known answers of FIPS 180-4', () => {
  expect(sha256('').toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  expect(sha256('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  expect(sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq').toString('hex')).toBe(
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('every length across the padding boundaries gives what node:crypto gives', () => {
  for (let length = 0; length <= 300; length++) {
    const data = cryptoRandom(length);
    expect(sha256(data).toString('hex')).toBe(nodeSha(data));
  }
});

test('strings are hashed as UTF-8, as createHash().update(string) does', () => {
  for (const s of ['/home/runner/work/ü/ctx', '日本語のパス', 'envd-remote-build:/a b/c']) {
    expect(sha256(s).toString('hex')).toBe(nodeSha(s));
  }
});

test('the shared key of a directory is what it was with node:crypto (the daemon keeps its copies under it)', () => {
  const dir = '/home/runner/work/project/context';
  expect(sharedKeyFor(dir)).toBe(nodeSha(`envd-remote-build:${dir}`).slice(0, 32));
});

test('random bytes have the asked length and differ call to call', () => {
  for (const size of [0, 1, 16, 25, 4096]) expect(randomBytes(size)).toHaveLength(size);
  const seen = new Set(Array.from({ length: 200 }, () => randomHex(16)));
  expect(seen.size).toBe(200);
  expect([...seen].every((h) => /^[0-9a-f]{32}$/.test(h))).toBe(true);
  // Not a constant fill: 4 KiB of output uses most byte values.
  expect(new Set(randomBytes(4096)).size).toBeGreaterThan(200);
});

test('random UUIDs are version 4, variant 1, and differ', () => {
  const ids = Array.from({ length: 100 }, () => randomUUID());
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(new Set(ids).size).toBe(100);
});
