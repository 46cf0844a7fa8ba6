// Reads and validates every `with:` value into the typed ActionInputs.
//
// All user mistakes surface here, before anything is downloaded, connected or
// built, as one line that names the input: a wrong value in a shared workflow
// should be obvious from the job log's last line, not from a stack trace ten
// minutes into a build.

import { childProcess } from '../common/child-process.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as runner from '../github/runner.js';

import { MAX_SECRET_BYTES } from '../buildkit/secrets.js';
import { parseEndpoint } from '../buildkit/endpoint.js';
import type { ActionInputs, CacheEntry, Fallback, Frontend, SecretSource, TlsInputs } from './inputs-types.js';
import type { ResolveInputs } from '../builder/resolve.js';
import { ListSyntaxError, parseKeyValueCsv, parseList, type ListOptions } from './list.js';
import { parseImageReference, type ImageReference } from '../registry/image-reference.js';
import { parseReference } from '../registry/reference.js';
import { MIN_MASKED_LINE, maskSecret } from './mask.js';
import { DEFAULT_BUILDKIT_VERSION, DEFAULT_ENVD_VERSION, ENVD_MIN_VERSION } from '../common/pins.js';
import compareVersions from 'semver/functions/compare.js';
import { csvRecord } from '../common/csv.js';
import { PLATFORM_PLACEHOLDER, usesPlatformPlaceholder } from './cache-entries.js';

/** Defaults shared with action.yml (a test keeps the two in step); tool versions live in common/pins.ts. */
export const DEFAULTS = {
  connectTimeout: '20s',
  fallback: 'auto',
  buildkitVersion: DEFAULT_BUILDKIT_VERSION,
  buildkitDownloadUrl: 'https://github.com/moby/buildkit/releases/download',
  frontend: 'auto',
  context: '.',
  dockerfile: 'Dockerfile',
  envdFile: 'build.envd',
  envdFunction: 'build',
  envdVersion: DEFAULT_ENVD_VERSION,
} as const;

/**
 * `sbom: true` as a frontend attr value. BuildKit treats an empty `attest:sbom`
 * as "on with defaults", but our contract reserves '' for "off", and a bare
 * `true` would reach the scanner as a bogus BUILDKIT_SCAN_true parameter; so
 * name BuildKit's own default generator explicitly.
 */
export const SBOM_DEFAULT_ATTRS = 'generator=docker/buildkit-syft-scanner:stable-1';

/** Above this, Node's timers overflow (2^31 ms) and fire at once. */
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;


/** An invalid `with:` value; the message is one line naming the input. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

function fail(input: string, rest: string): never {
  // `rest` starts with a verb ("must be ...") or with ": ..." for details.
  throw new InputError(input, `Input "${input}"${rest.startsWith(':') ? '' : ' '}${rest}`);
}

/**
 * Reads all inputs (the runner's INPUT_* variables, see runner.getInput).
 * `env` supplies the rest of the runner environment: GITHUB_WORKSPACE (base
 * for relative paths, else the cwd), variables named by `secret-envs` and
 * bare `build-args`, and the run URL used as the provenance builder id.
 */
export function readInputs(env: NodeJS.ProcessEnv = process.env): ActionInputs {
  const workspace = env['GITHUB_WORKSPACE'] || process.cwd();

  // Secret material first, so it is masked before any other input can fail
  // and before main prints anything at all.
  const secrets = readSecrets(workspace, env);
  const tls = readTls(workspace);

  const connectTimeoutMs = readTimeout('connect-timeout');
  const fallback = readChoice<Fallback>('fallback', ['auto', 'never', 'only'], DEFAULTS.fallback);
  const { builders, builderPlatforms } = readBuilders(env, fallback);
  const buildkitVersion = readVersion('buildkit-version', DEFAULTS.buildkitVersion, true);
  const buildkitDownloadUrl = readUrl('buildkit-download-url', DEFAULTS.buildkitDownloadUrl);
  const buildkitdConfigInline = runner.getInput('buildkitd-config-inline');
  const allowUnverifiedDownloads = readBool('allow-unverified-downloads', false);

  const builder: ResolveInputs & Pick<ActionInputs, 'builderPlatforms'> = {
    builders,
    builderPlatforms,
    ...(tls ? { tls } : {}),
    connectTimeoutMs,
    fallback,
    buildkitVersion,
    buildkitDownloadUrl,
    buildkitdConfigInline,
    allowUnverifiedDownloads,
  };

  // Merge mode builds nothing: no context, Dockerfile or builder to check.
  const merge = readMergeSources();
  if (merge.length > 0) {
    checkNothingToBuild(secrets);
    return {
      ...builder,
      frontend: 'dockerfile',
      context: workspace,
      file: '',
      envdFunction: DEFAULTS.envdFunction,
      envdVersion: DEFAULTS.envdVersion,
      target: '',
      buildArgs: [],
      labels: [],
      annotations: readMergeAnnotations(),
      tags: readMergeTags(),
      push: true,
      pushByDigest: false,
      merge,
      platforms: [],
      noCache: false,
      cacheFrom: [],
      cacheTo: [],
      secrets: [],
      provenance: '',
      sbom: '',
      sourceDateEpoch: '',
      registryInsecure: readBool('registry-insecure', false),
    };
  }

  const context = readContext(workspace);
  const { frontend, file } = readFrontendAndFile(context, workspace);
  const envdFunction = readIdentifier('function', DEFAULTS.envdFunction);
  const envdVersion = readVersion('envd-version', DEFAULTS.envdVersion, true);

  const target = readToken('target');
  const buildArgs = readBuildArgs(env);
  const labels = readLabels();
  const annotations = readAnnotations();
  const tags = readTags();
  const pushByDigest = readBool('push-by-digest', false);
  // Pushing by digest is pushing.
  const push = readBool('push', false) || pushByDigest;
  const platforms = readPlatforms();
  const noCache = readBool('no-cache', false);
  const cacheFrom = readCacheEntries('cache-from');
  const cacheTo = readCacheEntries('cache-to');
  const provenance = readProvenance(env);
  const sbom = readSbom();
  const sourceDateEpoch = readSourceDateEpoch(workspace, env);
  const registryInsecure = readBool('registry-insecure', false);

  // Cross-checks: each names the input the user most likely has to change.
  if (push && tags.length === 0 && !pushByDigest) {
    fail('tags', 'is empty but "push" is true: pushing needs at least one tag, e.g. ghcr.io/org/app:latest');
  }
  if (pushByDigest) {
    if (tags.length === 0) fail('tags', 'is empty but "push-by-digest" is true: give the repository to push to, e.g. ghcr.io/org/app');
    const tagged = tags.find((t) => (parseImageReference(t) as ImageReference).tag !== '');
    if (tagged) fail('tags', `: "${tagged}" has a tag, but "push-by-digest" pushes by digest only; give the repository without a tag (the merge run tags the index)`);
    if (frontend === 'envd') fail('push-by-digest', 'is not supported with the envd frontend (envd pushes by tag)');
  }
  if (sourceDateEpoch !== '' && buildArgs.some(([name]) => name === 'SOURCE_DATE_EPOCH')) {
    fail('build-args', ': SOURCE_DATE_EPOCH is set by "source-date-epoch"; give it in one of the two inputs');
  }
  if (platforms.length === 0) {
    for (const [name, entries] of [['cache-from', cacheFrom], ['cache-to', cacheTo]] as const) {
      if (usesPlatformPlaceholder(entries)) fail(name, `: ${PLATFORM_PLACEHOLDER} stands for the platforms built, but "platforms" is empty; set it (e.g. linux/amd64)`);
    }
  }
  if (frontend === 'envd' && platforms.length > 1) {
    fail('platforms', ': envd does not support multi-platform builds (every platform would push to the same name); pass one platform');
  }
  if (frontend === 'envd') {
    // envd takes its build configuration from build.envd; silently dropping these would build something else.
    const unsupported: [string, boolean][] = [
      ['target', !!target],
      ['build-args', buildArgs.length > 0],
      ['labels', labels.length > 0],
      ['annotations', annotations.length > 0],
      ['secrets', secrets.length > 0],
      ['no-cache', noCache],
      ['provenance', !!provenance],
      ['sbom', !!sbom],
      ['source-date-epoch', sourceDateEpoch !== ''],
    ];
    const given = unsupported.filter(([, set]) => set).map(([name]) => name);
    if (given.length) {
      fail(given[0]!, `is not supported with the envd frontend (envd reads its build configuration from ${path.basename(file)}); remove: ${given.join(', ')}`);
    }
    checkEnvdLimits({ context, file, platforms, cacheFrom, cacheTo, envdVersion });
  } else {
    checkDockerfileLimits(cacheFrom, cacheTo);
  }
  if (fallback === 'never' && builders.length === 0) {
    fail('builder', 'is empty but "fallback" is never: give a builder endpoint, or set fallback to auto or only');
  }
  if (fallback === 'only' && builders.length > 0) {
    runner.warning(`Input "builder" is ignored because "fallback" is only (${builders.length} endpoint(s) given)`);
  }

  return {
    ...builder,
    frontend,
    context,
    file,
    envdFunction,
    envdVersion,
    target,
    buildArgs,
    labels,
    annotations,
    tags,
    push,
    pushByDigest,
    merge: [],
    platforms,
    noCache,
    cacheFrom,
    cacheTo,
    secrets,
    provenance,
    sbom,
    sourceDateEpoch,
    registryInsecure,
  };
}

// ---------------------------------------------------------------------------
// Merge mode

/** `merge`: `name@digest` references, one a line or comma separated. */
function readMergeSources(): string[] {
  const out: string[] = [];
  for (const entry of readList('merge')) {
    const parsed = parseReference(entry);
    if (typeof parsed === 'string') fail('merge', `: "${entry}" is not a valid image reference: ${parsed}`);
    if (!parsed.digest) fail('merge', `: "${entry}" has no digest; give name@sha256:<digest> as the digest output of a push-by-digest run`);
    if (!out.includes(entry)) out.push(entry);
  }
  return out;
}

/** Inputs that only shape a build, with the value that means "not given". */
const BUILD_ONLY_INPUTS: readonly (readonly [string, readonly string[]])[] = [
  ['file', ['']],
  ['context', ['', '.']],
  ['target', ['']],
  ['build-args', ['']],
  ['labels', ['']],
  ['platforms', ['']],
  ['cache-from', ['']],
  ['cache-to', ['']],
  ['provenance', ['', 'false']],
  ['sbom', ['', 'false']],
  ['no-cache', ['', 'false']],
  ['push-by-digest', ['', 'false']],
  ['source-date-epoch', ['']],
];

/**
 * A merge builds nothing, so a build option given with it is a workflow
 * mistake (probably a step meant to build); say so instead of ignoring it.
 */
function checkNothingToBuild(secrets: readonly SecretSource[]): void {
  for (const [name, unset] of BUILD_ONLY_INPUTS) {
    const raw = runner.getInput(name);
    if (!unset.includes(raw.trim())) fail(name, `cannot be used with "merge": a merge builds nothing, it assembles the given images into one index`);
  }
  if (secrets.length > 0) fail('secrets', 'cannot be used with "merge": a merge builds nothing');
}

function readMergeTags(): string[] {
  const tags = readTags();
  if (tags.length === 0) fail('tags', 'is empty but "merge" is given: name the index to push, e.g. ghcr.io/org/app:1.2');
  return tags;
}

/** With `merge`, annotations go on the index: `key=value` or `index:key=value`. */
function readMergeAnnotations(): string[] {
  return readAnnotations().map((a) => {
    const eq = a.indexOf('=');
    const key = a.slice(0, eq);
    const colon = key.indexOf(':');
    const level = colon > 0 ? key.slice(0, colon) : '';
    if (!/^(manifest|manifest-descriptor|index-descriptor|index\[[^\]]*\])(\[[^\]]*\])?$/.test(level)) return a;
    // Other levels would change the images, and so their digests.
    fail('annotations', `: "${key}" cannot be used with "merge": a merge only annotates the index (write key=value or index:key=value)`);
  });
}

// ---------------------------------------------------------------------------
// What one frontend cannot do. Checked here, not where the frontend runs, so
// a mistake fails before a builder is probed, envd downloaded or anything
// started.

/** envd's --platform: os/arch[/variant] of letters, digits (and _ in the arch). */
const ENVD_PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/i;
/**
 * The oldest envd the action can install: earlier releases have broken or
 * version-less asset names and lack flags the action passes (see
 * src/envd/install.ts, which checks it again for `latest`).
 */

function checkEnvdLimits(i: Pick<ActionInputs, 'context' | 'file' | 'platforms' | 'cacheFrom' | 'cacheTo' | 'envdVersion'>): void {
  // envd takes one --import-cache and one --export-cache value.
  for (const [name, entries] of [['cache-from', i.cacheFrom], ['cache-to', i.cacheTo]] as const) {
    if (entries.length > 1) fail(name, `: envd takes one cache entry, got ${entries.length}; keep one line`);
    // The daemon needs the runner's cache token for gha, and envd could only get it on its
    // command line, which every local user can read (/proc/PID/cmdline).
    if (entries[0]?.type === 'gha') fail(name, ': type=gha is not supported with the envd frontend (the cache token would be on envd\'s command line); use type=registry');
  }
  const platform = i.platforms[0];
  if (platform !== undefined && !ENVD_PLATFORM.test(platform)) {
    fail('platforms', `: "${platform}" is not in envd's os/arch[/variant] form (letters and digits, e.g. linux/amd64)`);
  }
  // envd splits --from at every ':' and wants exactly the file and the function.
  const rel = path.relative(i.context, i.file);
  if (rel.includes(':')) fail('file', `: envd cannot read a build file whose path from the context contains ':' ("${rel}"); rename it or the directories above it`);
  // readVersion has checked the form already: vX.Y.Z[-pre].
  if (i.envdVersion !== 'latest' && compareVersions(i.envdVersion.slice(1), ENVD_MIN_VERSION) < 0) {
    fail('envd-version', `must be v${ENVD_MIN_VERSION} or later, got "${i.envdVersion}"`);
  }
}

function checkDockerfileLimits(cacheFrom: readonly CacheEntry[], cacheTo: readonly CacheEntry[]): void {
  for (const [name, entries] of [['cache-from', cacheFrom], ['cache-to', cacheTo]] as const) {
    if (entries.some((e) => e.type === 'local')) {
      fail(name, ': type=local needs a content store in the session, which this action does not provide; use type=registry, type=inline or type=gha');
    }
  }
}

// ---------------------------------------------------------------------------
// Scalars

function readList(name: string, opts: ListOptions = {}): string[] {
  try {
    return parseList(runner.getInput(name, { trimWhitespace: !opts.keepWhitespace }), opts);
  } catch (err) {
    if (err instanceof ListSyntaxError) fail(name, `is not a valid list (${err.message}); check the "quotes"`);
    throw err;
  }
}

/** YAML 1.2 core-schema booleans (what @actions/core's getBooleanInput accepts), with a one-line error. */
function parseBool(raw: string): boolean | undefined {
  if (raw === 'true' || raw === 'True' || raw === 'TRUE') return true;
  if (raw === 'false' || raw === 'False' || raw === 'FALSE') return false;
  return undefined;
}

function readBool(name: string, fallbackValue: boolean): boolean {
  const raw = runner.getInput(name);
  if (raw === '') return fallbackValue;
  const value = parseBool(raw);
  if (value === undefined) fail(name, `must be true or false, got "${raw}"`);
  return value;
}

function readChoice<T extends string>(name: string, choices: readonly T[], fallbackValue: T): T {
  const raw = runner.getInput(name);
  if (raw === '') return fallbackValue;
  const lower = raw.toLowerCase();
  const match = choices.find((c) => c === lower);
  if (match === undefined) fail(name, `must be one of ${choices.join(', ')}; got "${raw}"`);
  return match;
}

/** A single word such as a stage name: whitespace or commas are always a mistake. */
function readToken(name: string): string {
  const raw = runner.getInput(name);
  if (/[\s,]/.test(raw)) fail(name, `must be a single name without spaces or commas, got "${raw}"`);
  return raw;
}

function readIdentifier(name: string, fallbackValue: string): string {
  const raw = runner.getInput(name) || fallbackValue;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) fail(name, `must be a function name (letters, digits and _), got "${raw}"`);
  return raw;
}

function readVersion(name: string, fallbackValue: string, allowLatest: boolean): string {
  const raw = runner.getInput(name) || fallbackValue;
  if (allowLatest && raw.toLowerCase() === 'latest') return 'latest';
  const m = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(raw);
  if (!m) fail(name, `must be a release version like ${fallbackValue}${allowLatest ? ' or latest' : ''}, got "${raw}"`);
  // Release assets are tagged with a leading v; accept it either way.
  return `v${m[1]}`;
}

function readUrl(name: string, fallbackValue: string): string {
  const raw = runner.getInput(name) || fallbackValue;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(name, `must be an https URL, got "${raw}"`);
  }
  // Binaries we run come from here: plain http could be rewritten in transit.
  if (url.protocol === 'http:') fail(name, `must be an https URL (plain http is refused for downloads), got "${raw}"`);
  if (url.protocol !== 'https:') fail(name, `must be an https URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/**
 * Parses `90` (seconds), `20s`, `2m`, `1m30s`, `1.5h`, `500ms` into
 * milliseconds; undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  // A bare number is seconds: the unit people mean for a connect timeout.
  if (/^\d+(?:\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  // Go-style sequence of number+unit; `ms` is tried before `m`.
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    part.lastIndex = pos;
    const m = part.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  return Math.round(total);
}

function readTimeout(name: string): number {
  const raw = runner.getInput(name) || DEFAULTS.connectTimeout;
  const ms = parseDuration(raw);
  if (ms === undefined) fail(name, `must be a duration like 90, 20s, 2m or 1m30s, got "${raw}"`);
  if (ms <= 0) fail(name, `must be greater than zero, got "${raw}"`);
  if (ms > MAX_TIMEOUT_MS) fail(name, `must be at most 24h, got "${raw}"`);
  return ms;
}

// ---------------------------------------------------------------------------
// Secrets and TLS material

const SECRET_ID = /^[A-Za-z0-9_.\-/]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type SecretInput = 'secrets' | 'secret-files' | 'secret-envs';
/** What follows `id=` in each secret input, for messages. */
const SECRET_RHS: Readonly<Record<SecretInput, string>> = { secrets: 'value', 'secret-files': 'path', 'secret-envs': 'ENV_NAME' };

/** Splits `id=rest`; for `secrets` the value is masked before any check can fail. */
function splitSecretEntry(input: SecretInput, entry: string, index: number): [string, string] {
  const eq = entry.indexOf('=');
  if (eq === -1) {
    // Probably a value without its id: mask it before saying anything.
    if (input === 'secrets') maskSecret(entry);
    fail(input, `: entry ${index + 1} must be id=${SECRET_RHS[input]} (the entry is not shown)`);
  }
  const id = entry.slice(0, eq).trim();
  const rest = entry.slice(eq + 1);
  if (input === 'secrets') maskSecret(rest);
  if (!SECRET_ID.test(id)) {
    fail(input, `: entry ${index + 1} has an invalid secret id "${id}" (letters, digits, '_', '.', '-', '/')`);
  }
  if (rest.trim() === '') fail(input, `: secret "${id}" has an empty ${SECRET_RHS[input]}`);
  return [id, rest];
}

function readSecrets(workspace: string, env: NodeJS.ProcessEnv): SecretSource[] {
  const out: SecretSource[] = [];
  const seen = new Set<string>();
  const add = (input: SecretInput, source: SecretSource): void => {
    if (seen.has(source.id)) fail(input, `: secret id "${source.id}" is given more than once (across secrets, secret-files and secret-envs)`);
    seen.add(source.id);
    out.push(source);
  };

  // `secrets`: id=value entries, one a line; a value may contain commas and,
  // when the entry is "quoted", newlines. Whitespace is kept as written.
  const rawSecrets = runner.getInput('secrets', { trimWhitespace: false });
  let entries: string[];
  try {
    entries = parseList(rawSecrets, { ignoreComma: true, keepWhitespace: true });
  } catch (err) {
    if (!(err instanceof ListSyntaxError)) throw err;
    // Unparseable: we cannot tell ids from values, so mask every line.
    for (const line of rawSecrets.split(/\r?\n|\r/)) if (line.trim().length >= MIN_MASKED_LINE) runner.setSecret(line.trim());
    // Only the error code: csv-parse's message may quote secret text.
    fail('secrets', `could not be parsed (${err.code}); quote a multi-line value as "id=line1\\nline2" with balanced quotes`);
  }
  entries.forEach((entry, i) => {
    const [id, value] = splitSecretEntry('secrets', entry, i);
    checkSecretSize('secrets', `secret "${id}"`, Buffer.byteLength(value));
    add('secrets', { id, kind: 'value', value });
  });

  readList('secret-files', { ignoreComma: true }).forEach((entry, i) => {
    const [id, rawPath] = splitSecretEntry('secret-files', entry, i);
    const file = path.resolve(workspace, rawPath.trim());
    if (!isFile(file)) fail('secret-files', `: file "${file}" for secret "${id}" not found`);
    // Read now, to mask the content before anything can print it (the build
    // reads it again when the daemon asks, and masks it again if it changed).
    const what = `file "${file}" for secret "${id}"`;
    checkSecretSize('secret-files', what, fs.statSync(file).size);
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch (err) {
      fail('secret-files', `: ${what} could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    checkSecretSize('secret-files', what, content.length);
    maskSecret(content.toString('utf8'));
    add('secret-files', { id, kind: 'file', path: file });
  });

  readList('secret-envs').forEach((entry, i) => {
    const [id, rawName] = splitSecretEntry('secret-envs', entry, i);
    const name = rawName.trim();
    if (!ENV_NAME.test(name)) fail('secret-envs', `: "${name}" for secret "${id}" is not an environment variable name`);
    const value = env[name];
    if (value === undefined) {
      // Not an error: Dockerfile secret mounts are optional unless marked required.
      runner.warning(`Input "secret-envs": environment variable ${name} for secret "${id}" is not set`);
    } else {
      maskSecret(value);
      checkSecretSize('secret-envs', `secret "${id}" (${name})`, Buffer.byteLength(value));
    }
    add('secret-envs', { id, kind: 'env', name });
  });
  return out;
}

/** BuildKit's own client refuses larger secrets; so does the action, before connecting. */
function checkSecretSize(input: SecretInput, what: string, bytes: number): void {
  if (bytes > MAX_SECRET_BYTES) fail(input, `: ${what} is ${Math.ceil(bytes / 1024)} KiB; BuildKit accepts secrets up to ${MAX_SECRET_BYTES / 1024} KiB`);
}

function readPem(name: string, workspace: string, secret: boolean): string | undefined {
  const raw = runner.getInput(name);
  if (raw === '') return undefined;
  if (raw.startsWith('-----BEGIN')) {
    if (secret) maskSecret(raw);
    return raw;
  }
  if (/[\r\n]/.test(raw)) {
    // Multi-line but not PEM: probably mangled key material; never echo it.
    if (secret) maskSecret(raw);
    fail(name, 'must be PEM content starting with -----BEGIN, or the path of a PEM file');
  }
  const file = path.resolve(workspace, raw);
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(name, `: file "${file}" not found (give PEM content starting with -----BEGIN, or the path of a PEM file)`);
    if (code === 'EISDIR') fail(name, `: "${file}" is a directory, not a PEM file`);
    fail(name, `: file "${file}" could not be read (${code ?? String(err)})`);
  }
  if (secret) maskSecret(content);
  if (!content.includes('-----BEGIN')) fail(name, `: file "${file}" does not contain a PEM block (-----BEGIN ...)`);
  return content;
}

function readTls(workspace: string): TlsInputs | undefined {
  // The key first: it is the one secret among them.
  const key = readPem('tls-key', workspace, true);
  const ca = readPem('tls-ca', workspace, false);
  const cert = readPem('tls-cert', workspace, false);
  const serverName = readToken('tls-server-name');
  if ((cert === undefined) !== (key === undefined)) {
    fail(cert === undefined ? 'tls-cert' : 'tls-key', `must be given together with "${cert === undefined ? 'tls-key' : 'tls-cert'}" (client certificate and its key)`);
  }
  if (ca === undefined && cert === undefined && key === undefined && serverName === '') return undefined;
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(serverName !== '' ? { serverName } : {}),
  };
}

// ---------------------------------------------------------------------------
// Builder, context and file

/**
 * The `builder` endpoints; when the input is empty, BUILDKIT_HOST from the
 * environment (as buildctl reads it), so a runner or container that already
 * points at a shared builder needs no extra input. Not with `fallback: only`,
 * which ignores remote builders anyway.
 */
function readBuilders(env: NodeJS.ProcessEnv, fallback: Fallback): { builders: string[]; builderPlatforms: Record<string, string[]> } {
  const given = readBuilderLines();
  const fromEnv = (env[BUILDKIT_HOST_ENV] ?? '').trim();
  if (given.length === 0 && fromEnv !== '' && fallback !== 'only') {
    try {
      parseEndpoint(fromEnv);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new InputError(
        'builder',
        `Environment variable ${BUILDKIT_HOST_ENV} (used because input "builder" is empty): "${fromEnv}" ${message.replace(/^builder "[^"]*":\s*/, '')}`,
      );
    }
    runner.info(`Input "builder" is empty; using ${BUILDKIT_HOST_ENV} from the environment: ${fromEnv}`);
    return { builders: [fromEnv], builderPlatforms: {} };
  }
  const builders: string[] = [];
  const builderPlatforms: Record<string, string[]> = {};
  for (const { address, platforms } of given) {
    try {
      parseEndpoint(address);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // endpoint.ts words its errors as `builder "<addr>": ...`; keep the
      // detail and put the input name in front.
      fail('builder', `: "${address}" ${message.replace(/^builder "[^"]*":\s*/, '')}`);
    }
    if (platforms) {
      for (const p of platforms) if (!PLATFORM.test(p)) fail('builder', `: "${p}" pinned on ${address} is not a platform; write ${address} platforms=linux/arm64[,linux/arm/v7]`);
      builderPlatforms[address] = [...new Set([...(builderPlatforms[address] ?? []), ...platforms])];
    }
    if (!builders.includes(address)) builders.push(address);
  }
  return { builders, builderPlatforms };
}

/**
 * The `builder` lines. A line may pin platforms after the address
 * (`tcp://arm:1234 platforms=linux/arm64,linux/arm/v7`): that line is one
 * builder, its commas separate platforms. Other lines are lists as usual.
 */
function readBuilderLines(): { address: string; platforms?: string[] }[] {
  const out: { address: string; platforms?: string[] }[] = [];
  for (const line of runner.getInput('builder').split(/\r?\n/)) {
    const pinned = /^\s*(\S+)\s+platforms=(\S+)\s*$/.exec(line);
    if (pinned) {
      out.push({ address: pinned[1]!, platforms: pinned[2]!.split(',').filter(Boolean) });
      continue;
    }
    if (/\s\S*=/.test(line.trim())) fail('builder', `: "${line.trim()}" is not an endpoint; to pin platforms write <address> platforms=linux/arm64[,linux/arm/v7]`);
    let entries: string[];
    try {
      entries = parseList(line);
    } catch (err) {
      if (err instanceof ListSyntaxError) fail('builder', `is not a valid list (${err.message}); check the "quotes"`);
      throw err;
    }
    for (const address of entries) out.push({ address });
  }
  return out;
}

/** The variable buildctl reads its daemon address from. */
export const BUILDKIT_HOST_ENV = 'BUILDKIT_HOST';

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readContext(workspace: string): string {
  const raw = runner.getInput('context') || DEFAULTS.context;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) || raw.startsWith('git@')) {
    fail('context', `must be a local directory; remote contexts like "${raw}" are not supported (check the repository out first)`);
  }
  const dir = path.resolve(workspace, raw);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    fail('context', `: directory "${dir}" does not exist`);
  }
  if (!stat.isDirectory()) fail('context', `: "${dir}" is not a directory`);
  return dir;
}

function readFrontendAndFile(context: string, workspace: string): { frontend: Frontend; file: string } {
  const choice = readChoice<'auto' | Frontend>('frontend', ['auto', 'dockerfile', 'envd'], DEFAULTS.frontend);
  const rawFile = runner.getInput('file');
  let frontend: Frontend;
  if (choice !== 'auto') {
    frontend = choice;
  } else if (rawFile !== '') {
    frontend = rawFile.toLowerCase().endsWith('.envd') ? 'envd' : 'dockerfile';
  } else {
    // No file named: a context holding only build.envd is an envd project.
    const hasDockerfile = isFile(path.join(context, DEFAULTS.dockerfile));
    frontend = !hasDockerfile && isFile(path.join(context, DEFAULTS.envdFile)) ? 'envd' : 'dockerfile';
  }

  const wanted = rawFile || (frontend === 'envd' ? DEFAULTS.envdFile : DEFAULTS.dockerfile);
  const inContext = path.resolve(context, wanted);
  if (isFile(inContext)) return { frontend, file: inContext };
  // `docker build -f` resolves against the working directory, so workflows
  // migrating from build-push-action often write `context: app` with
  // `file: app/Dockerfile`; accept that spelling when it is unambiguous.
  const inWorkspace = path.resolve(workspace, wanted);
  if (rawFile !== '' && inWorkspace !== inContext && isFile(inWorkspace)) return { frontend, file: inWorkspace };
  if (fs.existsSync(inContext)) fail('file', `: "${inContext}" is not a file`);
  fail('file', `: "${wanted}" not found in context "${context}"${rawFile === '' ? ` (the ${frontend} frontend's default)` : ''}`);
}

// ---------------------------------------------------------------------------
// Build options

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function readBuildArgs(env: NodeJS.ProcessEnv): [string, string][] {
  // A Map keeps first-seen order while letting a later line override an
  // earlier one, as repeated --build-arg flags do.
  const args = new Map<string, string>();
  for (const entry of readList('build-args', { ignoreComma: true })) {
    const eq = entry.indexOf('=');
    const name = (eq === -1 ? entry : entry.slice(0, eq)).trim();
    if (!BUILD_ARG_NAME.test(name)) {
      fail('build-args', `: "${name}" is not a valid build-arg name (letters, digits and _, not starting with a digit); write NAME=value`);
    }
    // `NAME` alone takes the value from the environment, like `docker build --build-arg NAME`.
    const value = eq === -1 ? env[name] : entry.slice(eq + 1);
    if (value === undefined) {
      runner.debug(`build-arg ${name} has no value and is not set in the environment; skipped`);
      continue;
    }
    args.set(name, value);
  }
  return [...args];
}

function readLabels(): [string, string][] {
  const labels = new Map<string, string>();
  for (const entry of readList('labels', { ignoreComma: true })) {
    const eq = entry.indexOf('=');
    const key = (eq === -1 ? entry : entry.slice(0, eq)).trim();
    if (key === '' || /\s/.test(key)) fail('labels', `: "${entry}" must be key=value with a non-empty key without spaces`);
    // `key` alone is an empty-valued label, as with `docker build --label key`.
    labels.set(key, eq === -1 ? '' : entry.slice(eq + 1));
  }
  return [...labels];
}

function readAnnotations(): string[] {
  const out: string[] = [];
  for (const entry of readList('annotations', { ignoreComma: true })) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || entry.slice(0, eq).trim() === '') {
      fail('annotations', `: "${entry}" must be [type:]key=value, e.g. index:org.opencontainers.image.description=My image`);
    }
    out.push(entry);
  }
  return out;
}

function readTags(): string[] {
  const out: string[] = [];
  for (const tag of readList('tags')) {
    const parsed = parseImageReference(tag);
    if (typeof parsed === 'string') fail('tags', `: "${tag}" is not a valid image reference: ${parsed}`);
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

const PLATFORM = /^[a-z0-9_-]+\/[a-z0-9_-]+(?:\/[a-z0-9_.-]+)?$/i;

function readPlatforms(): string[] {
  const out: string[] = [];
  for (const platform of readList('platforms')) {
    if (!PLATFORM.test(platform)) fail('platforms', `: "${platform}" is not a platform; use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7`);
    if (!out.includes(platform)) out.push(platform);
  }
  return out;
}

/**
 * Parses one cache-from/cache-to line: `type=registry,ref=x,mode=max`, or a
 * bare reference meaning `type=registry,ref=<it>`. Throws an InputError that
 * names `input`.
 */
export function parseCacheEntry(entry: string, input: string): CacheEntry {
  let pairs: [string, string | undefined][];
  try {
    pairs = parseKeyValueCsv(entry);
  } catch (err) {
    if (err instanceof ListSyntaxError) fail(input, `: "${entry}" is not a valid type=...,key=value entry (${err.message})`);
    throw err;
  }
  if (pairs.length === 1 && pairs[0]![1] === undefined) {
    const ref = pairs[0]![0];
    if (/\s/.test(ref)) fail(input, `: "${entry}" is not a cache reference`);
    return { type: 'registry', attrs: { ref } };
  }
  let type = '';
  const attrs: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (value === undefined || key === '') {
      fail(input, `: "${key}" in "${entry}" is not key=value; write one entry a line, e.g. type=registry,ref=user/app:cache,mode=max`);
    }
    if (key === 'type') {
      type = value;
      continue;
    }
    if (Object.hasOwn(attrs, key)) fail(input, `: "${entry}" sets ${key} twice`);
    attrs[key] = value;
  }
  if (type === '') fail(input, `: "${entry}" has no type=; e.g. type=registry,ref=user/app:cache`);
  if (type === 'registry' && !attrs['ref']) fail(input, `: "${entry}" needs ref=<image> for type=registry`);
  return { type, attrs };
}

function readCacheEntries(name: string): CacheEntry[] {
  // One entry a line: the commas belong to the entry's own k=v list.
  return readList(name, { ignoreComma: true }).map((entry) => parseCacheEntry(entry, name));
}

/** Link to this workflow run, the builder id docker's actions put in provenance. */
function workflowRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  const server = env['GITHUB_SERVER_URL'];
  const repo = env['GITHUB_REPOSITORY'];
  const runId = env['GITHUB_RUN_ID'];
  if (!server || !repo || !runId) return undefined;
  const attempt = env['GITHUB_RUN_ATTEMPT'];
  return `${server}/${repo}/actions/runs/${runId}${attempt ? `/attempts/${attempt}` : ''}`;
}

/**
 * Parses an attestation input given as attrs (`mode=max,builder-id=...`). The
 * buildx spellings `type=...` and `disabled=...` are accepted; returns
 * undefined when the attrs disable the attestation.
 */
function parseAttestAttrs(name: string, raw: string): [string, string][] | undefined {
  let pairs: [string, string | undefined][];
  try {
    pairs = parseKeyValueCsv(raw);
  } catch (err) {
    if (err instanceof ListSyntaxError) fail(name, `must be true, false or key=value attributes, got "${raw}"`);
    throw err;
  }
  const out: [string, string][] = [];
  for (const [key, value] of pairs) {
    if (value === undefined || key === '') fail(name, `must be true, false or key=value attributes, got "${raw}"`);
    if (key === 'type') continue;
    if (key === 'disabled') {
      const off = parseBool(value);
      if (off === undefined) fail(name, `: disabled must be true or false, got "${value}"`);
      if (off) return undefined;
      continue;
    }
    out.push([key, value]);
  }
  return out;
}

function readProvenance(env: NodeJS.ProcessEnv): string {
  const raw = runner.getInput('provenance');
  if (raw === '') return '';
  const builderId = workflowRunUrl(env);
  const asBool = parseBool(raw);
  if (asBool === false) return '';
  // `true` means docker's default: minimal provenance naming this run as builder.
  let attrs: [string, string][] = [['mode', 'min']];
  if (asBool === undefined) {
    const parsed = parseAttestAttrs('provenance', raw);
    if (parsed === undefined) return '';
    attrs = parsed;
  }
  const mode = attrs.find(([k]) => k === 'mode')?.[1];
  if (mode !== undefined && mode !== 'min' && mode !== 'max') fail('provenance', `: mode must be min or max, got "${mode}"`);
  if (!attrs.some(([k]) => k === 'mode')) attrs.unshift(['mode', 'min']);
  if (builderId && !attrs.some(([k]) => k === 'builder-id')) attrs.push(['builder-id', builderId]);
  return csvRecord(attrs.map(([k, v]) => `${k}=${v}`));
}

/** Largest SOURCE_DATE_EPOCH Go's time handling in BuildKit takes without overflow (year 9999). */
const MAX_EPOCH = 253_402_300_799;

/**
 * `source-date-epoch`: decimal seconds, or `git` for the commit time of
 * GITHUB_SHA (HEAD when unset) in the workspace's repository.
 */
function readSourceDateEpoch(workspace: string, env: NodeJS.ProcessEnv): string {
  const raw = runner.getInput('source-date-epoch');
  if (raw === '') return '';
  if (raw.toLowerCase() === 'git') {
    const rev = env['GITHUB_SHA'] || 'HEAD';
    if (!/^[0-9a-f]{7,64}$|^HEAD$/i.test(rev)) fail('source-date-epoch', `: GITHUB_SHA "${rev}" is not a commit id`);
    let out: string;
    try {
      out = childProcess().execFileSync('git', ['-C', workspace, 'log', '-1', '--format=%ct', rev, '--'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const why = e.code === 'ENOENT' ? 'git is not installed' : (e.stderr ?? '').split('\n').find((l) => l.trim() !== '')?.trim() || e.message.split('\n')[0];
      fail('source-date-epoch', `: git could not tell the commit time of ${rev} in ${workspace} (${why}); check the repository out first, or give seconds`);
    }
    const seconds = out.trim();
    if (!/^\d+$/.test(seconds)) fail('source-date-epoch', `: git printed no commit time for ${rev} in ${workspace}`);
    runner.info(`source-date-epoch: ${seconds} (commit time of ${rev})`);
    return seconds;
  }
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_EPOCH) fail('source-date-epoch', `must be seconds since 1970 (e.g. 1700000000) or git, got "${raw}"`);
  return String(Number(raw));
}

function readSbom(): string {
  const raw = runner.getInput('sbom');
  if (raw === '') return '';
  const asBool = parseBool(raw);
  if (asBool === true) return SBOM_DEFAULT_ATTRS;
  if (asBool === false) return '';
  const attrs = parseAttestAttrs('sbom', raw);
  if (attrs === undefined) return '';
  // e.g. `disabled=false` alone: on, with the defaults.
  if (attrs.length === 0) return SBOM_DEFAULT_ATTRS;
  return csvRecord(attrs.map(([k, v]) => `${k}=${v}`));
}
