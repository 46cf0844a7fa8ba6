// A small client of the registry HTTP API (OCI distribution spec), for what
// index assembly and merging need: manifests by tag or digest, blob checks,
// cross-repository mounts and copies, and the auth flows registries use
// (anonymous, Basic, and Basic or refresh token → Bearer via WWW-Authenticate).
//
// Why our own: the npm clients we looked at either only read
// (@snyk/docker-registry-v2-client), hide their client behind an attestation
// API and cannot mount or read credential helpers (@sigstore/oci), or predate
// OCI indexes and bring a large callback-era stack (docker-registry-client).
// Node's fetch does the HTTP; credentials come from the session's provider
// (docker config, DOCKER_AUTH_CONFIG, credential helpers), not a second reader.
//
// Everything a registry sends is untrusted: bodies are size-capped, digests
// are recomputed from the bytes, error text is cut to one printable line, and
// no credential or token ever appears in a message.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { CredentialProvider } from '../credentials/provider.js';
import { parseChallenges, type Challenge } from './challenge.js';
import { MANIFEST_ACCEPT, ManifestFormatError, parseManifest, type Descriptor, type Manifest } from './media.js';
import { formatReference, isLoopbackHost, type Reference, type Repository } from './reference.js';

/** Registries refuse manifests above 4 MiB; so do we, before reading more. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 60_000;
const USER_AGENT = 'envd-remote-build';

/** One failed registry operation; the message is one line naming the registry and the reference. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly host: string,
    message: string,
    /** HTTP status, when the registry answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RegistryClientOptions {
  readonly credentials: CredentialProvider;
  /**
   * `registry-insecure`: plain HTTP is allowed for every registry (after
   * HTTPS failed). Loopback registries may always use plain HTTP.
   * TLS certificates are verified either way.
   */
  readonly insecure?: boolean;
  /** Cancels every request. */
  readonly signal?: AbortSignal;
  /** Per request, except blob copies (they take as long as the data). Default 60 s. */
  readonly timeoutMs?: number;
  /** Debug lines (never credentials). */
  readonly log?: (message: string) => void;
}

export interface FetchedManifest {
  readonly descriptor: Descriptor;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
}

type Actions = 'pull' | 'pull,push';

interface Scope {
  readonly path: string;
  readonly actions: Actions;
}

interface HostState {
  /** `https://host` or `http://host`. */
  readonly base: string;
  /** What GET /v2/ asked for; undefined when it answered 200 (no auth). */
  challenge: Challenge | undefined;
  readonly tokens: Map<string, string>;
}

interface RequestSpec {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
  /** Absolute URL, or a path below `/v2/`. */
  readonly url: string;
  readonly scopes: readonly Scope[];
  /** For messages: e.g. `GET manifest 127.0.0.1:5000/app:1`. */
  readonly what: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Re-sendable bodies only; streamed bodies go through `stream`. */
  readonly body?: Buffer;
  readonly stream?: () => ReadableStream<Uint8Array>;
  /** No per-request timeout (blob transfers). */
  readonly long?: boolean;
}

export class RegistryClient {
  private readonly hosts = new Map<string, Promise<HostState>>();

  constructor(private readonly options: RegistryClientOptions) {}

  /** GETs a manifest or index by tag or digest; the digest is computed from the bytes and checked. */
  async getManifest(ref: Reference): Promise<FetchedManifest> {
    const target = ref.digest ?? ref.tag ?? 'latest';
    const what = `GET manifest ${formatReference(ref)}`;
    const res = await this.request(ref, { method: 'GET', url: `${ref.path}/manifests/${target}`, scopes: [{ path: ref.path, actions: 'pull' }], what, headers: { accept: MANIFEST_ACCEPT } });
    await this.expect(res, [200], ref.host, what);
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, ref.host, what);
    const digest = digestOf(bytes, ref.digest ? algorithmOf(ref.digest) : 'sha256');
    if (ref.digest && digest !== ref.digest) throw new RegistryError(ref.host, `registry ${ref.host}: ${what}: the content's digest is ${digest}, not the one asked for`);
    const header = res.headers.get('docker-content-digest');
    if (!ref.digest && header && header.startsWith('sha256:') && header !== digest) {
      throw new RegistryError(ref.host, `registry ${ref.host}: ${what}: the registry says the digest is ${clean(header, 80)} but the content's is ${digest}`);
    }
    let manifest: Manifest;
    try {
      manifest = parseManifest(bytes, res.headers.get('content-type') ?? '');
    } catch (err) {
      if (err instanceof ManifestFormatError) throw new RegistryError(ref.host, `registry ${ref.host}: ${what}: ${err.message}`);
      throw err;
    }
    return { descriptor: { mediaType: manifest.mediaType, digest, size: bytes.length }, bytes, manifest };
  }

  /** HEADs a manifest; undefined when the registry does not have it. */
  async headManifest(repo: Repository, reference: string): Promise<Descriptor | undefined> {
    const what = `HEAD manifest ${repo.name}${reference.includes(':') ? '@' : ':'}${reference}`;
    const res = await this.request(repo, { method: 'HEAD', url: `${repo.path}/manifests/${reference}`, scopes: [{ path: repo.path, actions: 'pull' }], what, headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    await this.expect(res, [200], repo.host, what);
    const digest = res.headers.get('docker-content-digest') ?? '';
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const size = Number(res.headers.get('content-length') ?? NaN);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest) || !Number.isSafeInteger(size)) {
      throw new RegistryError(repo.host, `registry ${repo.host}: ${what}: no usable Docker-Content-Digest or Content-Length in the answer`);
    }
    return { mediaType, digest, size };
  }

  /** PUTs a manifest under a tag or its digest; returns its digest (checked against the registry's). */
  async putManifest(repo: Repository, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(bytes, 'sha256');
    const what = `PUT manifest ${repo.name}${reference.includes(':') ? '@' : ':'}${reference}`;
    const res = await this.request(repo, {
      method: 'PUT',
      url: `${repo.path}/manifests/${reference}`,
      scopes: [{ path: repo.path, actions: 'pull,push' }],
      what,
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    await this.expect(res, [200, 201, 202], repo.host, what);
    await res.body?.cancel();
    const reported = res.headers.get('docker-content-digest');
    if (reported && reported !== digest) {
      throw new RegistryError(repo.host, `registry ${repo.host}: ${what}: the registry stored digest ${clean(reported, 80)}, not ${digest}`);
    }
    return digest;
  }

  async blobExists(repo: Repository, digest: string): Promise<boolean> {
    const what = `HEAD blob ${repo.name}@${digest}`;
    const res = await this.request(repo, { method: 'HEAD', url: `${repo.path}/blobs/${digest}`, scopes: [{ path: repo.path, actions: 'pull' }], what });
    if (res.status === 404) return false;
    await this.expect(res, [200], repo.host, what);
    return true;
  }

  /** GETs a small blob (an image config) whole, checking its digest. */
  async getBlob(repo: Repository, digest: string, maxBytes: number): Promise<Buffer> {
    const what = `GET blob ${repo.name}@${digest}`;
    const res = await this.request(repo, { method: 'GET', url: `${repo.path}/blobs/${digest}`, scopes: [{ path: repo.path, actions: 'pull' }], what });
    await this.expect(res, [200], repo.host, what);
    const bytes = await readCapped(res, maxBytes, repo.host, what);
    if (digestOf(bytes, algorithmOf(digest)) !== digest) throw new RegistryError(repo.host, `registry ${repo.host}: ${what}: the content does not match its digest`);
    return bytes;
  }

  /** Uploads a small blob in one request (an image config, a test layer); returns its digest. */
  async uploadBlob(repo: Repository, bytes: Buffer): Promise<string> {
    const digest = digestOf(bytes);
    if (await this.blobExists(repo, digest)) return digest;
    const location = await this.startUpload(repo);
    const state = await this.hostState(repo.host);
    const url = new URL(location, `${state.base}/v2/`);
    url.searchParams.set('digest', digest);
    const what = `upload blob ${digest} to ${repo.name}`;
    const res = await this.request(repo, { method: 'PUT', url: url.toString(), scopes: [{ path: repo.path, actions: 'pull,push' }], what, headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    await this.expect(res, [201], repo.host, what);
    await res.body?.cancel();
    return digest;
  }

  /**
   * Makes a blob of `from` available in `to`: nothing when it is already
   * there, a cross-repository mount on the same registry, else a streamed
   * copy (the receiving registry checks the digest).
   */
  async copyBlob(from: Repository, to: Repository, blob: Descriptor): Promise<'present' | 'mounted' | 'copied'> {
    if (await this.blobExists(to, blob.digest)) return 'present';
    let upload: string | undefined;
    if (from.host === to.host) {
      const what = `mount blob ${blob.digest} from ${from.name} into ${to.name}`;
      const res = await this.request(to, {
        method: 'POST',
        url: `${to.path}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from.path)}`,
        scopes: [
          { path: to.path, actions: 'pull,push' },
          { path: from.path, actions: 'pull' },
        ],
        what,
        headers: { 'content-length': '0' },
      });
      await this.expect(res, [201, 202], to.host, what);
      await res.body?.cancel();
      if (res.status === 201) return 'mounted';
      // 202: the registry would not mount (e.g. no pull access to `from`) and opened an upload instead.
      upload = res.headers.get('location') ?? undefined;
    }
    if (!upload) upload = await this.startUpload(to);
    await this.streamBlob(from, to, blob, upload);
    return 'copied';
  }

  private async startUpload(to: Repository): Promise<string> {
    const what = `start blob upload to ${to.name}`;
    const res = await this.request(to, { method: 'POST', url: `${to.path}/blobs/uploads/`, scopes: [{ path: to.path, actions: 'pull,push' }], what, headers: { 'content-length': '0' } });
    await this.expect(res, [202], to.host, what);
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (!location) throw new RegistryError(to.host, `registry ${to.host}: ${what}: no Location in the answer`);
    return location;
  }

  private async streamBlob(from: Repository, to: Repository, blob: Descriptor, location: string): Promise<void> {
    const getWhat = `GET blob ${from.name}@${blob.digest}`;
    const source = await this.request(from, { method: 'GET', url: `${from.path}/blobs/${blob.digest}`, scopes: [{ path: from.path, actions: 'pull' }], what: getWhat, long: true });
    await this.expect(source, [200], from.host, getWhat);
    if (!source.body) throw new RegistryError(from.host, `registry ${from.host}: ${getWhat}: empty answer`);
    const body = source.body;
    const state = await this.hostState(to.host);
    const url = new URL(location, `${state.base}/v2/`);
    url.searchParams.set('digest', blob.digest);
    const what = `upload blob ${blob.digest} to ${to.name}`;
    let used = false;
    const res = await this.request(to, {
      method: 'PUT',
      url: url.toString(),
      scopes: [{ path: to.path, actions: 'pull,push' }],
      what,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      // Handed out once: a streamed body cannot be sent again after a 401.
      stream: () => {
        if (used) throw new RegistryError(to.host, `registry ${to.host}: ${what}: the registry asked for credentials again mid-upload`);
        used = true;
        return body as unknown as ReadableStream<Uint8Array>;
      },
      long: true,
    });
    await this.expect(res, [201], to.host, what);
    await res.body?.cancel();
  }

  /** Sends one request with the right Authorization, renewing it once on 401. */
  private async request(repo: Pick<Repository, 'host'>, spec: RequestSpec): Promise<Response> {
    const state = await this.hostState(repo.host);
    const url = /^https?:\/\//.test(spec.url) ? spec.url : `${state.base}/v2/${spec.url}`;
    let auth = await this.authorization(repo.host, state, spec.scopes, false, spec.what);
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(repo.host, url, spec, auth);
      if (res.status !== 401 || attempt > 0 || state.challenge === undefined) return res;
      // Expired token or a scope the registry wants spelled differently: ask again once.
      const fresh = pickChallenge(res.headers.get('www-authenticate'));
      if (fresh) state.challenge = fresh;
      await res.body?.cancel();
      auth = await this.authorization(repo.host, state, spec.scopes, true, spec.what);
    }
  }

  private async send(host: string, url: string, spec: RequestSpec, auth: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...spec.headers };
    if (auth) headers['authorization'] = auth;
    let current = new URL(url);
    const origin = current.origin;
    for (let hop = 0; ; hop++) {
      let res: Response;
      try {
        const init: RequestInit & { duplex?: 'half' } = { method: spec.method, headers, redirect: 'manual', signal: this.signalFor(spec.long) };
        if (spec.body) init.body = spec.body;
        else if (spec.stream) {
          init.body = spec.stream();
          init.duplex = 'half';
        }
        res = await fetch(current, init);
      } catch (err) {
        throw new RegistryError(host, `registry ${host}: ${spec.what}: ${networkCause(err, this.options.signal)}`);
      }
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || (spec.method !== 'GET' && spec.method !== 'HEAD')) return res;
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new RegistryError(host, `registry ${host}: ${spec.what}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, current);
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && (isLoopbackHost(next.host) || (this.options.insecure && next.origin === origin)))) {
        throw new RegistryError(host, `registry ${host}: ${spec.what}: refused a redirect to plain HTTP (${next.host})`);
      }
      // Storage backends get a signed URL; our credentials stay with the registry.
      if (next.origin !== origin) delete headers['authorization'];
      current = next;
    }
  }

  private signalFor(long: boolean | undefined): AbortSignal | undefined {
    const signals: AbortSignal[] = [];
    if (this.options.signal) signals.push(this.options.signal);
    if (!long) signals.push(AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  }

  /** GET /v2/ once per host: which scheme answers, and which auth it asks for. */
  private hostState(host: string): Promise<HostState> {
    let state = this.hosts.get(host);
    if (!state) {
      state = this.ping(host);
      // A failed ping is not cached: the next operation may find the registry up.
      state.catch(() => this.hosts.delete(host));
      this.hosts.set(host, state);
    }
    return state;
  }

  private async ping(host: string): Promise<HostState> {
    const plainAllowed = isLoopbackHost(host) || !!this.options.insecure;
    const schemes = plainAllowed ? ['https', 'http'] : ['https'];
    let lastError = '';
    for (const scheme of schemes) {
      const base = `${scheme}://${host}`;
      let res: Response;
      try {
        res = await fetch(`${base}/v2/`, { headers: { 'user-agent': USER_AGENT }, redirect: 'manual', signal: this.signalFor(false) });
      } catch (err) {
        lastError = networkCause(err, this.options.signal);
        if (this.options.signal?.aborted) break;
        continue;
      }
      await res.body?.cancel();
      if (res.status === 200) return { base, challenge: undefined, tokens: new Map() };
      if (res.status === 401) {
        const challenge = pickChallenge(res.headers.get('www-authenticate'));
        if (!challenge) throw new RegistryError(host, `registry ${host}: GET /v2/ asked for authentication without a Bearer or Basic challenge`, 401);
        return { base, challenge, tokens: new Map() };
      }
      throw new RegistryError(host, `registry ${host}: GET /v2/ answered HTTP ${res.status}; is this a registry (v2 API)?`, res.status);
    }
    const hint = plainAllowed ? '' : ' (plain HTTP is used only for loopback registries or with registry-insecure: true)';
    throw new RegistryError(host, `registry ${host}: cannot connect: ${lastError}${hint}`);
  }

  private async authorization(host: string, state: HostState, scopes: readonly Scope[], renew: boolean, what: string): Promise<string | undefined> {
    const challenge = state.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.options.credentials.credentials(host, this.options.signal);
      if (creds.Username === '' || creds.Secret === '') return undefined;
      return `Basic ${Buffer.from(`${creds.Username}:${creds.Secret}`).toString('base64')}`;
    }
    const scopeKey = scopes.map((s) => `repository:${s.path}:${s.actions}`).join(' ');
    const cached = state.tokens.get(scopeKey);
    if (cached && !renew) return `Bearer ${cached}`;
    const token = await this.fetchToken(host, challenge, scopes, what);
    state.tokens.set(scopeKey, token);
    return `Bearer ${token}`;
  }

  private async fetchToken(host: string, challenge: Challenge, scopes: readonly Scope[], what: string): Promise<string> {
    const realmText = challenge.params['realm'] ?? '';
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw new RegistryError(host, `registry ${host}: ${what}: the registry's token realm is not a URL`);
    }
    const realmName = `${realm.origin}${realm.pathname}`;
    const plainOk = realm.protocol === 'http:' && (isLoopbackHost(realm.host) || (this.options.insecure && realm.host === host));
    if (realm.protocol !== 'https:' && !plainOk) throw new RegistryError(host, `registry ${host}: ${what}: refused to send credentials to the plain-HTTP token realm ${realmName}`);

    const creds = await this.options.credentials.credentials(host, this.options.signal);
    const service = challenge.params['service'];
    const scopeValues = scopes.map((s) => `repository:${s.path}:${s.actions}`);
    let res: Response;
    try {
      if (creds.Username === '' && creds.Secret !== '') {
        // An identity (refresh) token from `docker login`: the OAuth2 refresh grant.
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.Secret, client_id: USER_AGENT });
        if (service) form.set('service', service);
        form.set('scope', scopeValues.join(' '));
        res = await fetch(realm, { method: 'POST', headers: { 'user-agent': USER_AGENT, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), redirect: 'error', signal: this.signalFor(false) });
      } else {
        const url = new URL(realm);
        if (service) url.searchParams.set('service', service);
        for (const s of scopeValues) url.searchParams.append('scope', s);
        const headers: Record<string, string> = { 'user-agent': USER_AGENT };
        if (creds.Username !== '' && creds.Secret !== '') headers['authorization'] = `Basic ${Buffer.from(`${creds.Username}:${creds.Secret}`).toString('base64')}`;
        res = await fetch(url, { headers, redirect: 'error', signal: this.signalFor(false) });
      }
    } catch (err) {
      throw new RegistryError(host, `registry ${host}: ${what}: token request to ${realmName} failed: ${networkCause(err, this.options.signal)}`);
    }
    if (res.status !== 200) {
      const detail = await errorDetail(res);
      const hint = res.status === 401 ? (creds.Secret === '' ? ` (no credentials for ${host} in the docker config)` : ` (the credentials for ${host} were refused)`) : '';
      throw new RegistryError(host, `registry ${host}: ${what}: token request to ${realmName} answered HTTP ${res.status}${detail}${hint}`, res.status);
    }
    let doc: unknown;
    try {
      doc = JSON.parse((await readCapped(res, MAX_TOKEN_RESPONSE_BYTES, host, `token from ${realmName}`)).toString('utf8'));
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError(host, `registry ${host}: ${what}: the token answer from ${realmName} is not JSON`);
    }
    const record = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
    const token = typeof record['token'] === 'string' && record['token'] !== '' ? record['token'] : record['access_token'];
    // A header value: anything but visible ASCII would break (or smuggle into) the request.
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) throw new RegistryError(host, `registry ${host}: ${what}: the token answer from ${realmName} has no usable token`);
    return token;
  }

  private async expect(res: Response, ok: readonly number[], host: string, what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    const detail = await errorDetail(res);
    let hint = '';
    if (res.status === 401 || res.status === 403) {
      const creds = await this.options.credentials.credentials(host, this.options.signal).catch(() => undefined);
      hint = creds && creds.Secret !== '' ? ` (the credentials for ${host} were refused or lack access)` : ` (no credentials for ${host} in the docker config; log in first)`;
    }
    throw new RegistryError(host, `registry ${host}: ${what}: HTTP ${res.status}${detail}${hint}`, res.status);
  }
}

function pickChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

/** ` CODE: message` from a registry's JSON error body, one printable line. */
async function errorDetail(res: Response): Promise<string> {
  let text: string;
  try {
    text = (await readCapped(res, MAX_ERROR_BODY_BYTES, '', '')).toString('utf8');
  } catch {
    return '';
  }
  try {
    const doc = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
    if (first) {
      const code = typeof first.code === 'string' ? clean(first.code, 60) : '';
      const message = typeof first.message === 'string' ? clean(first.message, 200) : '';
      return `${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
    }
  } catch {
    // Not JSON: an HTML page from a proxy, say. Its text is not worth a line.
  }
  return '';
}

/** Printable ASCII only, one line, bounded: registry text goes into our error lines. */
function clean(text: string, max: number): string {
  const flat = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

async function readCapped(res: Response, max: number, host: string, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw new RegistryError(host, `registry ${host}: ${what}: the answer is ${declared} bytes, more than the ${max} accepted`);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>)) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > max) {
      await res.body.cancel().catch(() => undefined);
      throw new RegistryError(host, `registry ${host}: ${what}: the answer is more than the ${max} bytes accepted`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function algorithmOf(digest: string): string {
  const algorithm = digest.slice(0, digest.indexOf(':'));
  if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new Error(`digest algorithm "${algorithm.slice(0, 20)}" is not supported (sha256 or sha512)`);
  return algorithm;
}

export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function networkCause(err: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return 'cancelled';
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  const code = e?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS certificate not trusted (${code})`;
  if (code) return code;
  return clean(e?.cause?.message ?? e?.message ?? String(err), 200);
}
