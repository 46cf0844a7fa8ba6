// Shared fixtures for the action tests: a throw-away workspace, INPUT_*
// handling the way the runner does it, and capture of workflow commands
// (::add-mask:: etc.) that src/github/runner.ts writes to stdout.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jest } from '@jest/globals';
import { parseFileCommands as parseRunnerFileCommands } from '../helpers/file-commands.js';

export function makeTempDir(prefix = 'erb-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes files (relative path → content) under root, creating directories. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}

/** Replaces all INPUT_* variables with `inputs` (kebab-case names, as in action.yml). */
export function setInputs(inputs: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  // Same name mapping as the runner and runner.getInput: spaces to _, upper case.
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
}

/** Captures stdout while fn runs (workflow commands); returns what was written. */
export function captureStdout<T>(fn: () => T): { result: T | undefined; error: unknown; out: string } {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    return true;
  });
  try {
    return { result: fn(), error: undefined, out };
  } catch (error) {
    return { result: undefined, error, out };
  } finally {
    spy.mockRestore();
  }
}

/** captureStdout for an async function. */
export async function captureStdoutAsync<T>(fn: () => Promise<T>): Promise<{ result: T; out: string }> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    return true;
  });
  try {
    const result = await fn();
    return { result, out };
  } finally {
    spy.mockRestore();
  }
}

/** The values registered with ::add-mask::, unescaped as the runner does. */
export function maskedValues(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split(os.EOL)) {
    const m = /^::add-mask::(.*)$/.exec(line);
    if (m) out.push(m[1]!.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));
  }
  return out;
}

/**
 * Parses a GITHUB_OUTPUT / GITHUB_STATE file written in the runner's
 * `name<<delimiter` heredoc format into a map, as the runner does.
 */
export function parseFileCommands(text: string): Map<string, string> {
  return new Map(Object.entries(parseRunnerFileCommands(text)));
}
