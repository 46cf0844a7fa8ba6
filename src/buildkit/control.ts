// Typed calls of the daemon's Control service.
import * as grpc from '@grpc/grpc-js';
import {
  serviceDefinition,
  Services,
  type BytesMessage,
  type InfoResponse,
  type ListWorkersResponse,
  type SolveRequest,
  type SolveResponse,
  type StatusResponse,
} from '../protocol/index.js';
import { channelCredentials, channelOptions, type ConnectionOptions } from './channel.js';
import { grpcTarget, type BuilderEndpoint } from './endpoint.js';

const ControlClientCtor = grpc.makeGenericClientConstructor(serviceDefinition(Services.Control), 'Control');

type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

interface RawControl extends grpc.Client {
  Info: Unary<Record<string, never>, InfoResponse>;
  ListWorkers: Unary<{ filter?: string[] }, ListWorkersResponse>;
  Solve: Unary<SolveRequest, SolveResponse>;
  Status(req: { Ref: string }, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<StatusResponse>;
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<BytesMessage, BytesMessage>;
}

export class ControlClient {
  private readonly raw: RawControl;

  constructor(
    readonly endpoint: BuilderEndpoint,
    connection: ConnectionOptions = {},
  ) {
    this.raw = new ControlClientCtor(grpcTarget(endpoint), channelCredentials(endpoint), channelOptions(endpoint, connection)) as unknown as RawControl;
  }

  info(deadline?: Date, signal?: AbortSignal): Promise<InfoResponse> {
    return this.unary(this.raw.Info, {}, deadline, signal);
  }

  listWorkers(deadline?: Date, signal?: AbortSignal): Promise<ListWorkersResponse> {
    return this.unary(this.raw.ListWorkers, {}, deadline, signal);
  }

  /** Runs the build. No deadline: builds take as long as they take; abort via signal. */
  solve(request: SolveRequest, signal?: AbortSignal): Promise<SolveResponse> {
    return this.unary(this.raw.Solve, request, undefined, signal);
  }

  status(ref: string): grpc.ClientReadableStream<StatusResponse> {
    return this.raw.Status({ Ref: ref }, new grpc.Metadata());
  }

  session(metadata: grpc.Metadata): grpc.ClientDuplexStream<BytesMessage, BytesMessage> {
    return this.raw.Session(metadata);
  }

  /** Waits until the channel is connected or the deadline passes. */
  waitForReady(deadline: Date): Promise<void> {
    return new Promise((resolve, reject) => this.raw.waitForReady(deadline, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.raw.close();
  }

  private unary<Req, Res>(fn: Unary<Req, Res>, req: Req, deadline?: Date, signal?: AbortSignal): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const options: grpc.CallOptions = deadline ? { deadline } : {};
      const call = fn.call(this.raw, req, new grpc.Metadata(), options, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res as Res);
      });
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** True for a grpc-js error with the given status code. */
export function isGrpcError(err: unknown, code?: grpc.status): err is grpc.ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err && (code === undefined || (err as grpc.ServiceError).code === code);
}
