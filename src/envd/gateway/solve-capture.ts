// Reading Control/Solve's request and response as they pass through the
// gateway, to learn the exporter response (image digest) that envd itself
// would only print. The forwarded bytes are not touched: the capture decodes
// copies of this one method's chunks on the side. Solve messages are small;
// decoding problems are logged and never disturb forwarding.
import { Status, statusName } from '../../common/grpc-status.js';
import { FrameDecoder } from '../../common/grpc-frames.js';
import { codec, Messages, type SolveRequest, type SolveResponse } from '../../protocol/index.js';

export interface CapturedExporter {
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
}

/** One finished `Control/Solve` call that went through the gateway. */
export interface CapturedSolve {
  /** `SolveRequest.Ref` (the build ID); '' if the request could not be decoded. */
  readonly ref: string;
  /** `SolveRequest.Session`, the session the build reads local files through. */
  readonly session: string;
  /** '' for client-driven (LLBBridge) builds, which is what envd does. */
  readonly frontend: string;
  /** Requested exporters: `Exporters`, or the legacy single exporter for old clients. */
  readonly exporters: readonly CapturedExporter[];
  /** The daemon's merged exporter response, e.g. `containerimage.digest`; `{}` when Solve failed. */
  readonly exporterResponse: Readonly<Record<string, string>>;
  /** How the call ended (code 0 = OK), as the builder (or the gateway) reported it. */
  readonly status: { readonly code: number; readonly details: string };
}

export const SOLVE_PATH = '/moby.buildkit.v1.Control/Solve';
/** Far above any real SolveRequest/SolveResponse, and what the builder accepts anyway. */
const MAX_CAPTURED_MESSAGE_BYTES = 16 * 1024 * 1024;

const solveRequestCodec = codec<SolveRequest>(Messages.SolveRequest);
const solveResponseCodec = codec<SolveResponse>(Messages.SolveResponse);

/** One direction of the call, reassembled from copies of its chunks. */
class Side {
  private readonly decoder = new FrameDecoder(MAX_CAPTURED_MESSAGE_BYTES);
  private broken = false;

  constructor(
    private readonly what: string,
    private readonly log: (message: string) => void,
  ) {}

  /** The messages `chunk` completes; none once the framing was refused. */
  push(chunk: Buffer): Buffer[] {
    if (this.broken) return [];
    try {
      // A copy: the chunk itself is on its way to the other side.
      return this.decoder.push(Buffer.from(chunk));
    } catch (err) {
      this.broken = true;
      this.log(`envd gateway: could not read the ${this.what} framing: ${(err as Error).message}`);
      return [];
    }
  }
}

export class SolveCapture {
  private req?: SolveRequest;
  private res?: SolveResponse;
  private readonly requests: Side;
  private readonly responses: Side;
  private done = false;

  constructor(private readonly log: (message: string) => void) {
    this.requests = new Side('SolveRequest', log);
    this.responses = new Side('SolveResponse', log);
  }

  /** Bytes envd sent (already checked and forwarded). */
  request(chunk: Buffer): void {
    for (const message of this.requests.push(chunk)) {
      if (this.req) continue;
      try {
        this.req = solveRequestCodec.decode(message);
      } catch (err) {
        this.log(`envd gateway: could not decode a SolveRequest: ${(err as Error).message}`);
      }
    }
  }

  /** Bytes the builder answered (already forwarded). */
  response(chunk: Buffer): void {
    for (const message of this.responses.push(chunk)) {
      try {
        this.res = solveResponseCodec.decode(message);
      } catch (err) {
        this.log(`envd gateway: could not decode a SolveResponse: ${(err as Error).message}`);
      }
    }
  }

  /** The captured call, the first time the call's end is reported; undefined after that. */
  finish(code: number, details: string): CapturedSolve | undefined {
    if (this.done) return undefined;
    this.done = true;
    const req = this.req;
    const exporters: CapturedExporter[] = (req?.Exporters ?? []).map((e) => ({ type: e.Type ?? '', attrs: { ...(e.Attrs ?? {}) } }));
    if (exporters.length === 0 && req?.ExporterDeprecated) {
      exporters.push({ type: req.ExporterDeprecated, attrs: { ...(req.ExporterAttrsDeprecated ?? {}) } });
    }
    const ok = code === Status.OK;
    const captured: CapturedSolve = {
      ref: req?.Ref ?? '',
      session: req?.Session ?? '',
      frontend: req?.Frontend ?? '',
      exporters,
      exporterResponse: ok ? { ...(this.res?.ExporterResponse ?? {}) } : {},
      status: { code, details },
    };
    this.log(
      ok
        ? `envd gateway: Solve ${captured.ref} finished: ${JSON.stringify(captured.exporterResponse)}`
        : `envd gateway: Solve ${captured.ref} failed with ${statusName(code)}: ${details}`,
    );
    return captured;
  }
}
