// One build on the daemon: open the session, follow the Status stream, call
// Solve, and tear everything down in the order the daemon expects.
import type { SolveRequest, StatusResponse } from '../protocol/index.js';
import type { MethodHandler } from '../session/rpc.js';
import { openSession, randomId } from '../session/session.js';
import { isGrpcError, type ControlClient, type GrpcError, type StatusStream } from './control.js';
import { Status } from '../common/grpc-status.js';

/** How long to wait for the Status stream to finish after Solve returned. */
const STATUS_GRACE_MS = 3000;
/**
 * The same wait after a cancel: just long enough to print the CANCELED line.
 * The runner sends SIGKILL a few seconds after SIGINT, and post still has
 * to run, so a cancelled build must not idle.
 */
const CANCEL_GRACE_MS = 500;

export interface SolveParams {
  readonly client: ControlClient;
  /** Everything but Ref and Session, which are generated here. */
  readonly request: Omit<SolveRequest, 'Ref' | 'Session'>;
  /** Services the daemon may call back during the build. */
  readonly handlers: readonly MethodHandler[];
  readonly sharedKey: string;
  /** The build ref; generated when absent. Client-driven builds need it up front (LLBBridge calls carry it). */
  readonly ref?: string;
  readonly signal?: AbortSignal;
  readonly onStatus?: (status: StatusResponse) => void;
  readonly log?: (message: string) => void;
}

export interface SolveOutcome {
  readonly ref: string;
  readonly exporterResponse: Readonly<Record<string, string>>;
}

/** A build that the daemon reported as failed (or that was cancelled). */
export class SolveError extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
    /**
     * Set when the connection to the builder failed (closed, or silent past
     * the keepalive timeout) rather than the build: `beforeStart` says the
     * daemon had shown no sign of working on it yet (no progress, no call
     * into the session), so the build can be retried on another builder.
     */
    readonly connectionLost?: ConnectionLoss,
  ) {
    super(message);
    this.name = 'SolveError';
  }
}

/** How a build lost its builder: before or after the daemon started on it, and the connection's word for it. */
export interface ConnectionLoss {
  readonly beforeStart: boolean;
  readonly cause: string;
}

/** The session's health check runs from the moment the session is attached, build or not. */
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

export async function solve(params: SolveParams): Promise<SolveOutcome> {
  const { client, signal } = params;
  const ref = params.ref ?? randomId();
  // Whether the daemon has started on the build: anything but a health check.
  let started = false;
  const session = openSession(client, params.handlers, {
    sharedKey: params.sharedKey,
    ...(params.log ? { log: params.log } : {}),
    onCall: (path) => {
      if (path !== HEALTH_CHECK_PATH) started = true;
    },
  });
  const status = client.status(ref);
  const statusDone = followStatus(status, (s) => {
    started = true;
    params.onStatus?.(s);
  });
  try {
    const response = await client.solve({ ...params.request, Ref: ref, Session: session.id }, signal);
    return { ref, exporterResponse: response.ExporterResponse ?? {} };
  } catch (err) {
    if (signal?.aborted) throw new SolveError('build cancelled', true);
    if (isConnectionLoss(err)) {
      const cause = firstLine(err.details || err.message) || 'connection closed';
      throw new SolveError(connectionLossMessage(client.endpoint.address, cause, started), false, { beforeStart: !started, cause });
    }
    if (isGrpcError(err)) throw new SolveError(err.details || err.message, err.code === Status.CANCELLED);
    throw err;
  } finally {
    // Let the last progress (export, push) arrive, then stop listening.
    const grace = signal?.aborted ? CANCEL_GRACE_MS : STATUS_GRACE_MS;
    await Promise.race([statusDone, new Promise((r) => setTimeout(r, grace).unref())]);
    status.cancel();
    await session.close();
  }
}

/**
 * Every call on a connection that closed, failed or missed its keepalive
 * answer fails with UNAVAILABLE (common/grpc-call.ts), and so does a call
 * that could not connect at all.
 */
function isConnectionLoss(err: unknown): err is GrpcError {
  return isGrpcError(err, Status.UNAVAILABLE);
}

/** One line naming the builder: the connection's own text says neither which builder nor what it means. */
export function connectionLossMessage(address: string, cause: string, started: boolean): string {
  return started
    ? `lost the connection to builder ${address} during the build (${cause}): the daemon stopped, restarted or stopped answering keepalive pings`
    : `lost the connection to builder ${address} before the build started (${cause})`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function followStatus(stream: StatusStream, onStatus?: (s: StatusResponse) => void): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', (s: StatusResponse) => onStatus?.(s));
    stream.on('end', () => resolve());
    stream.on('error', () => resolve()); // progress is best effort; Solve carries the verdict
    stream.on('close', () => resolve());
  });
}
