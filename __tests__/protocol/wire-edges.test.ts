// src/protocol/wire.ts beyond the well-formed samples of static-codecs.test.ts:
// the values protobufjs's fromObject coerces (zeros, extremes, enum names,
// Long-like pairs), what it refuses, and bytes from a hostile daemon.
import protobuf from 'protobufjs';
import { codec } from '../../src/protocol/index.js';
import { Schema, type MessageRow } from '../../src/protocol/wire.js';

interface Protos {
  loadProtos(): { root: protobuf.Root };
}
const { loadProtos } = (await import('../../scripts/protos.mjs' as string)) as Protos;
const { root } = loadProtos();

function allTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.flatMap((o) => [...(o instanceof protobuf.Type ? [o] : []), ...(o instanceof protobuf.Namespace ? allTypes(o) : [])]);
}
const types = allTypes(root);

const reflection = (name: string, message: Record<string, unknown>): Buffer => {
  const type = root.lookupType(name);
  return Buffer.from(type.encode(type.fromObject(message)).finish());
};
const ours = (name: string, message: Record<string, unknown>): Buffer => codec<Record<string, unknown>>(name).encode(message);

/** Every single (not repeated, not map) scalar field of `type` set by `pick`. */
function scalars(type: protobuf.Type, pick: (field: protobuf.Field) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    if (f.repeated || f.map || f.resolvedType instanceof protobuf.Type) continue;
    const v = pick(f);
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}

const zero = (f: protobuf.Field): unknown =>
  f.resolvedType instanceof protobuf.Enum ? 0 : ({ string: '', bytes: Buffer.alloc(0), bool: false, int64: '0', uint64: '0' } as Record<string, unknown>)[f.type] ?? 0;

const extreme = (f: protobuf.Field): unknown => {
  if (f.resolvedType instanceof protobuf.Enum) return -1;
  switch (f.type) {
    case 'int32':
      return -2147483648;
    case 'uint32':
      return 4294967295;
    case 'int64':
      return '-9223372036854775808';
    case 'uint64':
      return '18446744073709551615';
    case 'string':
      return 'x'.repeat(300);
    case 'bytes':
      return Buffer.alloc(200, 7);
    case 'bool':
      return true;
    default:
      return undefined;
  }
};

describe('wire.ts encodes as protobufjs does', () => {
  it.each(types.map((t) => [t.fullName.slice(1), t] as const))('%s: zero values present, and extremes', (name, type) => {
    for (const message of [scalars(type, zero), scalars(type, extreme)]) {
      expect(ours(name, message).equals(reflection(name, message))).toBe(true);
    }
  });

  it('coerces what fromObject coerces: numbers from strings, int64 from numbers and pairs, enum names', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['fsutil.types.Stat', { mode: '420', uid: -1, size: 12.9, modTime: 1700000000123 }],
      ['fsutil.types.Stat', { size: { low: 1, high: 2 }, modTime: -5 }],
      ['fsutil.types.Stat', { size: Number.MAX_SAFE_INTEGER, modTime: '-1' }],
      ['fsutil.types.Packet', { type: 'PACKET_FIN', ID: 3 }],
      ['fsutil.types.Packet', { type: 'NO_SUCH_NAME', ID: 3 }],
      ['fsutil.types.Packet', { type: 'constructor', ID: 3 }],
      ['fsutil.types.Packet', { type: '__proto__', ID: 3 }],
      ['grpc.health.v1.HealthCheckResponse', { status: 'toString' }],
      ['fsutil.types.Packet', { type: 42 }],
      ['fsutil.types.Packet', { data: 'aGVsbG8=' }],
      ['fsutil.types.Packet', { data: [1, 2, 3] }],
      ['moby.buildkit.v1.SolveRequest', { Ref: 7, Internal: 'yes', Entitlements: [], Exporters: null, FrontendAttrs: {} }],
      ['moby.buildkit.v1.SolveRequest', { Entitlements: '', FrontendAttrs: { a: 1, b: undefined } }],
    ];
    for (const [name, message] of cases) expect(ours(name, message).toString('hex')).toBe(reflection(name, message).toString('hex'));
  });

  it('refuses what fromObject refuses, with the same message', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['moby.buildkit.v1.SolveRequest', { Entitlements: 'not a list' }],
      ['moby.buildkit.v1.SolveRequest', { FrontendAttrs: 'not a map' }],
      ['moby.buildkit.v1.SolveRequest', { Definition: 'not a message' }],
      ['moby.buildkit.v1.SolveRequest', { Exporters: [5] }],
    ];
    for (const [name, message] of cases) {
      let expected = '';
      try {
        reflection(name, message);
      } catch (err) {
        expected = (err as Error).message;
      }
      expect(expected).not.toBe('');
      expect(() => ours(name, message)).toThrow(expected);
    }
    expect(() => ours('fsutil.types.Stat', { size: '12abc' })).toThrow('.fsutil.types.Stat.size: int64 expected');
  });

  it('keeps a map key "__proto__" as data both ways', () => {
    const attrs = Object.defineProperty({ a: 'b' }, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    const bytes = ours('moby.buildkit.v1.SolveResponse', { ExporterResponse: attrs });
    expect(bytes.equals(reflection('moby.buildkit.v1.SolveResponse', { ExporterResponse: attrs }))).toBe(true);
    const back = codec<{ ExporterResponse: Record<string, string> }>('moby.buildkit.v1.SolveResponse').decode(bytes);
    expect(Object.getOwnPropertyDescriptor(back.ExporterResponse, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(back.ExporterResponse)).toBe(Object.prototype);
  });
});

describe('wire.ts reads hostile bytes safely', () => {
  const packet = codec<Record<string, unknown>>('fsutil.types.Packet');
  const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

  it('refuses a length that runs past its message, even when the buffer goes on', () => {
    // Packet.stat (field 2) says 5 bytes, but Stat.path inside says 9.
    expect(() => packet.decode(hex('12 05 0a 09 61 62 63 18 05 00 00 00 00 00 00'))).toThrow(RangeError);
    expect(() => packet.decode(hex('22 09 01 02'))).toThrow(/past the end/);
  });

  it('refuses a truncated varint and one longer than ten bytes', () => {
    expect(() => packet.decode(hex('08 80'))).toThrow(RangeError);
    expect(() => packet.decode(hex('08 ff ff ff ff ff ff ff ff ff ff 01'))).toThrow(/invalid varint/);
  });

  it('skips unknown fields of every wire type, and a known field sent with the wrong wire type', () => {
    const unknown = hex('f8 01 05  f9 01 0102030405060708  fa 01 02 aabb  fd 01 01020304');
    const wrongType = hex('1a 01 07'); // ID (varint) sent length-delimited
    expect(packet.decode(Buffer.concat([unknown, wrongType, hex('08 03 18 09')]))).toEqual({ type: 3, ID: 9 });
    expect(() => packet.decode(hex('fb 01'))).toThrow(/invalid wire type 3/);
  });

  it('decodes int64 extremes exactly and int32 from a ten-byte varint', () => {
    const stat = codec<Record<string, unknown>>('fsutil.types.Stat');
    const message = { uid: 4294967295, size: '-9223372036854775808', modTime: '9223372036854775807' };
    expect(stat.decode(stat.encode(message))).toEqual(message);
    const status = codec<Record<string, unknown>>('google.rpc.Status');
    const bytes = status.encode({ code: -7 });
    expect(bytes.length).toBe(11);
    expect(status.decode(bytes)).toEqual({ code: -7 });
  });

  it('gives bytes fields as views of a Buffer, also when handed a plain Uint8Array', () => {
    const bytes = packet.encode({ data: Buffer.from('abc') });
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    const data = packet.decode(view)['data'] as Buffer;
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(data.toString()).toBe('abc');
  });

  it('bounds nesting at 100 levels', () => {
    const rows: MessageRow[] = [['t.Node', [[1, 'child', 'message', 0, 0], [2, 'n', 'int32', 0, -1]]]];
    const schema = new Schema(rows, []);
    const node = schema.type('t.Node');
    const nested = (depth: number): Record<string, unknown> => (depth === 0 ? { n: 1 } : { child: nested(depth - 1) });
    expect(schema.decode(node, schema.encode(node, nested(100)))).toEqual(nested(100));
    expect(() => schema.encode(node, nested(101))).toThrow(/nesting depth/);
    // Hand-built bytes 101 levels deep (nobody's encoder made them).
    let bytes = Buffer.from([0x10, 0x01]);
    for (let i = 0; i < 101; i++) bytes = Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
    expect(() => schema.decode(node, bytes)).toThrow(/nesting depth/);
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
