// Temporary directories a test file makes, removed when that file's tests
// end. Each test file loads its own copy of this module, so the list and its
// afterAll belong to the file that made them. Without it every e2e pass left
// its contexts, docker configs and secrets behind in the temp dir.
import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      process.stderr.write(`temp-dirs: could not remove ${dir}: ${(err as Error).message}\n`);
    }
  }
});

/** A new directory `<tmp>/<prefix>XXXXXX`, removed after the calling test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
