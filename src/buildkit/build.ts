// A Dockerfile build with our own client: the session serves the build
// context and Dockerfile directory, registry credentials and secrets; the
// progress is rendered as it arrives.
import type { BuildSettings, SecretSource } from './settings.js';
import { secretLookup } from './secrets.js';
import { Messages, Services, type Packet } from '../protocol/index.js';
import { authCredentialsMethod } from '../session/auth/service.js';
import type { CredentialProvider } from '../credentials/provider.js';
import { createTransferStats, prepareFileSync, serveDiffCopy, type TransferStats } from '../session/filesync/diffcopy.js';
import type { MethodHandler } from '../session/rpc.js';
import { bidiMethod, healthService, secretsService } from '../session/services.js';
import type { ControlClient } from './control.js';
import { ProgressPrinter, type ProgressSummary } from './progress.js';
import { dockerfileRequest, localDirs, sharedKeyFor, type BuildRequest } from './solve-request.js';
import { solve, SolveError, type ConnectionLoss } from './solve.js';

export interface BuildReport {
  readonly exporterResponse: Readonly<Record<string, string>>;
  readonly progress: ProgressSummary;
  readonly transfer: TransferStats;
  readonly durationMs: number;
}

/** A failed build, with what the progress showed about the failing step. */
export class BuildFailedError extends Error {
  constructor(
    message: string,
    readonly progress: ProgressSummary,
    readonly cancelled: boolean,
    /** The connection to the builder failed, not the build (see SolveError). */
    readonly connectionLost?: ConnectionLoss,
  ) {
    super(message);
    this.name = 'BuildFailedError';
  }
}

export interface SessionServices {
  readonly dirs: ReadonlyMap<string, string>;
  readonly credentials: CredentialProvider;
  readonly secrets: (id: string) => Promise<Buffer | undefined>;
  readonly transfer: TransferStats;
}

export function sessionHandlers(s: SessionServices): MethodHandler[] {
  return [
    healthService(),
    bidiMethod<Packet, Packet>(Services.FileSync, 'DiffCopy', Messages.Packet, Messages.Packet, (call) => serveDiffCopy(call, s.dirs, s.transfer)),
    authCredentialsMethod(s.credentials),
    secretsService(s.secrets),
  ];
}

export interface RunBuildOptions {
  readonly client: ControlClient;
  readonly request: BuildRequest;
  readonly services: Omit<SessionServices, 'transfer'>;
  readonly sharedKey: string;
  readonly write: (line: string) => void;
  readonly signal?: AbortSignal;
}

export async function runBuild(o: RunBuildOptions): Promise<BuildReport> {
  const started = Date.now();
  const transfer = createTransferStats();
  const progress = new ProgressPrinter(o.write);
  void prepareFileSync(o.services.dirs.values());
  try {
    const outcome = await solve({
      client: o.client,
      request: o.request,
      handlers: sessionHandlers({ ...o.services, transfer }),
      sharedKey: o.sharedKey,
      onStatus: (s) => progress.update(s),
      log: o.write,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return { exporterResponse: outcome.exporterResponse, progress: progress.summary(), transfer, durationMs: Date.now() - started };
  } catch (err) {
    if (err instanceof SolveError) throw new BuildFailedError(err.message, progress.summary(), err.cancelled, err.connectionLost);
    throw err;
  }
}

export interface DockerfileBuildOptions {
  readonly client: ControlClient;
  readonly inputs: BuildSettings;
  /** The request, built (and so validated) before connecting; built here when absent. */
  readonly request?: BuildRequest;
  readonly credentials: CredentialProvider;
  readonly write: (line: string) => void;
  /** Called with every secret value handed to the daemon (for masking). */
  readonly onSecret?: (source: SecretSource, value: Buffer) => void;
  readonly signal?: AbortSignal;
}

/** The Dockerfile build of the action's inputs. */
export function runDockerfileBuild(o: DockerfileBuildOptions): Promise<BuildReport> {
  const dirs = localDirs(o.inputs);
  return runBuild({
    client: o.client,
    request: o.request ?? dockerfileRequest(o.inputs),
    services: {
      dirs: new Map([
        ['context', dirs.context],
        ['dockerfile', dirs.dockerfile],
      ]),
      credentials: o.credentials,
      secrets: secretLookup(o.inputs.secrets, process.env, o.onSecret),
    },
    sharedKey: sharedKeyFor(o.inputs.context),
    write: o.write,
    ...(o.signal ? { signal: o.signal } : {}),
  });
}
