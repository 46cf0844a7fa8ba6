// The codecs of src/protocol/ (wire.ts over the rows that gen-proto.mjs
// writes into schema.generated.ts) must behave exactly like protobufjs's
// reflection over the same .proto files: same bytes out, same objects back,
// for every message type and every kind of field (scalars, int64 as strings,
// bytes, enums, nested and repeated messages, maps).
import protobuf from 'protobufjs';
import { codec, methodPaths, Services } from '../../src/protocol/index.js';
import { serviceDefinition } from '../helpers/service-definition.js';

interface Protos {
  loadProtos(): { root: protobuf.Root; files: string[] };
}
const { loadProtos } = (await import('../../scripts/protos.mjs' as string)) as Protos;
const { root } = loadProtos();

const conversion: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: Buffer, defaults: false, oneofs: true };

function allOf<T>(ns: protobuf.NamespaceBase, kind: new (...args: never[]) => T): T[] {
  const out: T[] = [];
  for (const o of ns.nestedArray) {
    if (o instanceof kind) out.push(o);
    if (o instanceof protobuf.Namespace) out.push(...allOf(o, kind));
  }
  return out;
}
const types = allOf(root, protobuf.Type);
const services = allOf(root, protobuf.Service);

/** A value for every field, different per `seed`, nested messages down to `depth`. */
function sample(type: protobuf.Type, seed: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  type.fieldsArray.forEach((field, i) => {
    const s = seed * 31 + i;
    const one = (k: number): unknown => scalar(field, s + k, depth);
    if (field.map) {
      const key = (k: number): string => (field instanceof protobuf.MapField && field.keyType === 'string' ? `key-${s}-${k}` : String(s + k));
      const m: Record<string, unknown> = {};
      for (const k of [0, 1]) m[key(k)] = one(k);
      out[field.name] = m;
    } else if (field.repeated) {
      out[field.name] = [one(0), one(1)];
    } else {
      const v = one(0);
      if (v !== undefined) out[field.name] = v;
    }
  });
  return out;
}

function scalar(field: protobuf.Field, s: number, depth: number): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return depth > 0 ? sample(t, s, depth - 1) : {};
  if (t instanceof protobuf.Enum) {
    const values = Object.values(t.values);
    return values[s % values.length];
  }
  switch (field.type) {
    case 'string':
      return `v${s}-é☃`;
    case 'bytes':
      return Buffer.from([s & 0xff, 0, 0xff, (s >> 3) & 0xff]);
    case 'bool':
      return s % 2 === 0;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      // Beyond 2^53, and negative: int64 must stay exact as a decimal string.
      return s % 2 === 0 ? `${9007199254740993n + BigInt(s)}` : `-${1234567890123n + BigInt(s)}`;
    case 'uint64':
    case 'fixed64':
      return `${18446744073709551000n + BigInt(s % 600)}`;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return s % 2 === 0 ? s : -s;
    case 'uint32':
    case 'fixed32':
      return 0x80000000 + s;
    case 'double':
      return s + 0.25;
    case 'float':
      return s + 0.5;
    default:
      throw new Error(`no sample for ${field.fullName} of type ${field.type}`);
  }
}

function reflectionEncode(type: protobuf.Type, message: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

describe('generated codecs', () => {
  it('cover every message type of proto/', () => {
    expect(types.length).toBeGreaterThan(40);
    for (const type of types) expect(() => codec(type.fullName.slice(1))).not.toThrow();
    expect(() => codec('no.such.Message')).toThrow(/no such message type: no.such.Message/);
  });

  it.each(types.map((t) => [t.fullName.slice(1), t] as const))('%s: same bytes and objects as protobufjs reflection', (name, type) => {
    const c = codec<Record<string, unknown>>(name);
    for (const seed of [1, 2]) {
      const message = sample(type, seed, 2);
      const bytes = c.encode(message);
      expect(bytes.equals(reflectionEncode(type, message))).toBe(true);
      const decoded = c.decode(bytes);
      expect(decoded).toEqual(type.toObject(type.decode(bytes), conversion));
      // And a second trip gives the same bytes (nothing lost or added).
      expect(c.encode(decoded).equals(bytes)).toBe(true);
    }
    // Absent fields stay absent.
    expect(c.decode(c.encode({}))).toEqual({});
  });

  it("decodes a daemon's map key __proto__ as data, without touching prototypes", () => {
    const type = root.lookupType('moby.buildkit.v1.SolveResponse');
    const hostile = reflectionEncode(type, { ExporterResponse: { ['__proto__']: 'polluted', ok: 'yes' } });
    const decoded = codec<{ ExporterResponse?: Record<string, string> }>('moby.buildkit.v1.SolveResponse').decode(hostile);
    expect(Object.getOwnPropertyDescriptor(decoded.ExporterResponse, '__proto__')?.value).toBe('polluted');
    expect(decoded.ExporterResponse?.['ok']).toBe('yes');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(decoded.ExporterResponse)).toBe(Object.prototype);
  });

  it('describe every service method as the .proto files declare it', () => {
    expect(services.map((s) => s.fullName.slice(1)).sort()).toEqual(expect.arrayContaining(Object.values(Services).sort()));
    for (const service of services) {
      const name = service.fullName.slice(1);
      expect(methodPaths(name)).toEqual(service.methodsArray.map((m) => `/${name}/${m.name}`));
      const def = serviceDefinition(name);
      for (const m of service.methodsArray) {
        expect(def[m.name]).toMatchObject({ path: `/${name}/${m.name}`, requestStream: !!m.requestStream, responseStream: !!m.responseStream });
      }
    }
    expect(() => methodPaths('no.such.Service')).toThrow(/no such service/);
  });
});
