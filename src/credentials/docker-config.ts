// Reading the runner's docker config and picking the credentials for one
// registry host, the way `docker login` users expect (protocol reference §5.3).
// Nothing here runs external programs; credential helpers live in
// credential-helper.ts and the two are combined in provider.ts.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the daemon gets back for a host; both empty means "anonymous". */
export interface RegistryCredentials {
  /** Empty together with a non-empty Secret means Secret is an identity (refresh) token. */
  readonly Username: string;
  readonly Secret: string;
}

export const NO_CREDENTIALS: RegistryCredentials = Object.freeze({ Username: '', Secret: '' });

/** One entry of the `auths` map. Field names are docker's JSON names. */
export interface AuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
  /** Only meaningful in token-authority mode, which we don't implement; ignored. */
  readonly registrytoken?: string;
}

/** The parts of config.json that decide where credentials come from. */
export interface DockerConfig {
  readonly auths: Readonly<Record<string, AuthEntry>>;
  readonly credsStore?: string;
  readonly credHelpers: Readonly<Record<string, string>>;
  /** Where this config came from, for error messages (a path or an env var name). */
  readonly source: string;
}

/** A config (file or env var) that cannot be used. The message is one line and never contains values from the file. */
export class DockerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerConfigError';
  }
}

/** Where the credentials for one host come from. */
export type CredentialSource =
  | { readonly kind: 'none' }
  | { readonly kind: 'entry'; readonly source: string; readonly key: string; readonly entry: AuthEntry }
  | { readonly kind: 'helper'; readonly helper: string; readonly key: string };

// Docker Hub's canonical config key predates the v2 API; `docker login` stores
// Hub credentials under it whatever name the user typed.
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'docker.io', 'index.docker.io']);

export const DOCKER_AUTH_CONFIG_ENV = 'DOCKER_AUTH_CONFIG';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG ? env.DOCKER_CONFIG : join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** An empty config: what a runner without any `docker login` has. */
export function emptyDockerConfig(source: string): DockerConfig {
  return { auths: {}, credHelpers: {}, source };
}

/**
 * Loads the docker config. A missing file is not an error (the runner simply
 * has no credentials); unreadable or malformed files are, because silently
 * ignoring them would turn into a confusing 401 much later in the build.
 */
export async function loadDockerConfig(path: string = dockerConfigPath()): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return emptyDockerConfig(path);
    throw new DockerConfigError(`cannot read docker config ${path}: ${code ?? (err as Error).message}`);
  }
  return parseDockerConfig(text, path);
}

/**
 * Parses config.json text. `source` names the file (or env var) in errors.
 * Only the fields we use are validated; docker writes many others.
 */
export function parseDockerConfig(text: string, source: string): DockerConfig {
  // An empty file is what some tools leave behind after `docker logout`; docker treats it as empty.
  if (text.trim() === '') return emptyDockerConfig(source);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // V8's message quotes a piece of the input, which may be a credential: report only where it broke.
    throw new DockerConfigError(`malformed docker config ${source}: not valid JSON${jsonErrorLocation(text, err)}`);
  }
  if (!isObject(raw)) throw new DockerConfigError(`malformed docker config ${source}: top level is not a JSON object`);

  const auths: Record<string, AuthEntry> = {};
  if (raw.auths !== undefined && raw.auths !== null) {
    if (!isObject(raw.auths)) throw new DockerConfigError(`malformed docker config ${source}: "auths" is not an object`);
    for (const [key, value] of Object.entries(raw.auths)) {
      auths[key] = parseAuthEntry(value, source, key);
    }
  }

  const credHelpers: Record<string, string> = {};
  if (raw.credHelpers !== undefined && raw.credHelpers !== null) {
    if (!isObject(raw.credHelpers)) throw new DockerConfigError(`malformed docker config ${source}: "credHelpers" is not an object`);
    for (const [key, value] of Object.entries(raw.credHelpers)) {
      if (typeof value !== 'string') throw new DockerConfigError(`malformed docker config ${source}: credHelpers["${key}"] is not a string`);
      credHelpers[key] = value;
    }
  }

  let credsStore: string | undefined;
  if (raw.credsStore !== undefined && raw.credsStore !== null) {
    if (typeof raw.credsStore !== 'string') throw new DockerConfigError(`malformed docker config ${source}: "credsStore" is not a string`);
    credsStore = raw.credsStore === '' ? undefined : raw.credsStore;
  }

  return credsStore === undefined ? { auths, credHelpers, source } : { auths, credHelpers, credsStore, source };
}

/**
 * `DOCKER_AUTH_CONFIG` holds a `{"auths":{...}}` document that CI systems
 * inject without touching the filesystem; it is consulted before config.json.
 * Returns undefined when the variable is unset or empty.
 */
export function parseDockerAuthConfigEnv(env: NodeJS.ProcessEnv = process.env): DockerConfig | undefined {
  const value = env[DOCKER_AUTH_CONFIG_ENV];
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = parseDockerConfig(value, `${DOCKER_AUTH_CONFIG_ENV} environment variable`);
  // Only `auths` is defined for this variable; helpers named there would be ignored by docker too.
  return { auths: parsed.auths, credHelpers: {}, source: parsed.source };
}

/** The key under which docker stores credentials for a registry host. */
export function configKeyForHost(host: string): string {
  return DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? DOCKER_HUB_CONFIG_KEY : host;
}

/**
 * The `host[:port]` part of an `auths` key: older docker versions and other
 * tools store keys such as `https://ghcr.io/v2/` or `http://localhost:5000`.
 */
export function hostnameForm(key: string): string {
  const schemeEnd = key.indexOf('://');
  const rest = schemeEnd >= 0 ? key.slice(schemeEnd + 3) : key;
  const slash = rest.indexOf('/');
  return slash >= 0 ? rest.slice(0, slash) : rest;
}

/** The `auths` entry for a lookup key: exact key first, else the first key whose hostname form equals it. */
export function findAuthEntry(auths: Readonly<Record<string, AuthEntry>>, key: string): { key: string; entry: AuthEntry } | undefined {
  if (Object.prototype.hasOwnProperty.call(auths, key)) return { key, entry: auths[key]! };
  for (const [candidate, entry] of Object.entries(auths)) {
    if (hostnameForm(candidate) === key) return { key: candidate, entry };
  }
  return undefined;
}

/**
 * Decides where the credentials for `host` come from, in docker's order:
 * DOCKER_AUTH_CONFIG, then `credHelpers[key]`, then `credsStore`, then `auths`.
 */
export function selectCredentialSource(host: string, config: DockerConfig, envConfig?: DockerConfig): CredentialSource {
  const key = configKeyForHost(host);
  if (envConfig) {
    const found = findAuthEntry(envConfig.auths, key);
    if (found) return { kind: 'entry', source: envConfig.source, key: found.key, entry: found.entry };
  }
  const helper = Object.prototype.hasOwnProperty.call(config.credHelpers, key) ? config.credHelpers[key] : undefined;
  // An empty credHelpers value is docker's way to force the file store for one registry.
  if (helper !== undefined && helper !== '') return { kind: 'helper', helper, key };
  if (helper === undefined && config.credsStore) return { kind: 'helper', helper: config.credsStore, key };
  const found = findAuthEntry(config.auths, key);
  if (found) return { kind: 'entry', source: config.source, key: found.key, entry: found.entry };
  return { kind: 'none' };
}

/**
 * Turns an `auths` entry into credentials. `auth` (base64 of user:password)
 * wins over plain `username`/`password`; an identity token replaces both
 * because the daemon must use the OAuth refresh-token grant with it.
 */
export function credentialsFromEntry(entry: AuthEntry, where: string): RegistryCredentials {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = decodeBasicAuth(entry.auth);
    if (!decoded) throw new DockerConfigError(`invalid "auth" value for ${where}: expected base64 of username:password`);
    ({ username, password } = decoded);
  }
  if (entry.identitytoken) return { Username: '', Secret: entry.identitytoken };
  return { Username: username, Secret: password };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** base64(`user:password`) → parts; split at the first ':' so passwords may contain ':'. */
export function decodeBasicAuth(auth: string): { username: string; password: string } | undefined {
  const compact = auth.trim();
  // Buffer.from silently skips invalid characters; check the alphabet so a corrupted value is reported, not half-decoded.
  if (!BASE64.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) return undefined;
  const text = Buffer.from(compact, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  // Some old Windows tooling padded the stored value with NULs.
  return { username: text.slice(0, colon), password: text.slice(colon + 1).replace(/\0+$/, '') };
}

function parseAuthEntry(value: unknown, source: string, key: string): AuthEntry {
  if (value === null) return {};
  if (!isObject(value)) throw new DockerConfigError(`malformed docker config ${source}: auths["${key}"] is not an object`);
  const entry: Record<string, string> = {};
  for (const field of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
    const v = value[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new DockerConfigError(`malformed docker config ${source}: auths["${key}"].${field} is not a string`);
    entry[field] = v;
  }
  return entry;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** " at line L column C" when V8 told us the offset, else "". */
function jsonErrorLocation(text: string, err: unknown): string {
  const match = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  if (!match) return '';
  const offset = Number(match[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line} column ${column}`;
}
