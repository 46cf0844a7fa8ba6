// One place that turns our .proto definitions into codecs and grpc-js service
// definitions. Everything else imports message types from here, so the
// conversion options (keepCase names, int64 as decimal strings, bytes as
// Buffer, absent fields left absent) are the same everywhere.
import protobuf from 'protobufjs';
import type { ServiceDefinition, MethodDefinition } from '@grpc/grpc-js';
import { descriptor } from './descriptor.js';

export * from './messages.js';

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace);
root.resolveAll();

/**
 * int64 as strings: Stat.modTime is in nanoseconds and overflows a JS number.
 * defaults false: the end-of-walk marker is a STAT packet *without* a stat.
 */
const conversion: protobuf.IConversionOptions = {
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
};

export interface Codec<T> {
  readonly name: string;
  encode(message: T): Buffer;
  decode(bytes: Uint8Array): T;
}

const codecs = new Map<string, Codec<unknown>>();

/** A codec for the fully qualified message name, e.g. `fsutil.types.Packet`. */
export function codec<T>(name: string): Codec<T> {
  let c = codecs.get(name);
  if (!c) {
    const type = root.lookupType(name);
    c = {
      name,
      encode(message: unknown): Buffer {
        // fromObject (not verify) because it accepts int64 as decimal strings.
        const bytes = type.encode(type.fromObject(message as Record<string, unknown>)).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      decode(bytes: Uint8Array): unknown {
        return type.toObject(type.decode(bytes), conversion);
      },
    };
    codecs.set(name, c);
  }
  return c as Codec<T>;
}

/**
 * A grpc-js service definition for a service of ours, for clients
 * (makeGenericClientConstructor) and for servers in tests.
 */
export function serviceDefinition(fullName: string): ServiceDefinition {
  const service = root.lookupService(fullName);
  service.resolveAll();
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    const req = codec(method.resolvedRequestType!.fullName.slice(1));
    const res = codec(method.resolvedResponseType!.fullName.slice(1));
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (m: unknown) => req.encode(m),
      requestDeserialize: (b: Buffer) => req.decode(b),
      responseSerialize: (m: unknown) => res.encode(m),
      responseDeserialize: (b: Buffer) => res.decode(b),
      originalName: method.name,
    };
  }
  return def;
}

/** The gRPC paths of every method of a service, as the session advertises them. */
export function methodPaths(fullName: string): string[] {
  return root.lookupService(fullName).methodsArray.map((m) => `/${fullName}/${m.name}`);
}
