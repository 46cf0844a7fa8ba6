// Protobuf encoding of fsutil Packets for the transfer's hot path. Byte for
// byte what the generic codec (protocol/wire.ts) produces for the same object:
// fields in number order, every field that is present (also zeros), absent
// ones left out. A transfer encodes one packet per entry and per chunk; the
// generic codec costs more per packet (it walks the schema, parses int64
// strings and copies the payload), this a fraction of that, and a DATA
// payload is not copied at all.
import type { Packet, Stat } from '../../protocol/index.js';

/** A DATA payload at least this big stays a separate part instead of being copied behind the header. */
const SEPARATE_PAYLOAD = 1024;

/**
 * The encoded packet as consecutive parts (their concatenation is the
 * message), or undefined for a packet this encoder does not cover (device
 * numbers), which the caller then hands to the generic codec.
 */
export function encodePacket(p: Packet): Buffer[] | undefined {
  const stat = p.stat;
  if (stat && (stat.devmajor !== undefined || stat.devminor !== undefined)) return undefined;
  const fields = stat ? statFields(stat) : undefined;
  const data = p.data;
  const separate = data !== undefined && data.length >= SEPARATE_PAYLOAD;
  let headLen = 0;
  if (p.type !== undefined) headLen += 1 + varint32Length(p.type);
  if (fields) headLen += 1 + varint32Length(fields.length) + fields.length;
  if (p.ID !== undefined) headLen += 1 + varint32Length(p.ID);
  if (data !== undefined) headLen += 1 + varint32Length(data.length) + (separate ? 0 : data.length);

  const out = Buffer.allocUnsafe(headLen);
  let pos = 0;
  if (p.type !== undefined) {
    out[pos++] = 0x08; // field 1, varint
    pos = writeVarint32(out, pos, p.type);
  }
  if (stat && fields) {
    out[pos++] = 0x12; // field 2, length-delimited
    pos = writeVarint32(out, pos, fields.length);
    pos = writeStat(out, pos, stat, fields);
  }
  if (p.ID !== undefined) {
    out[pos++] = 0x18; // field 3, varint
    pos = writeVarint32(out, pos, p.ID);
  }
  if (data !== undefined) {
    out[pos++] = 0x22; // field 4, length-delimited
    pos = writeVarint32(out, pos, data.length);
    if (separate) return [out, data];
    pos += data.copy(out, pos);
  }
  return [out];
}

/** What a Stat's encoding needs more than once, computed one time. */
interface StatFields {
  readonly length: number;
  readonly pathBytes: number;
  readonly linkBytes: number;
  readonly size: Int64Halves | undefined;
  readonly modTime: Int64Halves | undefined;
}

function statFields(s: Stat): StatFields {
  const pathBytes = Buffer.byteLength(s.path, 'utf8');
  const linkBytes = s.linkname === undefined ? 0 : Buffer.byteLength(s.linkname, 'utf8');
  const size = s.size === undefined ? undefined : halves(s.size);
  const modTime = s.modTime === undefined ? undefined : halves(s.modTime);
  let length = 1 + varint32Length(pathBytes) + pathBytes;
  length += 1 + varint32Length(s.mode);
  if (s.uid !== undefined) length += 1 + varint32Length(s.uid);
  if (s.gid !== undefined) length += 1 + varint32Length(s.gid);
  if (size) length += 1 + varint64Length(size);
  if (modTime) length += 1 + varint64Length(modTime);
  if (s.linkname !== undefined) length += 1 + varint32Length(linkBytes) + linkBytes;
  return { length, pathBytes, linkBytes, size, modTime };
}

function writeStat(out: Buffer, pos: number, s: Stat, f: StatFields): number {
  out[pos++] = 0x0a; // field 1, length-delimited
  pos = writeVarint32(out, pos, f.pathBytes);
  pos += out.write(s.path, pos, 'utf8');
  out[pos++] = 0x10; // field 2, varint
  pos = writeVarint32(out, pos, s.mode);
  if (s.uid !== undefined) {
    out[pos++] = 0x18;
    pos = writeVarint32(out, pos, s.uid);
  }
  if (s.gid !== undefined) {
    out[pos++] = 0x20;
    pos = writeVarint32(out, pos, s.gid);
  }
  if (f.size) {
    out[pos++] = 0x28;
    pos = writeVarint64(out, pos, f.size);
  }
  if (f.modTime) {
    out[pos++] = 0x30;
    pos = writeVarint64(out, pos, f.modTime);
  }
  if (s.linkname !== undefined) {
    out[pos++] = 0x3a;
    pos = writeVarint32(out, pos, f.linkBytes);
    pos += out.write(s.linkname, pos, 'utf8');
  }
  return pos;
}

/** uint32 (and enum) varints; values come from our own code, always 0 <= v < 2^32. */
function varint32Length(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint32(out: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128); // not >>>: values up to 2^32 - 1
  }
  out[pos++] = v;
  return pos;
}

/** An int64's two's complement as two unsigned 32-bit halves. */
type Int64Halves = readonly [lo: number, hi: number];

const TWO_32 = 2 ** 32;

/** int64 as a decimal string → its halves; no BigInt for the common small values (sizes). */
function halves(decimal: string): Int64Halves {
  const n = Number(decimal);
  if (Number.isSafeInteger(n) && n >= 0) return [n % TWO_32, Math.floor(n / TWO_32)];
  const v = BigInt.asUintN(64, BigInt(decimal));
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}

function varint64Length([lo, hi]: Int64Halves): number {
  if (hi === 0) return varint32Length(lo);
  // 32 bits of lo, the rest from hi: 7 bits per byte.
  const bits = 32 + (32 - Math.clz32(hi));
  return Math.ceil(bits / 7);
}

function writeVarint64(out: Buffer, pos: number, [lo, hi]: Int64Halves): number {
  while (hi !== 0 || lo >= 0x80) {
    out[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi = hi >>> 7;
  }
  out[pos++] = lo;
  return pos;
}
