// The session server's HPACK decoder, checked against a real encoder: Node's
// HTTP/2 client (nghttp2) sends requests to a raw socket here, and what it
// wrote is decoded by ours. The Huffman table is checked code by code against
// the bits nghttp2 writes.
import * as http2 from 'node:http2';
import { createServer, type Server } from 'node:net';
import { HpackDecoder, HpackError, encodeHeaders, type HeaderField } from '../../../src/common/h2/hpack.js';
import { huffmanCodes, huffmanDecode } from '../../../src/common/h2/huffman.js';

/** A socket server that hands over the header block of every HEADERS frame it receives (no CONTINUATION: blocks stay small). */
interface BlockTap {
  readonly port: number;
  next(): Promise<Buffer>;
  close(): Promise<void>;
}

async function blockTap(): Promise<BlockTap> {
  const blocks: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  const server: Server = createServer((socket) => {
    let input = Buffer.alloc(0);
    let pos = 24; // after the client preface
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      while (input.length >= pos + 9) {
        const length = input.readUIntBE(pos, 3);
        if (input.length < pos + 9 + length) break;
        const type = input[pos + 3]!;
        const flags = input[pos + 4]!;
        if (type === 0x1) {
          expect(flags & 0x4).toBe(0x4); // END_HEADERS: one frame per block
          let payload = input.subarray(pos + 9, pos + 9 + length);
          if (flags & 0x8) payload = payload.subarray(1, payload.length - payload[0]!);
          if (flags & 0x20) payload = payload.subarray(5);
          const block = Buffer.from(payload);
          const w = waiters.shift();
          if (w) w(block);
          else blocks.push(block);
        }
        pos += 9 + length;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    next: () => {
      const b = blocks.shift();
      return b ? Promise.resolve(b) : new Promise((r) => waiters.push(r));
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

let tap: BlockTap;
const clients: http2.ClientHttp2Session[] = [];

beforeAll(async () => {
  tap = await blockTap();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await tap.close();
});

function client(): http2.ClientHttp2Session {
  const c = http2.connect(`http://127.0.0.1:${tap.port}`);
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

/** Sends one request with `headers` and returns the header block nghttp2 encoded for it. */
async function encodedBy(c: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<Buffer> {
  const req = c.request(headers, { endStream: true });
  req.on('error', () => undefined);
  const block = await tap.next();
  // The tap never answers: close the stream, or Node's client stops at its concurrent-stream limit.
  req.close(http2.constants.NGHTTP2_CANCEL);
  return block;
}

/** What our decoder makes of a block, without the pseudo-headers Node adds. */
function regular(fields: HeaderField[]): HeaderField[] {
  return fields.filter(([name]) => !name.startsWith(':'));
}

/** Reads an HPACK integer (for locating strings in nghttp2's blocks). */
function readInt(block: Buffer, pos: number, prefix: number): [number, number] {
  const max = (1 << prefix) - 1;
  let value = block[pos++]! & max;
  if (value < max) return [value, pos];
  for (let shift = 0; ; shift += 7) {
    const b = block[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, pos];
  }
}

/** The value string of the last literal field with a new name in `block`, as sent (Huffman flag and bytes). */
function lastLiteralValue(block: Buffer): { huffman: boolean; bytes: Buffer } {
  let pos = 0;
  let last: { huffman: boolean; bytes: Buffer } | undefined;
  const str = (): { huffman: boolean; bytes: Buffer } => {
    const huffman = (block[pos]! & 0x80) !== 0;
    let length: number;
    [length, pos] = readInt(block, pos, 7);
    const bytes = block.subarray(pos, pos + length);
    pos += length;
    return { huffman, bytes };
  };
  while (pos < block.length) {
    const b = block[pos]!;
    if (b & 0x80) [, pos] = readInt(block, pos, 7);
    else if ((b & 0xe0) === 0x20) [, pos] = readInt(block, pos, 5);
    else {
      let index: number;
      [index, pos] = readInt(block, pos, b & 0x40 ? 6 : 4);
      if (index === 0) str();
      const value = str();
      if (index === 0) last = value;
    }
  }
  return last!;
}

test('every Huffman code is the one nghttp2 writes', async () => {
  const codes = huffmanCodes();
  const c = client();
  const ZEROS = 16; // '0' is a 5-bit code of zeros: the value is the symbol's code, zeros, then padding ones
  // Node refuses a NUL in a header value; its code is checked through the code's completeness below.
  for (let symbol = 1; symbol < 256; symbol++) {
    const value = Buffer.concat([Buffer.from([symbol]), Buffer.alloc(ZEROS, '0')]).toString('latin1');
    const block = await encodedBy(c, { ':path': '/', 'x-probe': value, [http2.sensitiveHeaders]: ['x-probe'] });
    const { huffman, bytes } = lastLiteralValue(block);
    expect(huffman).toBe(true);
    let padding = 0;
    while (padding < 8 && (bytes[bytes.length - 1]! >> padding) & 1) padding++;
    const length = bytes.length * 8 - padding - 5 * ZEROS;
    let code = 0;
    for (let bit = 0; bit < length; bit++) code = code * 2 + ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    expect([symbol, code, length]).toEqual([symbol, ...codes[symbol]!]);
  }
  // A complete prefix code (Kraft sum exactly 1), EOS 30 one-bits.
  let kraft = 0;
  for (const [, length] of codes) kraft += 2 ** -length;
  expect(kraft).toBe(1);
  expect(codes[256]).toEqual([2 ** 30 - 1, 30]);
  expect(huffmanDecode(Buffer.from([(codes[0]![0] >> 5) & 0xff, ((codes[0]![0] << 3) & 0xff) | 0x07]))).toEqual(Buffer.from([0]));
});

test('decodes what nghttp2 encodes, the dynamic table included, across many requests', async () => {
  const c = client();
  const decoder = new HpackDecoder();
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = Array.from({ length: 224 }, (_, i) => String.fromCharCode(i + 32)).filter((ch) => ch !== '\x7f');
  for (let request = 0; request < 300; request++) {
    const headers: Record<string, string | string[]> = {};
    const sent: HeaderField[] = [];
    for (let i = 0, n = 1 + random(8); i < n; i++) {
      // Names repeat across requests (indexed names), values repeat sometimes (indexed fields), long ones evict.
      const name = `x-h${random(12)}`;
      const length = random(10) === 0 ? 500 + random(3000) : random(40);
      const value = random(3) === 0 ? `v${random(5)}` : Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
      if (headers[name] !== undefined) continue;
      headers[name] = value;
      sent.push([name, value]);
    }
    headers['x-list'] = ['a', 'b,c', 'a'];
    const block = await encodedBy(c, { ':path': `/p${random(4)}`, ...headers });
    const decoded = decoder.decode(block, 1 << 20);
    if (decoded === 'too-large') throw new Error('unexpected');
    const got = regular(decoded);
    for (const field of sent) expect(got).toContainEqual(field);
    expect(got.filter(([n]) => n === 'x-list').map(([, v]) => v)).toEqual(['a', 'b,c', 'a']);
  }
});

test('a table size update from the encoder is followed, and one above our setting is refused', async () => {
  // nghttp2 sends a size update when the peer's SETTINGS_HEADER_TABLE_SIZE changes; here by hand.
  const decoder = new HpackDecoder(4096);
  // Literal with incremental indexing, new name "a" value "b"; then indexed 62.
  const add = Buffer.from([0x40, 0x01, 0x61, 0x01, 0x62]);
  expect(decoder.decode(add, 1000)).toEqual([['a', 'b']]);
  expect(decoder.decode(Buffer.from([0x80 | 62]), 1000)).toEqual([['a', 'b']]);
  // Size 0 evicts everything: index 62 is gone.
  expect(decoder.decode(Buffer.from([0x20]), 1000)).toEqual([]);
  expect(() => decoder.decode(Buffer.from([0x80 | 62]), 1000)).toThrow(HpackError);
  // Above the 4096 we allow.
  expect(() => new HpackDecoder(4096).decode(Buffer.from([0x3f, 0xe2, 0x1f]), 1000)).toThrow(/table size 4097/);
  // After a field: not allowed.
  expect(() => new HpackDecoder().decode(Buffer.from([0x82, 0x20]), 1000)).toThrow(/after a header field/);
});

test.each([
  ['index 0', [0x80]],
  ['an index beyond the table', [0x80 | 70]],
  ['a truncated string', [0x00, 0x05, 0x61]],
  ['a truncated integer', [0x00, 0x7f]],
  // 'a' (00011), then 11 one-bits: padding longer than 7 bits.
  ['padding longer than 7 bits', [0x00, 0x01, 0x61, 0x82, 0x1f, 0xff]],
  // 'a' (00011), then 011: padding that is not all ones.
  ['padding that is not all ones', [0x00, 0x01, 0x61, 0x81, 0x1b]],
  // 30 one-bits: EOS inside the string.
  ['EOS inside a string', [0x00, 0x01, 0x61, 0x84, 0xff, 0xff, 0xff, 0xff]],
  ['an integer beyond 2^28', [0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f]],
])('a block with %s is refused', (_what, bytes) => {
  expect(() => new HpackDecoder().decode(Buffer.from(bytes), 1 << 20)).toThrow(HpackError);
});

test('a header list over the bound is reported, and the table stays in sync for the next block', () => {
  const decoder = new HpackDecoder();
  const big = 'x'.repeat(100);
  // Literal with incremental indexing, new name "n", a 100-byte value: 1 + 32 + 100 bytes as HTTP/2 counts it.
  const block = Buffer.concat([Buffer.from([0x40, 0x01, 0x6e, 100]), Buffer.from(big)]);
  expect(decoder.decode(block, 100)).toBe('too-large');
  // The entry was still added: the next block may refer to it.
  expect(decoder.decode(Buffer.from([0x80 | 62]), 1000)).toEqual([['n', big]]);
});

test('our encoded headers decode to the same fields (plain literals, nothing indexed)', () => {
  const fields: HeaderField[] = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-message', 'x'.repeat(300)],
  ];
  const decoder = new HpackDecoder();
  expect(decoder.decode(encodeHeaders(fields), 1 << 20)).toEqual(fields);
  // Nothing was added to the table (index 62 does not exist).
  expect(() => decoder.decode(Buffer.from([0x80 | 62]), 1000)).toThrow(HpackError);
});
