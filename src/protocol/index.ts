// One place that turns our .proto definitions into codecs and lists their
// services' methods. Everything else imports message types from here, so the
// conversion (keepCase names, int64 as decimal strings, bytes as Buffer,
// enums as numbers, absent fields left absent) is the same everywhere. The
// schema is written from proto/ at build time by scripts/gen-proto.mjs
// (schema.generated.ts) and wire.ts encodes and decodes from it, so nothing
// is compiled from strings at run time.
import { enumRows, messageRows, services } from './schema.generated.js';
import { Schema } from './wire.js';

export * from './messages.js';

/** One method of a service, as the generated module lists it. */
export interface MethodEntry {
  readonly name: string;
  readonly requestType: string;
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

const schema = new Schema(messageRows, enumRows);
const serviceTable = services as Readonly<Record<string, readonly MethodEntry[]>>;

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
    const type = schema.type(name);
    c = {
      name,
      encode: (message: unknown): Buffer => schema.encode(type, message),
      decode: (bytes: Uint8Array): unknown => schema.decode(type, bytes),
    };
    codecs.set(name, c);
  }
  return c as Codec<T>;
}

/** The gRPC paths of every method of a service, as the session advertises them. */
export function methodPaths(fullName: string): string[] {
  return methodsOf(fullName).map((m) => `/${fullName}/${m.name}`);
}

/** The methods of a service of ours (fully qualified name). */
export function methodsOf(fullName: string): readonly MethodEntry[] {
  const methods = serviceTable[fullName];
  if (!methods) throw new Error(`no such service: ${fullName}`);
  return methods;
}
