// The session's `moby.filesync.v1.Auth` service. Only `Credentials` is
// served: the other three RPCs are for token-authority mode, and when they are
// missing (UNIMPLEMENTED) the daemon fetches registry tokens itself (§5.2).
import { codec, Messages, Services, type CredentialsRequest, type CredentialsResponse } from '../../protocol/index.js';
import { Code, RpcError, type MethodHandler, type UnaryHandler } from '../rpc.js';
import { CredentialHelperError } from '../../credentials/credential-helper.js';
import { DockerConfigError } from '../../credentials/docker-config.js';
import type { CredentialProvider } from '../../credentials/provider.js';

export const AUTH_CREDENTIALS_PATH = `/${Services.Auth}/Credentials`;

/**
 * Answers `Auth.Credentials{Host}` from `provider`, for that host only.
 * "No credentials" is an OK answer with empty fields: any error status other
 * than UNIMPLEMENTED makes the daemon abort the pull or push, whereas empty
 * fields let it continue anonymously.
 */
export function createAuthHandler(provider: CredentialProvider): UnaryHandler<CredentialsRequest, CredentialsResponse> {
  return async (request, call) => {
    const host = request.Host ?? '';
    if (host === '') return { Username: '', Secret: '' };
    try {
      const creds = await provider.credentials(host, call.signal);
      return { Username: creds.Username, Secret: creds.Secret };
    } catch (err) {
      throw toRpcError(host, err, call.signal);
    }
  };
}

/** The handler registered with the session server, with its codecs. */
export function authCredentialsMethod(provider: CredentialProvider): MethodHandler {
  const req = codec<CredentialsRequest>(Messages.CredentialsRequest);
  const res = codec<CredentialsResponse>(Messages.CredentialsResponse);
  const handle = createAuthHandler(provider);
  return {
    kind: 'unary',
    path: AUTH_CREDENTIALS_PATH,
    handle: (request, call) => handle(request as CredentialsRequest, call),
    decode: (b) => req.decode(b),
    encode: (m) => res.encode(m as CredentialsResponse),
  };
}

// Our own errors carry messages written without secrets; anything else gets a
// generic message so a stray error can't leak a credential into daemon logs.
function toRpcError(host: string, err: unknown, signal: AbortSignal): RpcError {
  if (err instanceof RpcError) return err;
  if (signal.aborted) return new RpcError(Code.CANCELLED, `credentials lookup for ${host} cancelled`);
  if (err instanceof CredentialHelperError || err instanceof DockerConfigError) {
    return new RpcError(Code.FAILED_PRECONDITION, `registry credentials for ${host}: ${err.message}`);
  }
  return new RpcError(Code.INTERNAL, `registry credentials for ${host}: lookup failed (${err instanceof Error ? err.name : typeof err})`);
}
