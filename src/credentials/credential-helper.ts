// Running docker credential helpers (`docker-credential-<name> get`), the
// external programs named by `credsStore` / `credHelpers` (reference §5.3.5).
//
// Helpers are serialised and their answers cached (§5.3.8): some helpers hang
// when run concurrently, and token-minting helpers (GCP, ECR) are slow enough
// that asking once per blob request would stall a push.
import { childProcess } from '../common/child-process.js';
import type { RegistryCredentials } from './docker-config.js';

/** A helper that could not be run or answered something unusable. Messages never contain credentials. */
export class CredentialHelperError extends Error {
  constructor(
    readonly helper: string,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialHelperError';
  }
}

export interface RunCredentialHelperOptions {
  /** Kill the helper after this long; a hanging keychain prompt must not hang the build. Default 30 s. */
  readonly timeoutMs?: number;
  /** Environment of the helper (PATH is where it is looked up). Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Cancels the lookup and kills the helper. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;
/** Just under the 5 min lifetime of GCP workload-identity tokens. */
export const DEFAULT_HELPER_CACHE_TTL_MS = 4 * 60_000 + 50_000;

// Helpers print errors, not credentials, but cap what we keep in memory anyway.
const MAX_OUTPUT_BYTES = 1 << 20;
const TOKEN_USERNAME = '<token>';
const NOT_FOUND_MARKER = /credentials not found/i;

/** The program name for a helper name from the config (`desktop` → `docker-credential-desktop`). */
export function credentialHelperProgram(helper: string): string {
  return `docker-credential-${helper}`;
}

/**
 * Runs `docker-credential-<helper> get` once for `key`.
 * Resolves undefined when the helper has no credentials for the key.
 */
export function runCredentialHelper(helper: string, key: string, options: RunCredentialHelperOptions = {}): Promise<RegistryCredentials | undefined> {
  const program = credentialHelperProgram(helper);
  // A name with a path separator would run a file relative to the working directory instead of a PATH lookup.
  if (helper === '' || /[/\\]/.test(helper)) {
    return Promise.reject(new CredentialHelperError(helper, `invalid credential helper name ${JSON.stringify(helper)} in docker config`));
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new CredentialHelperError(helper, `${program}: lookup for ${key} cancelled`));

  return new Promise((resolve, reject) => {
    // No shell: the key comes from the daemon and must never be interpreted. detached puts the
    // helper in its own process group so a timeout also kills anything it started.
    const child = childProcess().spawn(program, ['get'], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outBytes = 0;
    let settled = false;

    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const kill = (): void => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
      // A grandchild may still hold the pipes open; we don't wait for it.
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    const fail = (message: string): void => finish(() => reject(new CredentialHelperError(helper, message)));

    const timer = setTimeout(() => {
      kill();
      fail(`${program} did not answer within ${formatDuration(timeoutMs)} (looking up ${key}); killed it`);
    }, timeoutMs);
    const onAbort = (): void => {
      kill();
      fail(`${program}: lookup for ${key} cancelled`);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const collect = (chunks: Buffer[]) => (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT_BYTES) {
        kill();
        fail(`${program} wrote more than ${MAX_OUTPUT_BYTES} bytes of output`);
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') fail(`credential helper ${program} not found on PATH`);
      else fail(`cannot run credential helper ${program}: ${err.code ?? err.message}`);
    });
    // 'close' (not 'exit') so all output has been read.
    child.on('close', (code, sig) => {
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (code !== 0) {
        // docker's helpers report a missing entry on stdout, others on stderr.
        if (NOT_FOUND_MARKER.test(out) || NOT_FOUND_MARKER.test(err)) {
          finish(() => resolve(undefined));
          return;
        }
        const why = code === null ? `was killed by ${sig ?? 'a signal'}` : `exited with code ${code}`;
        const detail = safeErrorText(err) ?? safeErrorText(out);
        fail(`credential helper ${program} ${why} (looking up ${key})${detail ? `: ${detail}` : ''}`);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(out);
      } catch {
        // Not quoting the output: a broken helper might have printed the secret.
        fail(`credential helper ${program} printed invalid JSON (looking up ${key})`);
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        fail(`credential helper ${program} printed JSON that is not an object (looking up ${key})`);
        return;
      }
      const { Username, Secret } = parsed as Record<string, unknown>;
      if ((Username !== undefined && typeof Username !== 'string') || (Secret !== undefined && typeof Secret !== 'string')) {
        fail(`credential helper ${program} printed non-string Username/Secret (looking up ${key})`);
        return;
      }
      const username = Username ?? '';
      const secret = Secret ?? '';
      if (username === '' && secret === '') finish(() => resolve(undefined));
      // `<token>` marks an identity token; the daemon needs it with an empty username to use the refresh-token grant.
      else if (username === TOKEN_USERNAME) finish(() => resolve({ Username: '', Secret: secret }));
      else finish(() => resolve({ Username: username, Secret: secret }));
    });

    child.stdin.on('error', () => {
      // EPIPE when a helper exits without reading stdin; its exit status tells the story.
    });
    child.stdin.end(key);
  });
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/**
 * First line of a helper's error output, shortened, for error messages. A line
 * that looks like JSON is dropped because it may be a credentials document.
 */
function safeErrorText(text: string): string | undefined {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (!line || line.startsWith('{') || line.startsWith('[')) return undefined;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export interface CredentialHelperRunnerOptions extends Omit<RunCredentialHelperOptions, 'signal'> {
  /** How long an answer (including "no credentials") is reused. Default 4 min 50 s. */
  readonly cacheTtlMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly expires: number;
  readonly value: RegistryCredentials | undefined;
}

/**
 * Runs helpers one at a time and caches each (helper, key) answer. Several
 * hosts that share a config key (Docker Hub's aliases) share an entry. Errors
 * are not cached so a transient failure can be retried by the next request.
 */
export class CredentialHelperRunner {
  private readonly cache = new Map<string, CacheEntry>();
  private queue: Promise<void> = Promise.resolve();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(private readonly options: CredentialHelperRunnerOptions = {}) {
    this.ttl = options.cacheTtlMs ?? DEFAULT_HELPER_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Credentials from `docker-credential-<helper>` for `key`, or undefined when it has none. */
  async get(helper: string, key: string, signal?: AbortSignal): Promise<RegistryCredentials | undefined> {
    const cacheKey = `${helper}\0${key}`;
    const hit = this.cached(cacheKey);
    if (hit) return hit.value;
    return this.exclusive(async () => {
      // Another request may have filled the cache while we waited for our turn.
      const again = this.cached(cacheKey);
      if (again) return again.value;
      const value = await runCredentialHelper(helper, key, {
        ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
        ...(this.options.env !== undefined ? { env: this.options.env } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      this.cache.set(cacheKey, { expires: this.now() + this.ttl, value });
      return value;
    });
  }

  /** Forgets every cached answer. */
  clear(): void {
    this.cache.clear();
  }

  private cached(cacheKey: string): CacheEntry | undefined {
    const entry = this.cache.get(cacheKey);
    if (!entry) return undefined;
    if (entry.expires > this.now()) return entry;
    this.cache.delete(cacheKey);
    return undefined;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    // The next caller waits for this one whether it succeeded or not.
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
