import * as fs from 'node:fs';
import * as path from 'node:path';

import { formatBytes, formatDuration, redactEndpoint, writeSummary, type BuildSummary } from '../../src/action/summary.js';
import { captureStdoutAsync, makeTempDir } from './helpers.js';

const DIGEST = 'sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108';

const summary: BuildSummary = {
  builderEndpoint: 'tcp://buildkit.internal:1234',
  builderKind: 'remote',
  builderVersion: 'v0.24.0',
  frontend: 'dockerfile',
  platforms: ['linux/amd64'],
  tags: ['ghcr.io/org/app:1.2', 'ghcr.io/org/app:latest'],
  pushed: true,
  digest: DIGEST,
  images: [`ghcr.io/org/app@${DIGEST}`],
  durationMs: 83_400,
  steps: { cached: 9, run: 3 },
  contextBytes: 5_452_595,
};

describe('writeSummary', () => {
  let dir: string;
  let file: string;

  // One file for all tests; each starts with it empty.
  beforeAll(() => {
    dir = makeTempDir('erb-summary-');
    file = path.join(dir, 'summary.md');
  });
  beforeEach(() => fs.writeFileSync(file, ''));
  afterEach(() => delete process.env['GITHUB_STEP_SUMMARY']);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is skipped without GITHUB_STEP_SUMMARY', async () => {
    delete process.env['GITHUB_STEP_SUMMARY'];
    const { result, out } = await captureStdoutAsync(() => writeSummary(summary));
    expect(result).toBe(false);
    expect(out).toContain('::debug::GITHUB_STEP_SUMMARY is not set; skipping the job summary');
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  });

  it('writes a table with the build facts', async () => {
    process.env['GITHUB_STEP_SUMMARY'] = file;
    await expect(writeSummary(summary)).resolves.toBe(true);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<h3>envd-remote-build</h3>');
    for (const fragment of [
      '<td>Builder</td><td><code>tcp://buildkit.internal:1234</code></td>',
      '<td>BuildKit</td><td>v0.24.0</td>',
      '<td>Frontend</td><td>dockerfile</td>',
      '<td>Platforms</td><td><code>linux/amd64</code></td>',
      '<td>Tags</td><td><code>ghcr.io/org/app:1.2</code><br><code>ghcr.io/org/app:latest</code></td>',
      '<td>Pushed</td><td>yes</td>',
      `<td>Digest</td><td><code>${DIGEST}</code></td>`,
      `<td>Images</td><td><code>ghcr.io/org/app@${DIGEST}</code></td>`,
      '<td>Duration</td><td>1m23s</td>',
      '<td>Steps</td><td>9 cached, 3 run (75% cached)</td>',
      '<td>Context sent</td><td>5.2 MiB</td>',
    ]) {
      expect(html).toContain(fragment);
    }
  });

  it('marks the local fallback, escapes HTML, strips credentials, and tolerates a build without image', async () => {
    process.env['GITHUB_STEP_SUMMARY'] = file;
    await writeSummary({
      builderEndpoint: 'tcp://user:hunter2@bk:1234?token=abc',
      builderKind: 'local',
      frontend: 'envd',
      tags: ['<script>'],
      images: [],
      durationMs: 450,
    });
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<td>Builder</td><td><code>tcp://bk:1234</code> (local fallback)</td>');
    expect(html).toContain('<code>&lt;script&gt;</code>');
    expect(html).toContain('<td>Digest</td><td><em>none</em></td>');
    expect(html).toContain('<td>Duration</td><td>450ms</td>');
    expect(html).not.toContain('hunter2');
    expect(html).not.toContain('token=abc');
    expect(html).not.toContain('<td>Images</td>');
  });

  it('reports a write failure as a warning and returns false', async () => {
    process.env['GITHUB_STEP_SUMMARY'] = file;
    // A directory where the file should be makes the append fail (EISDIR).
    fs.rmSync(file);
    fs.mkdirSync(file);
    try {
      const { out, result } = await captureStdoutAsync(() => writeSummary(summary));
      expect(result).toBe(false);
      expect(out).toMatch(/^::warning::Could not write the job summary: EISDIR/m);
    } finally {
      fs.rmSync(file, { recursive: true });
      fs.writeFileSync(file, '');
    }
  });
});

describe('formatting', () => {
  it.each<[string, string]>([
    ['tcp://bk:1234', 'tcp://bk:1234'],
    ['tcp://u:p@bk:1234', 'tcp://bk:1234'],
    ['unix:///run/buildkit/buildkitd.sock', 'unix:///run/buildkit/buildkitd.sock'],
    ['tcp://bk:1234/?x=y', 'tcp://bk:1234/'],
  ])('redactEndpoint(%s)', (input, expected) => expect(redactEndpoint(input)).toBe(expected));

  it.each<[number, string]>([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 * 1024 * 1024, '5.0 GiB'],
  ])('formatBytes(%d)', (bytes, expected) => expect(formatBytes(bytes)).toBe(expected));

  it.each<[number, string]>([
    [12, '12ms'],
    [1500, '1.5s'],
    [59_940, '59.9s'],
    [60_000, '1m0s'],
    [3_723_000, '1h2m3s'],
  ])('formatDuration(%d)', (ms, expected) => expect(formatDuration(ms)).toBe(expected));
});
