// What the daemon asks for in a DiffCopy call, read from request metadata.
import { Code, RpcError, type Metadata } from '../rpc.js';
import type { FilterSpec } from './filter.js';

export interface DiffCopyRequest extends FilterSpec {
  /** The local name the daemon wants (e.g. `context`, `dockerfile`). */
  readonly dirName: string;
}

export function readDiffCopyRequest(metadata: Metadata): DiffCopyRequest {
  return {
    dirName: values(metadata, 'dir-name')[0] ?? '',
    includePatterns: values(metadata, 'include-patterns'),
    excludePatterns: values(metadata, 'exclude-patterns'),
    followPaths: values(metadata, 'followpaths'),
  };
}

/**
 * All values of a key. Daemons since v0.12 URL-query-escape every value of a
 * key when any of them is not ASCII (header values must be ASCII) and flag
 * that with `<key>-encoded: 1`.
 */
function values(metadata: Metadata, key: string): string[] {
  const raw = metadata.get(key) ?? [];
  if (metadata.get(`${key}-encoded`)?.[0] !== '1') return [...raw];
  return raw.map((v) => {
    try {
      return queryUnescape(v);
    } catch {
      throw new RpcError(Code.INVALID_ARGUMENT, `invalid escaped value for ${key}: ${JSON.stringify(v)}`);
    }
  });
}

/**
 * Inverse of Go's url.QueryEscape: `+` is a space, `%XX` a byte. Decoded as
 * bytes and then as UTF-8, because an escaped multi-byte character arrives as
 * several `%XX` groups.
 */
export function queryUnescape(value: string): string {
  const spaced = value.replace(/\+/g, ' ');
  if (/%(?![0-9A-Fa-f]{2})/.test(spaced)) throw new Error('malformed %-escape');
  return spaced.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}
