// Image references as users write them in `tags`: `[host[:port]/]path[:tag]`.
// We validate up front (a typo in a tag should fail in a second, not after a
// twenty-minute build when the push is refused) and derive `name@digest`
// strings for the outputs. The grammar follows the distribution reference
// format that registries and BuildKit's image exporter apply.

/** One lowercase path component: alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A registry host name component (case-insensitive, unlike the path). */
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
/** Registries reject repository names longer than this (host included). */
const MAX_NAME_LENGTH = 255;

export interface ImageReference {
  /** Registry host with optional port, as written; '' when the name has none. */
  readonly domain: string;
  /** Repository path below the host, e.g. `org/app`. */
  readonly path: string;
  /** Tag after the last `:` of the final component; '' when not given. */
  readonly tag: string;
}

/**
 * Splits and validates a tag such as `ghcr.io/org/app:1.2` or
 * `localhost:5000/app`. Returns the reason it is invalid as a string instead of
 * throwing, so callers can word the error around the input that held it.
 */
export function parseImageReference(ref: string): ImageReference | string {
  if (ref === '') return 'it is empty';
  if (/\s/.test(ref)) return 'it contains whitespace';
  if (ref.includes('@')) return 'a digest (@sha256:...) cannot be used as a tag; give name:tag';

  // The tag is whatever follows a ':' in the last path component; a ':' before
  // the last '/' belongs to host:port.
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? ref : ref.slice(0, colon);
  const tag = colon === -1 ? '' : ref.slice(colon + 1);
  if (colon !== -1 && !TAG.test(tag)) {
    return `tag "${tag}" is invalid (use letters, digits, '_', '.', '-', at most 128 characters, not starting with '.' or '-')`;
  }
  if (name.length > MAX_NAME_LENGTH) return `the repository name is longer than ${MAX_NAME_LENGTH} characters`;

  // Same rule the Docker CLI uses: the first component is a registry only if
  // it looks like one (has a '.' or ':', is localhost, or has capitals).
  const firstSlash = name.indexOf('/');
  let domain = '';
  let path = name;
  if (firstSlash !== -1) {
    const first = name.slice(0, firstSlash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = name.slice(firstSlash + 1);
    }
  }
  if (domain !== '') {
    const reason = checkDomain(domain);
    if (reason) return reason;
  }
  if (path === '') return 'the repository path is empty';
  for (const component of path.split('/')) {
    if (component !== component.toLowerCase()) return `the repository path "${path}" must be lowercase`;
    if (!PATH_COMPONENT.test(component)) {
      return `path component "${component}" is invalid (lowercase letters and digits, separated by '.', '_', '__' or '-')`;
    }
  }
  return { domain, path, tag };
}

function checkDomain(domain: string): string | undefined {
  let host = domain;
  let port = '';
  const bracketEnd = domain.lastIndexOf(']');
  const portColon = domain.lastIndexOf(':');
  if (portColon > bracketEnd) {
    host = domain.slice(0, portColon);
    port = domain.slice(portColon + 1);
    if (!/^[0-9]+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `registry port "${port}" is invalid`;
    }
  }
  if (IPV6_HOST.test(host)) return undefined;
  if (!host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) return `registry host "${host}" is invalid`;
  return undefined;
}

/**
 * The repository part of a reference as the user wrote it: `host:port/a/b:1`
 * becomes `host:port/a/b`. No normalisation (no `docker.io/library/` prefix):
 * the outputs should read back the names the workflow used.
 */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  return colon === -1 ? name : name.slice(0, colon);
}
