// Image references as the registry API needs them: which host to call and
// which repository path, from names as users write them (`app:1`,
// `ghcr.io/org/app@sha256:…`). Validation is the tags input's own grammar
// (image-reference.ts); this adds the digest part and Docker Hub's defaults.
import { parseImageReference } from './image-reference.js';
import { DIGEST } from './media.js';

export interface Repository {
  /** Host (and port) the API is called on, e.g. `ghcr.io`, `registry-1.docker.io`, `127.0.0.1:5000`. */
  readonly host: string;
  /** Path below /v2/, e.g. `org/app` or `library/alpine`. */
  readonly path: string;
  /** The name as the user wrote it, without tag or digest; for messages and outputs. */
  readonly name: string;
}

export interface Reference extends Repository {
  readonly tag?: string;
  readonly digest?: string;
}

/** The host docker and BuildKit use for names without one. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Parses `name[:tag][@digest]`; returns why it is invalid as a string. */
export function parseReference(ref: string): Reference | string {
  const at = ref.indexOf('@');
  const namePart = at === -1 ? ref : ref.slice(0, at);
  const digest = at === -1 ? undefined : ref.slice(at + 1);
  if (digest !== undefined && !DIGEST.test(digest)) return `"${digest}" is not a digest (expected sha256:<64 hex digits>)`;
  const parsed = parseImageReference(namePart);
  if (typeof parsed === 'string') return parsed;
  const hub = parsed.domain === '' || DOCKER_HUB_NAMES.has(parsed.domain.toLowerCase());
  const host = hub ? DOCKER_HUB_API_HOST : parsed.domain;
  // Docker Hub's official images live under library/.
  const path = hub && !parsed.path.includes('/') ? `library/${parsed.path}` : parsed.path;
  const name = parsed.tag ? namePart.slice(0, namePart.length - parsed.tag.length - 1) : namePart;
  return { host, path, name, ...(parsed.tag ? { tag: parsed.tag } : {}), ...(digest ? { digest } : {}) };
}

/** `name:tag` / `name@digest` for messages. */
export function formatReference(r: Reference): string {
  return `${r.name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** True for hosts that only this machine can reach (where plain HTTP cannot be intercepted on the wire). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(?:\.\d{1,3}){3}$/.test(bare);
}
