// grpc-js service definitions for our services, for the fake daemons and
// gRPC clients of the tests (the action itself does not use grpc-js).
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { codec, methodsOf } from '../../src/protocol/index.js';

export function serviceDefinition(fullName: string): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of methodsOf(fullName)) {
    const req = codec(method.requestType);
    const res = codec(method.responseType);
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: (m: unknown) => req.encode(m),
      requestDeserialize: (b: Buffer) => req.decode(b),
      responseSerialize: (m: unknown) => res.encode(m),
      responseDeserialize: (b: Buffer) => res.decode(b),
      originalName: method.name,
    };
  }
  return def;
}
