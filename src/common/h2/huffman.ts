// HPACK's Huffman code (RFC 7541, Appendix B), decoding only: we never
// Huffman-encode (our few response headers go out as plain literals).
//
// The code is canonical: ordered by length, then by symbol, each code is the
// previous one plus one (shifted left when the length grows). So the lengths
// alone define it; __tests__/common/h2/hpack.test.ts checks every code
// against what Node's HTTP/2 encoder (nghttp2) sends.

/** Code length in bits of each byte value, then of EOS (256). */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
] as const;

export const EOS = 256;
const MAX_LENGTH = 30;

/** Canonical decoding tables: per length, its first code, and where its symbols start in `SYMBOLS`. */
const FIRST_CODE = new Int32Array(MAX_LENGTH + 2);
const COUNT = new Int32Array(MAX_LENGTH + 2);
const OFFSET = new Int32Array(MAX_LENGTH + 2);
const SYMBOLS = new Uint16Array(LENGTHS.length);

{
  for (const length of LENGTHS) COUNT[length]!++;
  let code = 0;
  let offset = 0;
  for (let length = 1; length <= MAX_LENGTH; length++) {
    FIRST_CODE[length] = code;
    OFFSET[length] = offset;
    code = (code + COUNT[length]!) * 2;
    offset += COUNT[length]!;
  }
  const next = OFFSET.slice();
  for (let symbol = 0; symbol < LENGTHS.length; symbol++) SYMBOLS[next[LENGTHS[symbol]!]!++] = symbol;
}

/** The code of every symbol, as [code, length]; for tests. */
export function huffmanCodes(): [number, number][] {
  const codes: [number, number][] = [];
  for (let length = 1; length <= MAX_LENGTH; length++) {
    for (let i = 0; i < COUNT[length]!; i++) codes[SYMBOLS[OFFSET[length]! + i]!] = [FIRST_CODE[length]! + i, length];
  }
  return codes;
}

/**
 * Decodes a Huffman-coded string into bytes (RFC 7541 §5.2). Throws on the
 * EOS symbol inside the string, on padding longer than 7 bits, and on
 * padding that is not the start of EOS (all ones).
 */
export function huffmanDecode(input: Uint8Array): Buffer {
  // The shortest code is 5 bits: at most 8 symbols per 5 bytes.
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5));
  let written = 0;
  let code = 0;
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      length++;
      const index = code - FIRST_CODE[length]!;
      if (index < COUNT[length]!) {
        const symbol = SYMBOLS[OFFSET[length]! + index]!;
        if (symbol === EOS) throw new Error('HPACK: EOS inside a Huffman-coded string');
        out[written++] = symbol;
        code = 0;
        length = 0;
      } else if (length === MAX_LENGTH) {
        throw new Error('HPACK: invalid Huffman code');
      }
    }
  }
  if (length > 7 || code !== (1 << length) - 1) throw new Error('HPACK: invalid Huffman padding');
  return out.subarray(0, written);
}
