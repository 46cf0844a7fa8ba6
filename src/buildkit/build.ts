// A Dockerfile build with our own client: the session serves the build
// context and Dockerfile directory, registry credentials and secrets; the
// progress is rendered as it arrives.
import type { ActionInputs, SecretSource } from '../action/inputs-types.js';
import { Messages, Services, type Packet } from '../protocol/index.js';
import { authCredentialsMethod } from '../session/auth/service.js';
import type { CredentialProvider } from '../session/auth/provider.js';
import { createTransferStats, prepareFileSync, serveDiffCopy, type TransferStats } from '../session/filesync/diffcopy.js';
import type { MethodHandler } from '../session/rpc.js';
import { bidiMethod, healthService, secretsService } from '../session/services.js';
import { readFile, stat } from 'node:fs/promises';
import type { ControlClient } from './control.js';
import { ProgressPrinter, type ProgressSummary } from './progress.js';
import { dockerfileRequest, localDirs, sharedKeyFor, type BuildRequest } from './request.js';
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

/**
 * BuildKit's own client refuses secrets above 500 KiB (secretsprovider's
 * MaxSecretSize); we keep the same limit so a workflow behaves the same with
 * buildx, and a huge file cannot blow the session's message limits.
 */
export const MAX_SECRET_BYTES = 500 * 1024;

/** A secret the build can never receive; one line naming the input. */
export class SecretError extends Error {
  override readonly name = 'SecretError';
}

function describeSource(s: SecretSource): string {
  switch (s.kind) {
    case 'value':
      return `secret "${s.id}" (secrets)`;
    case 'file':
      return `secret "${s.id}" (secret-files, ${s.path})`;
    case 'env':
      return `secret "${s.id}" (secret-envs, ${s.name})`;
  }
}

function checkSize(s: SecretSource, bytes: number): void {
  if (bytes > MAX_SECRET_BYTES) {
    throw new SecretError(`${describeSource(s)} is ${Math.ceil(bytes / 1024)} KiB; BuildKit accepts secrets up to ${MAX_SECRET_BYTES / 1024} KiB`);
  }
}

/** Reads a file secret, checking its size before loading it. */
export async function readSecretFile(s: Extract<SecretSource, { kind: 'file' }>): Promise<Buffer> {
  checkSize(s, (await stat(s.path)).size);
  const data = await readFile(s.path);
  checkSize(s, data.length);
  return data;
}

/**
 * Reads a secret when the daemon asks for it, not before; undefined (the
 * daemon's NOT_FOUND) for ids nobody gave. `onRead` sees every value handed
 * out, so the caller can mask what it has not masked yet.
 */
export function secretLookup(
  secrets: readonly SecretSource[],
  env: NodeJS.ProcessEnv = process.env,
  onRead?: (source: SecretSource, value: Buffer) => void,
): (id: string) => Promise<Buffer | undefined> {
  const byId = new Map(secrets.map((s) => [s.id, s]));
  const read = async (s: SecretSource): Promise<Buffer | undefined> => {
    switch (s.kind) {
      case 'value':
        return Buffer.from(s.value);
      case 'file':
        return readSecretFile(s);
      case 'env': {
        const v = env[s.name];
        return v === undefined ? undefined : Buffer.from(v);
      }
    }
  };
  return async (id) => {
    const s = byId.get(id);
    if (!s) return undefined;
    const value = await read(s);
    if (value === undefined) return undefined;
    checkSize(s, value.length);
    onRead?.(s, value);
    return value;
  };
}

/** Annotation levels that only an index can carry (see annotationAttrs). */
const INDEX_LEVEL = /^(index|index-descriptor)(\[[^\]]*\])?:/;

/**
 * Says what the user has to change when the daemon's error is about one of
 * our inputs: BuildKit's wording ("secret npmrc: not found") names neither
 * the Dockerfile nor the action input that fixes it. Other errors pass
 * through unchanged.
 */
export function explainBuildError(message: string, inputs: Pick<ActionInputs, 'secrets' | 'annotations'>, env: NodeJS.ProcessEnv = process.env): string {
  const missing = /\bsecret ([^\s:]+): not found\b/.exec(message);
  if (missing) {
    const id = missing[1]!;
    const given = inputs.secrets.find((s) => s.id === id);
    if (!given) return `secret "${id}" is required by the Dockerfile but was not given; pass it with the secrets, secret-files or secret-envs input`;
    if (given.kind === 'env' && env[given.name] === undefined) {
      return `secret "${id}" is required by the Dockerfile, but environment variable ${given.name} (secret-envs) is not set`;
    }
  }
  if (/index annotations not supported for single platform export/.test(message)) {
    const keys = inputs.annotations.filter((a) => INDEX_LEVEL.test(a)).map((a) => a.slice(0, a.indexOf('=')));
    const what = keys.length === 1 ? `${keys[0]} needs` : `${keys.join(', ') || 'index annotations'} need`;
    return `Input "annotations": ${what} an image index, but this build exports a single-platform manifest; build several platforms, enable provenance, or drop the index: prefix`;
  }
  return message;
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
  prepareFileSync();
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
  readonly inputs: ActionInputs;
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
