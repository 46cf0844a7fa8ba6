// The real envd keeps the key pair we write into its home instead of making
// its own (which costs it up to 2 s of CPU per fresh home).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENVD_PRIVATE_KEY_FILE, ENVD_PUBLIC_KEY_FILE, envdConfigDir, writeEnvdKeyPair } from '../../../src/envd/ssh-key.js';

const ENVD_BIN = process.env.ENVD_BIN ?? '';
if (!ENVD_BIN) {
  process.stderr.write('\n!!! REAL ENVD KEY PAIR TEST SKIPPED: needs ENVD_BIN (scripts/peers.sh env VERSION)\n\n');
}

(ENVD_BIN ? test : test.skip)('envd runs in a home with our key pair and leaves it as it was', async () => {
  const home = mkdtempSync(join(tmpdir(), 'envd-key-e2e-'));
  try {
    await writeEnvdKeyPair(home);
    const dir = envdConfigDir(home);
    const before = [ENVD_PUBLIC_KEY_FILE, ENVD_PRIVATE_KEY_FILE].map((f) => readFileSync(join(dir, f), 'utf8'));
    const out = execFileSync(ENVD_BIN, ['--debug', 'version', '--short'], { env: { ...process.env, HOME: home, ENVD_ANALYTICS: 'false' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/\d+\.\d+\.\d+/);
    const after = [ENVD_PUBLIC_KEY_FILE, ENVD_PRIVATE_KEY_FILE].map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(after).toEqual(before);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
