// Small session services: health (the daemon drops sessions whose checks
// fail) and secrets (handed out one id at a time, NOT_FOUND otherwise).
import {
  codec,
  Messages,
  Services,
  type GetSecretRequest,
  type GetSecretResponse,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from '../protocol/index.js';
import { Code, RpcError, type BidiHandler, type MethodHandler, type UnaryHandler } from './rpc.js';

/** A method's path and its request/response codecs, the part unary and bidi methods share. */
function methodWire<Req, Res>(service: string, method: string, reqName: string, resName: string): Pick<MethodHandler, 'path' | 'decode' | 'encode'> {
  const req = codec<Req>(reqName);
  const res = codec<Res>(resName);
  return { path: `/${service}/${method}`, decode: (b) => req.decode(b), encode: (m) => res.encode(m as Res) };
}

export function unaryMethod<Req, Res>(service: string, method: string, reqName: string, resName: string, handle: UnaryHandler<Req, Res>): MethodHandler {
  return { kind: 'unary', handle: handle as UnaryHandler<unknown, unknown>, ...methodWire<Req, Res>(service, method, reqName, resName) };
}

export function bidiMethod<Req, Res>(service: string, method: string, reqName: string, resName: string, handle: BidiHandler<Req, Res>): MethodHandler {
  return { kind: 'bidi', handle: handle as unknown as BidiHandler<unknown, unknown>, ...methodWire<Req, Res>(service, method, reqName, resName) };
}

export function healthService(): MethodHandler {
  return unaryMethod<HealthCheckRequest, HealthCheckResponse>(
    Services.Health,
    'Check',
    Messages.HealthCheckRequest,
    Messages.HealthCheckResponse,
    async () => ({ status: 1 /* SERVING */ }),
  );
}

/** Secret values by id. Unknown ids must be NOT_FOUND: git sources probe optional ids on every build. */
export function secretsService(lookup: (id: string) => Promise<Buffer | undefined>): MethodHandler {
  return unaryMethod<GetSecretRequest, GetSecretResponse>(
    Services.Secrets,
    'GetSecret',
    Messages.GetSecretRequest,
    Messages.GetSecretResponse,
    async (req) => {
      const id = req.ID ?? '';
      const value = await lookup(id);
      if (value === undefined) throw new RpcError(Code.NOT_FOUND, `secret ${id} not found`);
      return { data: value };
    },
  );
}
