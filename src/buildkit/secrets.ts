// Build secrets served through the session: where each value comes from,
// read only when the daemon asks, and the size BuildKit accepts.
import { readFile, stat } from 'node:fs/promises';
import type { SecretSource } from './settings.js';

/**
 * BuildKit's own client refuses secrets above 500 KiB (secretsprovider's
 * MaxSecretSize); we keep the same limit so a workflow behaves the same with
 * buildx, and a huge file cannot blow the session's message limits.
 */
export const MAX_SECRET_BYTES = 500 * 1024;

/** A secret the build can never receive; one line naming the input. */
export class SecretError extends Error {
  override readonly name = 'SecretError';
}

function describeSource(s: SecretSource): string {
  switch (s.kind) {
    case 'value':
      return `secret "${s.id}" (secrets)`;
    case 'file':
      return `secret "${s.id}" (secret-files, ${s.path})`;
    case 'env':
      return `secret "${s.id}" (secret-envs, ${s.name})`;
  }
}

function checkSize(s: SecretSource, bytes: number): void {
  if (bytes > MAX_SECRET_BYTES) {
    throw new SecretError(`${describeSource(s)} is ${Math.ceil(bytes / 1024)} KiB; BuildKit accepts secrets up to ${MAX_SECRET_BYTES / 1024} KiB`);
  }
}

/** Reads a file secret, checking its size before loading it. */
export async function readSecretFile(s: Extract<SecretSource, { kind: 'file' }>): Promise<Buffer> {
  checkSize(s, (await stat(s.path)).size);
  const data = await readFile(s.path);
  checkSize(s, data.length);
  return data;
}

/**
 * Reads a secret when the daemon asks for it, not before; undefined (the
 * daemon's NOT_FOUND) for ids nobody gave. `onRead` sees every value handed
 * out, so the caller can mask what it has not masked yet.
 */
export function secretLookup(
  secrets: readonly SecretSource[],
  env: NodeJS.ProcessEnv = process.env,
  onRead?: (source: SecretSource, value: Buffer) => void,
): (id: string) => Promise<Buffer | undefined> {
  const byId = new Map(secrets.map((s) => [s.id, s]));
  const read = async (s: SecretSource): Promise<Buffer | undefined> => {
    switch (s.kind) {
      case 'value':
        return Buffer.from(s.value);
      case 'file':
        return readSecretFile(s);
      case 'env': {
        const v = env[s.name];
        return v === undefined ? undefined : Buffer.from(v);
      }
    }
  };
  return async (id) => {
    const s = byId.get(id);
    if (!s) return undefined;
    const value = await read(s);
    if (value === undefined) return undefined;
    checkSize(s, value.length);
    onRead?.(s, value);
    return value;
  };
}
