// Protobuf's binary format for our messages, driven by the rows that
// scripts/gen-proto.mjs writes from proto/ (schema.generated.ts). One
// encoder and one decoder serve every message type, so start-up compiles a
// few kilobytes instead of four generated functions per type.
//
// Objects are those of protobufjs's conversion as we used it before
// (fromObject then encode; decode then toObject with keepCase names, int64
// as decimal strings, enums as numbers, bytes as Buffer, absent fields left
// absent, oneofs named): __tests__/protocol/static-codecs.test.ts checks
// every message type against protobufjs's reflection, byte for byte.
//
// Input from a daemon is hostile: every length is checked against the
// message it sits in, nesting is bounded, a map key "__proto__" stays data,
// and a field whose wire type does not match its kind is skipped as unknown.

export type FieldKind = 'string' | 'bytes' | 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'enum' | 'message';
/** 0: a single value, 1: repeated, 2: map<string, kind>. */
export type FieldShape = 0 | 1 | 2;
/** [number, name, kind, shape, message or enum index (-1 for scalars), oneof]. */
export type FieldRow = readonly [number, string, FieldKind, FieldShape, number, string?];
/** [fully qualified name, fields in declaration order]. */
export type MessageRow = readonly [string, readonly FieldRow[]];
/** An enum's names and numbers. */
export type EnumRow = Readonly<Record<string, number>>;

/** protoc's default recursion limit, as protobufjs has it too. */
const MAX_DEPTH = 100;

const SINGLE = 0;
const REPEATED = 1;
const MAP = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const TWO_32 = 0x1_0000_0000;

interface Field {
  readonly id: number;
  readonly name: string;
  readonly kind: FieldKind;
  readonly shape: FieldShape;
  readonly ref: number;
  readonly oneof: string | undefined;
  /** The wire type of one value of this kind. */
  readonly valueWire: number;
  /** The field's own wire type: a map entry is length-delimited whatever its value. */
  readonly wire: number;
}

export interface MessageType {
  readonly name: string;
  /** In field-number order, the order protobufjs encodes in. */
  readonly byNumberOrder: readonly Field[];
  readonly byNumber: ReadonlyMap<number, Field>;
  /** Fields in a oneof, in declaration order (the last one present names it). */
  readonly oneofFields: readonly Field[];
}

/** All message types of one schema; each type's tables are built on first use. */
export class Schema {
  private readonly built: (MessageType | undefined)[];
  private readonly index: ReadonlyMap<string, number>;

  constructor(
    private readonly rows: readonly MessageRow[],
    private readonly enums: readonly EnumRow[],
  ) {
    this.built = new Array<MessageType | undefined>(rows.length);
    this.index = new Map(rows.map((r, i) => [r[0], i]));
  }

  /** The type called `name`; throws for a name not in the schema. */
  type(name: string): MessageType {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no such message type: ${name}`);
    return this.at(i);
  }

  encode(type: MessageType, message: unknown): Buffer {
    const w = new Writer();
    this.writeMessage(w, type, message, 0);
    return w.finish();
  }

  decode(type: MessageType, bytes: Uint8Array): Record<string, unknown> {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const r = new Reader(buf);
    return this.readMessage(r, type, buf.length, 0);
  }

  private at(i: number): MessageType {
    let t = this.built[i];
    if (!t) {
      const [name, rows] = this.rows[i]!;
      const fields = rows.map(([id, fieldName, kind, shape, ref, oneof]): Field => {
        const valueWire = kind === 'string' || kind === 'bytes' || kind === 'message' ? WIRE_LENGTH : WIRE_VARINT;
        return { id, name: fieldName, kind, shape, ref, oneof, valueWire, wire: shape === MAP ? WIRE_LENGTH : valueWire };
      });
      t = {
        name,
        byNumberOrder: [...fields].sort((a, b) => a.id - b.id),
        byNumber: new Map(fields.map((f) => [f.id, f])),
        oneofFields: fields.filter((f) => f.oneof !== undefined),
      };
      this.built[i] = t;
    }
    return t;
  }

  // ---- encoding: what protobufjs's fromObject accepts, then its encode ----

  private writeMessage(w: Writer, type: MessageType, d: unknown, depth: number): void {
    if (!isObject(d)) throw new TypeError(`.${type.name}: object expected`);
    if (depth > MAX_DEPTH) throw new Error('maximum nesting depth exceeded');
    const m = d as Record<string, unknown>;
    for (const f of type.byNumberOrder) {
      const v = m[f.name];
      if (f.shape === SINGLE) {
        if (v !== null && v !== undefined) this.writeValue(w, type, f, v, depth, f.id);
      } else if (f.shape === REPEATED) {
        // protobufjs skips any false-y value here, and refuses anything else but an array.
        if (!v) continue;
        if (!Array.isArray(v)) throw new TypeError(`.${type.name}.${f.name}: array expected`);
        for (const item of v as unknown[]) {
          if (f.kind === 'message' && typeof item !== 'object') throw new TypeError(`.${type.name}.${f.name}: object expected`);
          this.writeValue(w, type, f, item, depth, f.id);
        }
      } else {
        if (!v) continue;
        if (!isObject(v)) throw new TypeError(`.${type.name}.${f.name}: object expected`);
        const map = v as Record<string, unknown>;
        for (const key of Object.keys(map)) {
          // Key and value are always written, also when empty.
          const entry = new Writer();
          entry.tag(1, WIRE_LENGTH);
          entry.string(key);
          this.writeValue(entry, type, f, map[key], depth, 2, true);
          w.tag(f.id, WIRE_LENGTH);
          w.lengthDelimited(entry.finish());
        }
      }
    }
  }

  /**
   * One value of field `f`, tagged with `id` (the field's number, or 2 in a
   * map entry). A value protobufjs's fromObject would leave unset (an enum
   * name it does not know, bytes that are neither a string nor a sequence)
   * writes nothing. Repeated fields are of string, bytes or message kind, and
   * map values never enums (gen-proto.mjs refuses others); those always write.
   */
  private writeValue(w: Writer, type: MessageType, f: Field, v: unknown, depth: number, id: number, inMap = false): void {
    switch (f.kind) {
      case 'string':
        w.tag(id, WIRE_LENGTH);
        w.string(String(v));
        return;
      case 'bool':
        w.tag(id, WIRE_VARINT);
        w.varint32(v ? 1 : 0);
        return;
      case 'int32':
        w.tag(id, WIRE_VARINT);
        w.int32(Number(v) | 0);
        return;
      case 'uint32':
        w.tag(id, WIRE_VARINT);
        w.varint32(Number(v) >>> 0);
        return;
      case 'enum': {
        // A name protobufjs's fromObject does not know leaves the field unset;
        // an inherited property ("constructor", "__proto__") is not a name.
        const names = this.enums[f.ref]!;
        const n = typeof v === 'number' ? v : typeof v === 'string' && Object.prototype.hasOwnProperty.call(names, v) ? names[v] : undefined;
        if (n === undefined) return;
        w.tag(id, WIRE_VARINT);
        w.int32(n | 0);
        return;
      }
      case 'int64':
      case 'uint64': {
        const halves = int64Halves(v, f.kind === 'uint64');
        if (!halves) throw new TypeError(`.${type.name}.${f.name}: int64 expected (a decimal string or a number)`);
        w.tag(id, WIRE_VARINT);
        w.varint64(halves[0], halves[1]);
        return;
      }
      case 'bytes': {
        let b: Uint8Array | undefined;
        if (typeof v === 'string') b = Buffer.from(v, 'base64');
        else if (v instanceof Uint8Array) b = v;
        else if (isObject(v) && typeof (v as { length?: unknown }).length === 'number') b = Buffer.from(v as ArrayLike<number>);
        if (!b) {
          if (f.shape === SINGLE && !inMap) return;
          // protobufjs would fail writing undefined; say why instead.
          throw new TypeError(`.${type.name}.${f.name}: bytes expected`);
        }
        w.tag(id, WIRE_LENGTH);
        w.lengthDelimited(b);
        return;
      }
      case 'message': {
        if (!isObject(v)) throw new TypeError(`.${type.name}.${f.name}: object expected`);
        const inner = new Writer();
        this.writeMessage(inner, this.at(f.ref), v, depth + 1);
        w.tag(id, WIRE_LENGTH);
        w.lengthDelimited(inner.finish());
        return;
      }
    }
  }

  // ---- decoding: protobufjs's decode, then its toObject ----

  private readMessage(r: Reader, type: MessageType, end: number, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new Error('maximum nesting depth exceeded');
    const d: Record<string, unknown> = {};
    while (r.pos < end) {
      const tag = r.varint32(end);
      const f = type.byNumber.get(tag >>> 3);
      const wire = tag & 7;
      if (!f || wire !== f.wire) {
        r.skip(wire, end);
        continue;
      }
      if (f.shape === SINGLE) {
        d[f.name] = this.readValue(r, f, end, depth);
      } else if (f.shape === REPEATED) {
        const list = Object.prototype.hasOwnProperty.call(d, f.name) ? (d[f.name] as unknown[]) : (d[f.name] = []);
        list.push(this.readValue(r, f, end, depth));
      } else {
        const map = Object.prototype.hasOwnProperty.call(d, f.name) ? (d[f.name] as Record<string, unknown>) : (d[f.name] = {});
        this.readMapEntry(r, f, map, end, depth);
      }
    }
    for (const f of type.oneofFields) if (d[f.name] !== undefined) d[f.oneof!] = f.name;
    return d;
  }

  private readValue(r: Reader, f: Field, end: number, depth: number): unknown {
    switch (f.kind) {
      case 'string': {
        const at = r.length(end);
        return r.buf.toString('utf8', at, r.pos);
      }
      case 'bytes': {
        const at = r.length(end);
        return r.buf.subarray(at, r.pos);
      }
      case 'bool':
        // Only the low 32 bits count, as in protobufjs.
        return r.varint32(end) !== 0;
      case 'int32':
      case 'enum':
        return r.varint32(end) | 0;
      case 'uint32':
        return r.varint32(end) >>> 0;
      case 'int64':
      case 'uint64':
        r.varint64(end);
        return int64String(r.lo, r.hi, f.kind === 'uint64');
      case 'message': {
        const at = r.length(end);
        const inner = r.pos;
        r.pos = at;
        return this.readMessage(r, this.at(f.ref), inner, depth + 1);
      }
    }
  }

  /** A map entry: key (1) and value (2), each defaulting to empty when absent. */
  private readMapEntry(r: Reader, f: Field, map: Record<string, unknown>, end: number, depth: number): void {
    const at = r.length(end);
    const entryEnd = r.pos;
    r.pos = at;
    let key = '';
    let value: unknown;
    while (r.pos < entryEnd) {
      const tag = r.varint32(entryEnd);
      const wire = tag & 7;
      if (tag >>> 3 === 1 && wire === WIRE_LENGTH) {
        const k = r.length(entryEnd);
        key = r.buf.toString('utf8', k, r.pos);
      } else if (tag >>> 3 === 2 && wire === f.valueWire) {
        value = this.readValue(r, f, entryEnd, depth);
      } else {
        r.skip(wire, entryEnd);
      }
    }
    value ??= emptyValue(f.kind);
    if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
    else map[key] = value;
  }
}

function emptyValue(kind: FieldKind): unknown {
  switch (kind) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'bool':
      return false;
    case 'int64':
    case 'uint64':
      return '0';
    case 'message':
      return {};
    default:
      return 0;
  }
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** An int64 from a decimal string, a number or a {low, high} pair, as two's-complement halves. */
function int64Halves(v: unknown, unsigned: boolean): [number, number] | undefined {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return [0, 0];
    const n = Math.trunc(v);
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return [n % TWO_32, Math.floor(n / TWO_32)];
    if (!Number.isFinite(n)) return fromBigInt(n > 0 ? (unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n) : unsigned ? 0n : -(2n ** 63n));
    return fromBigInt(BigInt(n));
  }
  if (typeof v === 'string') {
    if (/^\d{1,15}$/.test(v)) {
      const n = Number(v);
      return [n % TWO_32, Math.floor(n / TWO_32)];
    }
    if (!/^-?\d+$/.test(v)) return undefined;
    return fromBigInt(BigInt(v));
  }
  if (isObject(v) && typeof (v as { low?: unknown }).low === 'number' && typeof (v as { high?: unknown }).high === 'number') {
    const { low, high } = v as { low: number; high: number };
    return [low >>> 0, high >>> 0];
  }
  return undefined;
}

function fromBigInt(b: bigint): [number, number] {
  const u = BigInt.asUintN(64, b);
  return [Number(u & 0xffff_ffffn), Number(u >> 32n)];
}

/** Two's-complement halves as a decimal string. */
function int64String(lo: number, hi: number, unsigned: boolean): string {
  // Exact as a number below 2^53.
  if (hi < 0x20_0000) return String(hi * TWO_32 + lo);
  const u = (BigInt(hi) << 32n) | BigInt(lo);
  return (unsigned ? u : BigInt.asIntN(64, u)).toString();
}

class Writer {
  private buf = Buffer.allocUnsafe(64);
  private pos = 0;

  tag(id: number, wire: number): void {
    this.varint32(((id << 3) | wire) >>> 0);
  }

  varint32(v: number): void {
    this.room(5);
    const b = this.buf;
    while (v > 127) {
      b[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  /** An int32 as protobuf sends it: a negative one sign-extended to ten bytes. */
  int32(v: number): void {
    if (v >= 0) this.varint32(v);
    else this.varint64(v >>> 0, 0xffff_ffff);
  }

  varint64(lo: number, hi: number): void {
    this.room(10);
    const b = this.buf;
    while (hi !== 0 || lo > 127) {
      b[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[this.pos++] = lo;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint32(n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  lengthDelimited(bytes: Uint8Array): void {
    this.varint32(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

class Reader {
  pos = 0;
  /** The last varint64 read, as halves. */
  lo = 0;
  hi = 0;

  constructor(readonly buf: Buffer) {}

  /** A varint's low 32 bits (a longer varint's upper bits are dropped, as protobuf does for 32-bit fields). */
  varint32(end: number): number {
    this.varint64(end);
    return this.lo;
  }

  varint64(end: number): void {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new RangeError('index out of range: a varint runs past the end of its message');
      const byte = b[this.pos++]!;
      if (i < 4) lo |= (byte & 127) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 15) << 28;
        hi |= (byte & 127) >> 4;
      } else hi |= (byte & 127) << (7 * i - 32);
      if (byte < 128) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new Error('invalid varint encoding');
  }

  /** Reads a length prefix; returns where the bytes start and moves past them. */
  length(end: number): number {
    const n = this.varint32(end);
    const at = this.pos;
    if (n > end - at) throw new RangeError('index out of range: a length runs past the end of its message');
    this.pos = at + n;
    return at;
  }

  skip(wire: number, end: number): void {
    if (wire === WIRE_VARINT) this.varint64(end);
    else if (wire === WIRE_LENGTH) this.length(end);
    else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const n = wire === WIRE_FIXED64 ? 8 : 4;
      if (n > end - this.pos) throw new RangeError('index out of range: a fixed-size field runs past the end of its message');
      this.pos += n;
    } else throw new Error(`invalid wire type ${wire} at offset ${this.pos}`);
  }
}
