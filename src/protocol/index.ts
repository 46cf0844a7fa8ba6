// One place that turns our .proto definitions into codecs and lists their
// services' methods. Everything else imports message types from here, so the
// conversion options (keepCase names, int64 as decimal strings, bytes as
// Buffer, absent fields left absent) are the same everywhere. The codecs are
// protobufjs's own generated code, written out at build time by
// scripts/gen-proto.mjs (codecs.generated.ts), so nothing is compiled from
// strings at run time.
import { messageTypes, services } from './codecs.generated.js';

export * from './messages.js';

/** What the generated module holds for one message type (protobufjs's static code). */
interface StaticType {
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
  fromObject(object: Record<string, unknown>): object;
  toObject(message: object, options: ConversionOptions): unknown;
}

interface ConversionOptions {
  readonly longs: typeof String;
  readonly enums: typeof Number;
  readonly bytes: typeof Buffer;
  readonly defaults: boolean;
  readonly oneofs: boolean;
}

/** One method of a service, as the generated module lists it. */
export interface MethodEntry {
  readonly name: string;
  readonly requestType: string;
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

const types = messageTypes as ReadonlyMap<string, StaticType>;
const serviceTable = services as Readonly<Record<string, readonly MethodEntry[]>>;

/**
 * int64 as strings: Stat.modTime is in nanoseconds and overflows a JS number.
 * defaults false: the end-of-walk marker is a STAT packet *without* a stat.
 */
const conversion: ConversionOptions = {
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
    const type = types.get(name);
    if (!type) throw new Error(`no such message type: ${name}`);
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
