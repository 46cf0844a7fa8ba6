// One build on the daemon: open the session, follow the Status stream, call
// Solve, and tear everything down in the order the daemon expects.
import * as grpc from '@grpc/grpc-js';
import type { SolveRequest, StatusResponse } from '../protocol/index.js';
import type { MethodHandler } from '../session/rpc.js';
import { openSession, randomId } from '../session/session.js';
import { isGrpcError, type ControlClient } from './control.js';

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
  ) {
    super(message);
    this.name = 'SolveError';
  }
}

export async function solve(params: SolveParams): Promise<SolveOutcome> {
  const { client, signal } = params;
  const ref = params.ref ?? randomId();
  const session = openSession(client, params.handlers, { sharedKey: params.sharedKey, ...(params.log ? { log: params.log } : {}) });
  const status = client.status(ref);
  const statusDone = followStatus(status, params.onStatus);
  try {
    const response = await client.solve({ ...params.request, Ref: ref, Session: session.id }, signal);
    return { ref, exporterResponse: response.ExporterResponse ?? {} };
  } catch (err) {
    if (signal?.aborted) throw new SolveError('build cancelled', true);
    if (isGrpcError(err)) throw new SolveError(err.details || err.message, err.code === grpc.status.CANCELLED);
    throw err;
  } finally {
    // Let the last progress (export, push) arrive, then stop listening.
    const grace = signal?.aborted ? CANCEL_GRACE_MS : STATUS_GRACE_MS;
    await Promise.race([statusDone, new Promise((r) => setTimeout(r, grace).unref())]);
    status.cancel();
    await session.close();
  }
}

function followStatus(stream: grpc.ClientReadableStream<StatusResponse>, onStatus?: (s: StatusResponse) => void): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', (s: StatusResponse) => onStatus?.(s));
    stream.on('end', () => resolve());
    stream.on('error', () => resolve()); // progress is best effort; Solve carries the verdict
    stream.on('close', () => resolve());
  });
}
