import { codec, Messages, methodPaths, Services, type CredentialsRequest, type CredentialsResponse } from '../../../src/protocol/index.js';
import { Code, RpcError, type CallContext } from '../../../src/session/rpc.js';
import {
  AUTH_CREDENTIALS_PATH,
  CredentialHelperError,
  DockerConfigError,
  DockerCredentialProvider,
  authCredentialsMethod,
  createAuthHandler,
  parseDockerConfig,
  type CredentialProvider,
  type RegistryCredentials,
} from '../../../src/session/auth/index.js';

function call(signal: AbortSignal = new AbortController().signal): CallContext {
  return { path: AUTH_CREDENTIALS_PATH, metadata: new Map(), signal };
}

function provider(fn: (host: string) => Promise<RegistryCredentials>): CredentialProvider & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    credentials: (host) => {
      asked.push(host);
      return fn(host);
    },
  };
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  return p.then(
    () => {
      throw new Error('expected an RpcError');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(RpcError);
      return err as RpcError;
    },
  );
}

describe('Auth.Credentials handler', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        'ghcr.io': { auth: b64('gh-user:gh:pw') },
        'https://index.docker.io/v1/': { identitytoken: 'hub-refresh' },
        'broken.example': { auth: '%%%' },
      },
    }),
    '/home/runner/.docker/config.json',
  );
  const handler = createAuthHandler(new DockerCredentialProvider(config, undefined));

  const cases: [string, string | undefined, CredentialsResponse][] = [
    ['configured host', 'ghcr.io', { Username: 'gh-user', Secret: 'gh:pw' }],
    ['Docker Hub identity token', 'registry-1.docker.io', { Username: '', Secret: 'hub-refresh' }],
    ['unknown host → OK with empty fields', 'quay.io', { Username: '', Secret: '' }],
    ['missing Host → OK with empty fields', undefined, { Username: '', Secret: '' }],
    ['empty Host → OK with empty fields', '', { Username: '', Secret: '' }],
  ];
  it.each(cases)('%s', async (_name, host, expected) => {
    await expect(handler(host === undefined ? {} : { Host: host }, call())).resolves.toEqual(expected);
  });

  it('asks the provider for exactly the host in the request', async () => {
    const p = provider(async () => ({ Username: 'u', Secret: 's' }));
    await createAuthHandler(p)({ Host: 'localhost:5001' }, call());
    expect(p.asked).toEqual(['localhost:5001']);
  });

  it('a corrupt auth entry → FAILED_PRECONDITION naming host and file, no value', async () => {
    const err = await rpcError(handler({ Host: 'broken.example' }, call()));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toBe(
      'registry credentials for broken.example: invalid "auth" value for auths["broken.example"] in /home/runner/.docker/config.json: expected base64 of username:password',
    );
  });

  const failures: [string, Error, number, string][] = [
    [
      'helper error',
      new CredentialHelperError('gcloud', 'credential helper docker-credential-gcloud exited with code 1 (looking up gcr.io): not logged in'),
      Code.FAILED_PRECONDITION,
      'registry credentials for gcr.io: credential helper docker-credential-gcloud exited with code 1 (looking up gcr.io): not logged in',
    ],
    ['config error', new DockerConfigError('malformed docker config /x: not valid JSON'), Code.FAILED_PRECONDITION, 'registry credentials for gcr.io: malformed docker config /x: not valid JSON'],
    ['RpcError passes through', new RpcError(Code.PERMISSION_DENIED, 'nope'), Code.PERMISSION_DENIED, 'nope'],
    // Unknown errors might carry anything, including a secret: only the type is reported.
    ['unexpected error is not echoed', new TypeError('secret=hunter2'), Code.INTERNAL, 'registry credentials for gcr.io: lookup failed (TypeError)'],
  ];
  it.each(failures)('%s', async (_name, thrown, code, message) => {
    const err = await rpcError(createAuthHandler(provider(() => Promise.reject(thrown)))({ Host: 'gcr.io' }, call()));
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });

  it('a cancelled call → CANCELLED', async () => {
    const controller = new AbortController();
    const p = provider(
      () =>
        new Promise((_resolve, reject) => {
          controller.signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    const pending = createAuthHandler(p)({ Host: 'gcr.io' }, call(controller.signal));
    controller.abort();
    expect((await rpcError(pending)).code).toBe(Code.CANCELLED);
  });

  it('passes the call signal to the provider', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const p: CredentialProvider = {
      credentials: async (_host, signal) => {
        seen = signal;
        return { Username: '', Secret: '' };
      },
    };
    await createAuthHandler(p)({ Host: 'gcr.io' }, call(controller.signal));
    expect(seen).toBe(controller.signal);
  });
});

describe('authCredentialsMethod', () => {
  it('is the Credentials method of moby.filesync.v1.Auth and round-trips the wire format', async () => {
    const method = authCredentialsMethod({ credentials: async (host) => ({ Username: `u@${host}`, Secret: 's' }) });
    expect(method.kind).toBe('unary');
    expect(method.path).toBe('/moby.filesync.v1.Auth/Credentials');
    expect(methodPaths(Services.Auth)).toContain(method.path);
    const request = codec<CredentialsRequest>(Messages.CredentialsRequest).encode({ Host: 'ghcr.io' });
    if (method.kind !== 'unary') throw new Error('unary expected');
    const response = method.encode(await method.handle(method.decode(request), call()));
    expect(codec<CredentialsResponse>(Messages.CredentialsResponse).decode(response)).toEqual({ Username: 'u@ghcr.io', Secret: 's' });
  });
});
