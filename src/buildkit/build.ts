// A Dockerfile build with our own client: the session serves the build
// context and Dockerfile directory, registry credentials and secrets; the
// progress is rendered as it arrives.
import type { ActionInputs, SecretSource } from '../action/inputs-types.js';
import { Messages, Services, type Packet } from '../protocol/index.js';
import { authCredentialsMethod } from '../session/auth/service.js';
import type { CredentialProvider } from '../session/auth/provider.js';
import { createTransferStats, serveDiffCopy, type TransferStats } from '../session/filesync/diffcopy.js';
import type { MethodHandler } from '../session/rpc.js';
import { bidiMethod, healthService, secretsService } from '../session/services.js';
import { readFile } from 'node:fs/promises';
import type { ControlClient } from './control.js';
import { ProgressPrinter, type ProgressSummary } from './progress.js';
import { dockerfileRequest, localDirs, sharedKeyFor, type BuildRequest } from './request.js';
import { solve, SolveError } from './solve.js';

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
  ) {
    super(message);
    this.name = 'BuildFailedError';
  }
}

/** Reads a secret when the daemon asks for it, not before. */
export function secretLookup(secrets: readonly SecretSource[], env: NodeJS.ProcessEnv = process.env): (id: string) => Promise<Buffer | undefined> {
  const byId = new Map(secrets.map((s) => [s.id, s]));
  return async (id) => {
    const s = byId.get(id);
    if (!s) return undefined;
    switch (s.kind) {
      case 'value':
        return Buffer.from(s.value);
      case 'file':
        return readFile(s.path);
      case 'env': {
        const v = env[s.name];
        return v === undefined ? undefined : Buffer.from(v);
      }
    }
  };
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
    if (err instanceof SolveError) throw new BuildFailedError(err.message, progress.summary(), err.cancelled);
    throw err;
  }
}

/** The Dockerfile build of the action's inputs. */
export function runDockerfileBuild(
  client: ControlClient,
  inputs: ActionInputs,
  credentials: CredentialProvider,
  write: (line: string) => void,
  signal?: AbortSignal,
): Promise<BuildReport> {
  const dirs = localDirs(inputs);
  return runBuild({
    client,
    request: dockerfileRequest(inputs),
    services: { dirs: new Map([['context', dirs.context], ['dockerfile', dirs.dockerfile]]), credentials, secrets: secretLookup(inputs.secrets) },
    sharedKey: sharedKeyFor(inputs.context),
    write,
    ...(signal ? { signal } : {}),
  });
}
