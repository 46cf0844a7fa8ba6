// Is this builder reachable, and what is it? Info (v0.11+) gives the version;
// older daemons answer UNIMPLEMENTED and we learn what we can from ListWorkers.
// ListWorkers is asked only when its answer is used: it is not free on the
// daemon. Every call on v0.11, and one more than 20 s after the last on later
// versions, makes buildkitd run a helper binary per architecture to see which
// ones it can emulate: 6 to 12 ms more for the probe on a 2-core machine,
// and about a dozen processes on a shared daemon for each job.
import type { BuildkitVersion, WorkerRecord } from '../protocol/index.js';
import { ControlClient, isGrpcError, type GrpcError } from './control.js';
import { Status, statusName } from '../common/grpc-status.js';
import type { BuilderEndpoint } from './endpoint.js';
import { CancelledError, sleep } from '../common/cancel.js';

export interface BuilderInfo {
  readonly endpoint: BuilderEndpoint;
  readonly version?: BuildkitVersion;
  /** The daemon's workers; absent when the probe did not ask (ProbeOptions.workers). */
  readonly workers?: readonly WorkerRecord[];
}

export interface ProbeOptions {
  /** Ask for the workers too (their platforms and labels). Default: true. */
  readonly workers?: boolean;
}

/**
 * Probes the endpoint; rejects with one line naming the endpoint and the cause.
 * Definite failures (refused, TLS, no socket) fail at once; an endpoint that
 * does not answer is retried until the timeout, so a daemon still starting up
 * gets its chance. A cancelled job (the signal) ends the probe at once with
 * CancelledError, which is no verdict on the builder.
 */
export async function probeBuilder(endpoint: BuilderEndpoint, timeoutMs: number, signal?: AbortSignal, options: ProbeOptions = {}): Promise<BuilderInfo> {
  const what = `probing builder ${endpoint.address}`;
  if (signal?.aborted) throw new CancelledError(what);
  const client = new ControlClient(endpoint);
  const deadline = new Date(Date.now() + timeoutMs);
  try {
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await (options.workers === false ? identifyVersion : identify)(client, endpoint, deadline, signal);
      } catch (err) {
        if (signal?.aborted) throw new CancelledError(what);
        const retry = isGrpcError(err, Status.UNAVAILABLE) && !isDefinite(err) && Date.now() + delay < deadline.getTime();
        if (!retry) throw err;
        await sleep(delay, signal, what);
      }
    }
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    throw new Error(`builder ${endpoint.address} is not usable: ${describeConnectError(err, timeoutMs)}`);
  } finally {
    // The connection lingers a few seconds, unref'd, for the build's client
    // to take over (see ControlClient).
    client.close();
  }
}

async function identify(client: ControlClient, endpoint: BuilderEndpoint, deadline: Date, signal?: AbortSignal): Promise<BuilderInfo> {
  // Both at once: one round trip instead of two (remote builders are far away).
  const [info, listed] = await Promise.allSettled([client.info(deadline, signal), client.listWorkers(deadline, signal)]);
  let version: BuildkitVersion | undefined;
  if (info.status === 'fulfilled') {
    version = info.value.buildkitVersion;
  } else if (!isGrpcError(info.reason, Status.UNIMPLEMENTED)) {
    // Daemons before v0.11 have no Info; ListWorkers still tells the version.
    throw info.reason;
  }
  if (listed.status === 'rejected') throw listed.reason;
  return withWorkers(endpoint, listed.value.record ?? [], version);
}

/** The version alone: Info, or ListWorkers where a daemon before v0.11 has no Info. */
async function identifyVersion(client: ControlClient, endpoint: BuilderEndpoint, deadline: Date, signal?: AbortSignal): Promise<BuilderInfo> {
  try {
    const info = await client.info(deadline, signal);
    return { endpoint, ...(info.buildkitVersion ? { version: info.buildkitVersion } : {}) };
  } catch (err) {
    if (!isGrpcError(err, Status.UNIMPLEMENTED)) throw err;
  }
  return withWorkers(endpoint, (await client.listWorkers(deadline, signal)).record ?? []);
}

/** Without Info's version, the workers' own says what the daemon is. */
function withWorkers(endpoint: BuilderEndpoint, workers: readonly WorkerRecord[], version?: BuildkitVersion): BuilderInfo {
  const v = version ?? workers[0]?.BuildkitVersion;
  return { endpoint, ...(v ? { version: v } : {}), workers };
}

function isDefinite(err: GrpcError): boolean {
  const details = err.details ?? '';
  return isProxyFailure(err) || /ECONNREFUSED|ENOENT|EACCES|ENOTFOUND|certificate|SSL|TLS|handshake|wrong version number/i.test(details);
}

/** The HTTP proxy (buildkit/proxy.ts) failed or refused: its own line says which proxy and why. */
function isProxyFailure(err: unknown): err is GrpcError {
  return isGrpcError(err) && err.details.startsWith('proxy ');
}

/** Turns connection failures into a short cause a user can act on. */
export function describeConnectError(err: unknown, timeoutMs: number): string {
  // Not "connection refused (is buildkitd listening there?)" when it was the proxy.
  if (isProxyFailure(err)) return firstLine(err.details);
  const text = err instanceof Error ? err.message : String(err);
  const lower = text.toLowerCase();
  if (lower.includes('econnrefused')) return 'connection refused (is buildkitd listening there?)';
  if (lower.includes('enoent') || lower.includes('no such file')) return 'socket not found';
  if (lower.includes('eacces')) return 'permission denied on the socket';
  if (lower.includes('enotfound') || lower.includes('name resolution') || lower.includes('dns resolution')) return 'host name not found';
  if (/certificate|ssl|tls|handshake|wrong version number|self.signed|alert/.test(lower)) {
    // OpenSSL's text is long; its reason ("sslv3 alert bad certificate") is what helps.
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(text)?.[1] ?? /(unable to verify[^,;]*|self.signed[^,;]*|certificate[^,;]*)/i.exec(text)?.[1];
    return `TLS handshake failed (check tls-ca, tls-cert, tls-key and tls-server-name): ${reason ?? firstLine(text)}`;
  }
  if (lower.includes('deadline') || lower.includes('timeout') || lower.includes('timed out')) {
    return `no answer within ${Math.round(timeoutMs / 1000)}s (connect-timeout)`;
  }
  if (isGrpcError(err)) return `${statusName(err.code)}: ${firstLine(err.details)}`;
  return firstLine(text);
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Default build platform: the first platform of the first worker, as `os/arch[/variant]`. */
export function defaultPlatform(info: BuilderInfo): string | undefined {
  const p = info.workers?.[0]?.platforms?.[0];
  if (!p?.OS || !p.Architecture) return undefined;
  return [p.OS, p.Architecture, p.Variant].filter(Boolean).join('/');
}
